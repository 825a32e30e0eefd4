package store

import "fmt"

// AppendJSON appends elems (each the JSON encoding of one element) to the
// JSON array cur and returns the new array, keeping only its last keep
// elements when keep is positive. A nil or empty cur counts as an empty
// array. cur that is not a JSON array returns an error wrapping
// [ErrNotList]; the elements themselves are not checked (sesame encodes
// them). cur is never modified.
//
// The result keeps every element's bytes as they were, so a value appended
// by one store decodes the same in every other.
func AppendJSON(cur []byte, elems [][]byte, keep int) ([]byte, error) {
	var bounds [][2]int // start and end of each element of cur
	if len(cur) > 0 {
		var err error
		if bounds, err = splitArray(cur); err != nil {
			return nil, err
		}
	}
	total := len(bounds) + len(elems)
	skip := 0 // elements to drop from the front
	if keep > 0 && total > keep {
		skip = total - keep
	}
	n := 2
	for i := min(skip, len(bounds)); i < len(bounds); i++ {
		n += bounds[i][1] - bounds[i][0] + 1
	}
	for i := max(skip-len(bounds), 0); i < len(elems); i++ {
		n += len(elems[i]) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	first := true
	add := func(e []byte) {
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, e...)
	}
	for i := min(skip, len(bounds)); i < len(bounds); i++ {
		add(cur[bounds[i][0]:bounds[i][1]])
	}
	for i := max(skip-len(bounds), 0); i < len(elems); i++ {
		add(elems[i])
	}
	return append(out, ']'), nil
}

// ListLen returns the number of elements of the JSON array v (0 for nil or
// empty v), or an error wrapping [ErrNotList].
func ListLen(v []byte) (int, error) {
	if len(v) == 0 {
		return 0, nil
	}
	b, err := splitArray(v)
	return len(b), err
}

// splitArray returns the bounds of the top-level elements of the JSON array
// v, with surrounding white space trimmed. It checks the array's structure
// (brackets, strings, commas), not the elements' grammar.
func splitArray(v []byte) ([][2]int, error) {
	notList := func(why string) error { return fmt.Errorf("%w: %s", ErrNotList, why) }
	i, end := skipSpace(v, 0), len(v)
	for end > i && isSpace(v[end-1]) {
		end--
	}
	if i >= end || v[i] != '[' || v[end-1] != ']' {
		return nil, notList("not a JSON array")
	}
	i++
	end-- // the closing bracket
	var bounds [][2]int
	depth, inString, start := 0, false, -1
	lastEnd := -1
	for ; i < end; i++ {
		c := v[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
				lastEnd = i + 1
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth < 0 {
				return nil, notList("unbalanced brackets")
			}
			lastEnd = i + 1
			continue
		case ',':
			if depth == 0 {
				if start < 0 {
					return nil, notList("empty element")
				}
				bounds = append(bounds, [2]int{start, lastEnd})
				start = -1
				continue
			}
		}
		if start < 0 {
			start = i
		}
		lastEnd = i + 1
	}
	if inString || depth != 0 {
		return nil, notList("unterminated element")
	}
	if start >= 0 {
		bounds = append(bounds, [2]int{start, lastEnd})
	} else if len(bounds) > 0 {
		return nil, notList("trailing comma")
	}
	return bounds, nil
}

func skipSpace(v []byte, i int) int {
	for i < len(v) && isSpace(v[i]) {
		i++
	}
	return i
}
