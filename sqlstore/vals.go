package sqlstore

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sesamego/sesame/store"
)

// The values of a record (schema version 2) are one JSON object in the vals
// column, whose members are all strings, so that the database can change
// one member without touching, or normalising, the others:
//
//	{"cart":"{\"items\":[1,2]}","n":"41","big":"~zH4sIAAAAAAA...","odd":"~b IDEg"}
//
// A member holds the value's bytes as they are when they are JSON text that
// comes back byte for byte (see store.EncodeValues: valid UTF-8, no white
// space around it) and is not compressed; such text never starts with '~'.
// Other values are "~z" and the standard base64 of their gzip compression
// (store.Compress, over the store's threshold), or "~b" and the base64 of
// their bytes. A key is the member's name as it is, unless it contains NUL
// (which PostgreSQL's jsonb refuses) or starts with '~': then it is "~" and
// the unpadded URL-safe base64 of its bytes.
//
// Rows of earlier versions, and tombstones (which the touch path recognises
// by their bytes), keep their values in the data column as one
// store.EncodeValues blob, and vals is NULL. Rows with vals have the single
// byte 0 in data: a process of an earlier version of sesame reads it as a
// corrupt record and fails, instead of taking the session for an empty one.

// valsMarker is the data column of a row whose values are in vals.
var valsMarker = []byte{0}

// Prefixes of the members that are not plain JSON text.
const (
	tilde          = '~'
	compressedMark = "~z"
	bytesMark      = "~b"
)

// plainKey reports whether k is stored as it is.
func plainKey(k string) bool {
	return (k == "" || k[0] != tilde) && strings.IndexByte(k, 0) < 0
}

// storedKey returns the member name of k.
func storedKey(k string) string {
	if plainKey(k) {
		return k
	}
	return string(tilde) + base64.RawURLEncoding.EncodeToString([]byte(k))
}

// storedValue returns the member text of v: v itself when it is plain
// (plain reports it), otherwise its compressed or base64 form.
func storedValue(v []byte, threshold int) (text string, plain bool) {
	if threshold > 0 && len(v) > threshold {
		if c := store.Compress(v, threshold); len(c) < len(v) {
			return compressedMark + base64.StdEncoding.EncodeToString(c), false
		}
	}
	if len(v) > 0 && v[0] != tilde && isVerbatim(v) {
		return string(v), true
	}
	return bytesMark + base64.StdEncoding.EncodeToString(v), false
}

// isVerbatim reports whether v is stored as it is: JSON text in valid
// UTF-8 with no white space around it, as store.EncodeValues keeps
// verbatim.
func isVerbatim(v []byte) bool {
	return len(v) > 0 && !jsonSpace(v[0]) && !jsonSpace(v[len(v)-1]) && utf8.Valid(v) && json.Valid(v)
}

func jsonSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// encodeVals encodes values as the JSON object of the vals column,
// compressing values over threshold (none when threshold <= 0).
func encodeVals(values map[string][]byte, threshold int) string {
	n := 2
	for k, v := range values {
		n += len(k) + len(v) + 8
	}
	buf := make([]byte, 0, n)
	buf = append(buf, '{')
	first := true
	for k, v := range values {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		text, _ := storedValue(v, threshold)
		buf = appendJSONString(buf, storedKey(k))
		buf = append(buf, ':')
		buf = appendJSONString(buf, text)
	}
	return string(append(buf, '}'))
}

// appendJSONString appends s, valid UTF-8, as a JSON string.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\r':
			buf = append(buf, '\\', 'r')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// errCorruptVals is wrapped by every error of decodeVals about its input.
var errCorruptVals = errors.New("sqlstore: corrupt record")

