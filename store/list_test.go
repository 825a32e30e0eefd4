package store

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name  string
		cur   string
		elems []string
		keep  int
		want  string
	}{
		{"a missing value is an empty array", "", []string{`1`}, 0, `[1]`},
		{"an empty array gets its first element", `[]`, []string{`"a"`}, 0, `["a"]`},
		{"elements go at the end, in order", `[1,2]`, []string{`3`, `4`}, 0, `[1,2,3,4]`},
		{"nested values and strings with commas stay whole", `[{"a":[1,2]},"x,]y"]`, []string{`[3]`}, 0, `[{"a":[1,2]},"x,]y",[3]]`},
		{"escaped quotes do not end a string", `["a\"],b"]`, []string{`1`}, 0, `["a\"],b",1]`},
		{"white space around elements is dropped", " [ 1 , {\"a\": 2} ] ", []string{`3`}, 0, `[1,{"a": 2},3]`},
		{"keep drops the oldest", `[1,2,3]`, []string{`4`}, 2, `[3,4]`},
		{"keep may drop new elements too", `[1]`, []string{`2`, `3`, `4`}, 2, `[3,4]`},
		{"keep larger than the array keeps all", `[1]`, []string{`2`}, 10, `[1,2]`},
		{"nothing to append still applies keep", `[1,2,3]`, nil, 1, `[3]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var elems [][]byte
			for _, e := range tt.elems {
				elems = append(elems, []byte(e))
			}
			cur := []byte(tt.cur)
			before := string(cur)
			got, err := AppendJSON(cur, elems, tt.keep)
			if err != nil {
				t.Fatalf("AppendJSON: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if string(cur) != before {
				t.Errorf("cur was modified: %s", cur)
			}
			if !json.Valid(got) {
				t.Errorf("result %s is not valid JSON", got)
			}
		})
	}
}

func TestAppendJSONRefusesWhatIsNotAnArray(t *testing.T) {
	for _, cur := range []string{`1`, `"[1]"`, `{"a":1}`, `null`, `[1,`, `[1,]`, `[,1]`, `[[1]`, `[1]]`, `["a]`, `x`, ` `} {
		_, err := AppendJSON([]byte(cur), [][]byte{[]byte(`1`)}, 0)
		if !errors.Is(err, ErrNotList) {
			t.Errorf("AppendJSON(%s): got error %v, want ErrNotList", cur, err)
		}
	}
}

func TestListLen(t *testing.T) {
	for cur, want := range map[string]int{``: 0, `[]`: 0, `[1]`: 1, `[1,[2,3],"4,5"]`: 3} {
		n, err := ListLen([]byte(cur))
		if err != nil || n != want {
			t.Errorf("ListLen(%s) = %d, %v; want %d", cur, n, err, want)
		}
	}
}

// FuzzAppendJSON checks that AppendJSON never panics, and that whenever it
// accepts a valid JSON array it returns a valid JSON array with one more
// element (or keep elements).
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{`[]`, `[1,2]`, `[{"a":"]"}]`, `["\\\""]`, `[1,`, `{}`} {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, cur []byte, keep int) {
		keep %= 8
		out, err := AppendJSON(cur, [][]byte{[]byte(`"x"`)}, keep)
		if err != nil {
			if !errors.Is(err, ErrNotList) {
				t.Fatalf("error %v does not wrap ErrNotList", err)
			}
			return
		}
		var before []json.RawMessage
		if len(cur) > 0 && json.Unmarshal(cur, &before) != nil {
			return // structurally an array, but not valid JSON inside: garbage in
		}
		var after []json.RawMessage
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("AppendJSON(%q) = %q, not a JSON array: %v", cur, out, err)
		}
		want := len(before) + 1
		if keep > 0 && want > keep {
			want = keep
		}
		if len(after) != want || string(after[len(after)-1]) != `"x"` {
			t.Fatalf("AppendJSON(%q, keep %d) = %q: got %d elements, want %d ending in \"x\"", cur, keep, out, len(after), want)
		}
	})
}
