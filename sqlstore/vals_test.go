package sqlstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/sesamego/sesame/store"
)

func TestValsRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		values map[string][]byte
	}{
		{"no values", map[string][]byte{}},
		{"JSON values", map[string][]byte{"n": []byte("41"), "s": []byte(`"gopher"`), "o": []byte(`{"a": [1, 2]}`)}},
		{"values with quotes, backslashes and control escapes", map[string][]byte{"q": []byte(`"a\"b\\c\n\u0000"`)}},
		{"unicode keys and values", map[string][]byte{"🔑": []byte(`"😀"`), "e\u0301": []byte(`"\u2028"`)}},
		{"a key with NUL", map[string][]byte{"nul\x00key": []byte("1")}},
		{"keys starting with a tilde", map[string][]byte{"~": []byte("1"), "~z": []byte("2"), "~abc": []byte("3")}},
		{"the empty key", map[string][]byte{"": []byte(`"empty"`)}},
		{"values that are not JSON text", map[string][]byte{"sp": []byte(" 1\n"), "raw": {0xff, 0, 1}, "empty": {}, "tilde": []byte("~b")}},
		{"a compressible value", map[string][]byte{"big": []byte(`"` + strings.Repeat("tea ", 1000) + `"`)}},
		{"a value that looks gzipped", map[string][]byte{"g": []byte("\x1f\x8b")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := encodeVals(tt.values, store.DefaultCompressThreshold)
			got, err := decodeVals([]byte(enc), 0)
			if err != nil {
				t.Fatalf("decode %q: %v", enc, err)
			}
			if len(got) != len(tt.values) {
				t.Fatalf("got %d values, want %d", len(got), len(tt.values))
			}
			for k, v := range tt.values {
				if string(got[k]) != string(v) {
					t.Errorf("%q: got %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestValsCompressedAboveThreshold(t *testing.T) {
	big := []byte(`"` + strings.Repeat("tea ", 1000) + `"`)
	enc := encodeVals(map[string][]byte{"big": big}, 1024)
	if !strings.Contains(enc, `"~z`) || len(enc) > len(big)/2 {
		t.Errorf("a 4 KB compressible value is stored in %d bytes: %.60s", len(enc), enc)
	}
	if enc := encodeVals(map[string][]byte{"big": big}, 0); !strings.Contains(enc, `"big":"\"tea`) {
		t.Errorf("without a threshold the value is not stored as it is: %.60s", enc)
	}
}

func TestDecodeValsRefuses(t *testing.T) {
	bomb := encodeVals(map[string][]byte{"big": []byte(`"` + strings.Repeat("a", 100_000) + `"`)}, 1024)
	tests := []struct {
		name, in string
		want     error
	}{
		{"not JSON", "nope", errCorruptVals},
		{"an array", "[]", errCorruptVals},
		{"a number member", `{"a":1}`, errCorruptVals},
		{"an unterminated object", `{"a":"1"`, errCorruptVals},
		{"a trailing comma", `{"a":"1",}`, errCorruptVals},
		{"data after the object", `{"a":"1"} {}`, errCorruptVals},
		{"a duplicate key", `{"a":"1","a":"2"}`, errCorruptVals},
		{"a bad escape", `{"a":"\x"}`, errCorruptVals},
		{"a lone surrogate", `{"a":"\ud83d"}`, errCorruptVals},
		{"a raw control character", "{\"a\":\"\x01\"}", errCorruptVals},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", errCorruptVals},
		{"an unknown mark", `{"a":"~x"}`, errCorruptVals},
		{"bad base64", `{"a":"~b!!"}`, errCorruptVals},
		{"a compressed value that is not gzip", `{"a":"~bAAAA","b":"~zAAAA"}`, errCorruptVals},
		{"an encoded key that needs no encoding", `{"~YQ":"1"}`, errCorruptVals},
		{"values over the limit", `{"a":"` + strings.Repeat("1", 200) + `"}`, store.ErrTooLarge},
		{"a compressed value inflating over the limit", bomb, store.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeVals([]byte(tt.in), 100)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzDecodeVals: any input decodes or fails without a panic, and what
// decodes encodes back to the same values.
func FuzzDecodeVals(f *testing.F) {
	f.Add(encodeVals(map[string][]byte{"n": []byte("1"), "s": []byte(`"x\"y"`), "nul\x00": {0xff}}, 1024))
	f.Add(`{"a":"\u00e9\ud83d\ude00","~":"~b"}`)
	f.Add(encodeVals(map[string][]byte{"big": []byte(`"` + strings.Repeat("tea ", 1000) + `"`)}, 1024))
	f.Fuzz(func(t *testing.T, in string) {
		values, err := decodeVals([]byte(in), 1<<16)
		if err != nil {
			return
		}
		again, err := decodeVals([]byte(encodeVals(values, 1024)), 1<<16)
		if err != nil {
			t.Fatalf("re-encoding %q: %v", in, err)
		}
		if len(again) != len(values) {
			t.Fatalf("re-encoding %q: %d values, want %d", in, len(again), len(values))
		}
		for k, v := range values {
			if string(again[k]) != string(v) {
				t.Fatalf("re-encoding %q: %q = %q, want %q", in, k, again[k], v)
			}
		}
	})
}