// decodeVals decodes the vals column: a JSON object whose members are
// strings, in the layout above. Like store.DecodeValues, it refuses values
// that add up to more than limit bytes (store.Size) with an error wrapping
// store.ErrTooLarge, so compressed values cannot inflate without bound.
// Any other malformed input returns an error wrapping errCorruptVals; it
// never panics.
func decodeVals(data []byte, limit int) (map[string][]byte, error) {
	if limit <= 0 {
		limit = store.DefaultMaxRecordSize
	}
	d := valsDecoder{data: data}
	values := make(map[string][]byte, 8)
	d.space()
	if !d.consume('{') {
		return nil, d.fail("want an object")
	}
	left := limit
	d.space()
	if d.consume('}') {
		return values, d.end()
	}
	for {
		d.space()
		name, err := d.string()
		if err != nil {
			return nil, err
		}
		d.space()
		if !d.consume(':') {
			return nil, d.fail("want ':'")
		}
		d.space()
		text, err := d.string()
		if err != nil {
			return nil, err
		}
		k := name
		if len(name) > 0 && name[0] == tilde {
			b, err := base64.RawURLEncoding.DecodeString(name[1:])
			if err != nil || plainKey(string(b)) {
				return nil, d.fail("bad key")
			}
			k = string(b)
		}
		var v []byte
		switch {
		case strings.HasPrefix(text, compressedMark):
			z, err := base64.StdEncoding.DecodeString(text[len(compressedMark):])
			if err != nil || !store.IsCompressed(z) {
				return nil, d.fail("bad compressed value")
			}
			room := left - len(k)
			if room <= 0 {
				return nil, fmt.Errorf("%w: values exceed %d bytes", store.ErrTooLarge, limit)
			}
			if v, err = store.Decompress(z, room); err != nil {
				if errors.Is(err, store.ErrTooLarge) {
					return nil, err
				}
				return nil, fmt.Errorf("%w: %w", errCorruptVals, err)
			}
		case strings.HasPrefix(text, bytesMark):
			if v, err = base64.StdEncoding.DecodeString(text[len(bytesMark):]); err != nil {
				return nil, d.fail("bad value")
			}
		case text != "" && text[0] == tilde:
			return nil, d.fail("bad value")
		default:
			v = []byte(text)
		}
		if left -= len(k) + len(v); left < 0 {
			return nil, fmt.Errorf("%w: values exceed %d bytes", store.ErrTooLarge, limit)
		}
		if _, dup := values[k]; dup {
			return nil, d.fail("duplicate key")
		}
		values[k] = v
		d.space()
		if d.consume('}') {
			return values, d.end()
		}
		if !d.consume(',') {
			return nil, d.fail("want ',' or '}'")
		}
	}
}

// valsDecoder reads the JSON of the vals column.
type valsDecoder struct {
	data []byte
	i    int
}

func (d *valsDecoder) fail(why string) error {
	return fmt.Errorf("%w: vals at byte %d: %s", errCorruptVals, d.i, why)
}

func (d *valsDecoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *valsDecoder) consume(c byte) bool {
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *valsDecoder) end() error {
	d.space()
	if d.i != len(d.data) {
		return d.fail("data after the object")
	}
	return nil
}

// string reads a JSON string.
func (d *valsDecoder) string() (string, error) {
	if !d.consume('"') {
		return "", d.fail("want a string")
	}
	start := d.i
	// Fast path: no escapes.
	for d.i < len(d.data) {
		c := d.data[d.i]
		if c == '"' {
			s := d.data[start:d.i]
			if !utf8.Valid(s) {
				return "", d.fail("invalid UTF-8")
			}
			d.i++
			return string(s), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		d.i++
	}
	buf := append([]byte(nil), d.data[start:d.i]...)
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(buf) {
				return "", d.fail("invalid UTF-8")
			}
			return string(buf), nil
		case c < 0x20:
			return "", d.fail("control character in a string")
		case c != '\\':
			buf = append(buf, c)
			d.i++
			continue
		}
		d.i++
		if d.i >= len(d.data) {
			break
		}
		e := d.data[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.i+1 < len(d.data) && d.data[d.i] == '\\' && d.data[d.i+1] == 'u' {
					d.i += 2
					if r2, ok = d.hex4(); !ok {
						return "", d.fail("bad \\u escape")
					}
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", d.fail("unpaired surrogate")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", d.fail("bad escape")
		}
	}
	return "", d.fail("unterminated string")
}

func (d *valsDecoder) hex4() (rune, bool) {
	if d.i+4 > len(d.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(d.data[d.i:d.i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(n), true
}
