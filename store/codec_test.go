package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEncodeValuesRoundTrip(t *testing.T) {
	random := make([]byte, 3000)
	rand.Read(random)
	incompressible := `"` + base64.StdEncoding.EncodeToString(random) + `"`
	compressible := `"` + strings.Repeat("sesame ", 500) + `"`

	tests := []struct {
		name   string
		values map[string][]byte
	}{
		{name: "no values", values: map[string][]byte{}},
		{name: "plain JSON values", values: map[string][]byte{"n": []byte("42"), "s": []byte(`"hi"`), "o": []byte(`{"a":[1,2]}`)}},
		{name: "white space inside a value is kept", values: map[string][]byte{"o": []byte("{\"a\": 1,\n \"b\": [1, 2 ]}")}},
		{name: "white space around a value is kept", values: map[string][]byte{"n": []byte(" 1\n"), "s": []byte("\t\"x\"")}},
		{name: "HTML characters are not escaped", values: map[string][]byte{"h": []byte(`"<b>&amp;</b>"`)}},
		{name: "line and paragraph separators are not escaped", values: map[string][]byte{"u": []byte("\"\u2028\u2029\"")}},
		{name: "escapes stay escapes", values: map[string][]byte{"e": []byte(`"\u0000\u00e9\ud83d\ude00\n"`)}},
		{name: "numbers keep their spelling", values: map[string][]byte{"a": []byte("1.10"), "b": []byte("1e400"), "c": []byte("123456789012345678901234567890"), "d": []byte("-0")}},
		{name: "unicode keys and values", values: map[string][]byte{"🔑": []byte(`"😀"`), "مفتاح": []byte(`"שלום"`), "a\x00b": []byte(`"nul key"`), `q"\`: []byte("null")}},
		{name: "a key that is not UTF-8", values: map[string][]byte{"\xff": []byte("1"), "\xfe": []byte("2")}},
		{name: "a value that is not UTF-8", values: map[string][]byte{"s": []byte("\"\xff\"")}},
		{name: "a value that is not JSON", values: map[string][]byte{"x": []byte("not json"), "y": {}, "z": []byte("\x1f\x8b fake gzip")}},
		{name: "a large compressible value is compressed", values: map[string][]byte{"big": []byte(compressible)}},
		{name: "a large incompressible value stays plain", values: map[string][]byte{"rnd": []byte(incompressible)}},
		{name: "a large value that is not JSON", values: map[string][]byte{"big": []byte(strings.Repeat("x ", 2000))}},
		{name: "every kind at once", values: map[string][]byte{"big": []byte(compressible), "n": []byte("1"), "\xff": []byte("2"), "w": []byte(" 3")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := EncodeValues(tt.values, DefaultCompressThreshold)
			if err != nil {
				t.Fatalf("EncodeValues: %v", err)
			}
			if !utf8.Valid(data) || !json.Valid(data) {
				t.Errorf("got an encoding that is not UTF-8 JSON: %q", data)
			}
			got, err := DecodeValues(data, 0)
			if err != nil {
				t.Fatalf("DecodeValues: %v", err)
			}
			assertSameValues(t, got, tt.values)
		})
	}
}

func TestEncodeValuesCompressesOnlyPastTheThreshold(t *testing.T) {
	v := []byte(`"` + strings.Repeat("a", 2000) + `"`)
	tests := []struct {
		name       string
		threshold  int
		compressed bool
	}{
		{name: "a value over the threshold is compressed", threshold: 1024, compressed: true},
		{name: "a value under the threshold is not", threshold: 4096, compressed: false},
		{name: "a zero threshold never compresses", threshold: 0, compressed: false},
		{name: "a negative threshold never compresses", threshold: -1, compressed: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := EncodeValues(map[string][]byte{"v": v}, tt.threshold)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(data) < len(v); got != tt.compressed {
				t.Errorf("got compressed %v (%d bytes for a %d-byte value), want %v", got, len(data), len(v), tt.compressed)
			}
		})
	}
}

func TestEncodeValuesIsDeterministic(t *testing.T) {
	values := map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("3"), "d": []byte("4"), "\xff": []byte("5")}
	first, _ := EncodeValues(values, 0)
	for range 20 {
		if got, _ := EncodeValues(values, 0); !bytes.Equal(got, first) {
			t.Fatalf("got %s, want %s", got, first)
		}
	}
}

func TestDecodeValuesReadsTheOriginalLayout(t *testing.T) {
	// What the first version of EncodeValues wrote through encoding/json.
	z := Compress([]byte(`"`+strings.Repeat("b", 3000)+`"`), DefaultCompressThreshold)
	old, _ := json.Marshal(map[string]any{"v": map[string]json.RawMessage{"a": json.RawMessage("1")}, "z": map[string][]byte{"b": z}})
	got, err := DecodeValues(old, 0)
	if err != nil {
		t.Fatal(err)
	}
	assertSameValues(t, got, map[string][]byte{"a": []byte("1"), "b": []byte(`"` + strings.Repeat("b", 3000) + `"`)})
}

func TestDecodeValuesRejects(t *testing.T) {
	bomb := Compress(bytes.Repeat([]byte("0"), 4<<20), 1)
	half := Compress(bytes.Repeat([]byte("0"), 600<<10), 1)
	zs := func(m map[string][]byte) []byte { b, _ := json.Marshal(map[string]any{"z": m}); return b }
	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{name: "text that is not JSON", data: []byte("{nope")},
		{name: "JSON of the wrong shape", data: []byte(`{"v":[1,2]}`)},
		{name: "a compressed value without the gzip header", data: zs(map[string][]byte{"a": []byte("plain")})},
		{name: "a truncated compressed value", data: zs(map[string][]byte{"a": bomb[:len(bomb)/2]})},
		{name: "a compressed value past the limit", data: zs(map[string][]byte{"a": bomb}), wantErr: ErrTooLarge},
		{name: "compressed values past the limit in all", data: zs(map[string][]byte{"a": half, "b": half}), wantErr: ErrTooLarge},
		{name: "plain values past the limit", data: []byte(`{"v":{"a":"` + strings.Repeat("x", DefaultMaxRecordSize) + `"}}`), wantErr: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeValues(tt.data, 0)
			if err == nil {
				t.Fatalf("got %d values and no error, want an error", len(got))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want an error wrapping %v", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeValuesOfNothingIsEmpty(t *testing.T) {
	got, err := DecodeValues(nil, 0)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("got %v, %v, want an empty map and no error", got, err)
	}
}

func TestCompress(t *testing.T) {
	v := bytes.Repeat([]byte("abc"), 1000)
	c := Compress(v, 10)
	if !IsCompressed(c) || len(c) >= len(v) {
		t.Fatalf("got %d bytes (compressed %v), want fewer than %d", len(c), IsCompressed(c), len(v))
	}
	got, err := Decompress(c, 0)
	if err != nil || !bytes.Equal(got, v) {
		t.Errorf("got %d bytes, %v, want the original %d bytes", len(got), err, len(v))
	}
	if got := Compress([]byte("short"), 10); string(got) != "short" {
		t.Errorf("got %q, want a short value unchanged", got)
	}
	if got, err := Decompress([]byte(`"plain"`), 0); err != nil || string(got) != `"plain"` {
		t.Errorf("got %q, %v, want a plain value unchanged", got, err)
	}
}

// FuzzDecodeValues checks that DecodeValues never panics, and that what it
// accepts encodes and decodes back to the same values.
func FuzzDecodeValues(f *testing.F) {
	seeds := []map[string][]byte{
		{},
		{"a": []byte("1"), "b": []byte(`"x"`)},
		{"\xff": []byte(" 1"), "big": []byte(`"` + strings.Repeat("ab", 1000) + `"`)},
	}
	for _, s := range seeds {
		data, _ := EncodeValues(s, 64)
		f.Add(data)
	}
	f.Add([]byte(`{"r":[["","",""],null]}`))
	f.Add([]byte(`{"v":{"a":null},"z":{"a":"H4s="}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		values, err := DecodeValues(data, 1<<16)
		if err != nil {
			return
		}
		again, err := EncodeValues(values, 64)
		if err != nil {
			t.Fatalf("EncodeValues of decoded values: %v", err)
		}
		got, err := DecodeValues(again, 1<<16)
		if err != nil {
			t.Fatalf("DecodeValues of %q: %v", again, err)
		}
		assertSameValues(t, got, values)
	})
}

// FuzzEncodeValues checks that any keys and values, JSON or not, come back
// byte for byte.
func FuzzEncodeValues(f *testing.F) {
	f.Add("a", []byte("1"), "b", []byte(`{"x": "<y>"}`), 16)
	f.Add("\xff", []byte(" 1 "), "", []byte(nil), 0)
	f.Add("k", bytes.Repeat([]byte("z"), 100), "\x00", []byte("\x1f\x8b"), 8)
	f.Fuzz(func(t *testing.T, k1 string, v1 []byte, k2 string, v2 []byte, threshold int) {
		values := map[string][]byte{k1: v1, k2: v2}
		data, err := EncodeValues(values, threshold)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(data) {
			t.Errorf("got an encoding that is not UTF-8: %q", data)
		}
		got, err := DecodeValues(data, 0)
		if err != nil {
			t.Fatalf("DecodeValues of %q: %v", data, err)
		}
		assertSameValues(t, got, values)
	})
}

func assertSameValues(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d values, want %d", len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("key %q: got nothing, want %q", k, w)
			continue
		}
		if !bytes.Equal(g, w) {
			t.Errorf("key %q: got %q, want %q", k, g, w)
		}
	}
}

func benchValues() map[string][]byte {
	return map[string][]byte{
		"user_id": []byte("1234567"),
		"views":   []byte("41"),
		"csrf":    []byte(`"q9c3Yx0VdE1bP7v2m8sK4tA6wZ5rL1nH0jG3fD2sA9k"`),
		"_flash":  []byte(`{"notice":"Welcome back!"}`),
		"cart":    []byte(`{"items":[{"sku":"TEA-042","qty":2},{"sku":"MUG-007","qty":1}],"total":3150}`),
	}
}

func BenchmarkEncodeValues(b *testing.B) {
	values := benchValues()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeValues(values, DefaultCompressThreshold); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeValues(b *testing.B) {
	data, err := EncodeValues(benchValues(), DefaultCompressThreshold)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeValues(data, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMerge(b *testing.B) {
	now := time.Now()
	cur := Record{Values: benchValues(), Created: now, Expires: now.Add(time.Hour)}
	c := Change{Set: map[string][]byte{"_flash": []byte(`{"notice":"Saved."}`)}, Incr: map[string]int64{"views": 1}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Merge(cur, true, c, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecompress(b *testing.B) {
	v := []byte(`"` + strings.Repeat(`{"sku":"A-100","qty":3,"price":1299},`, 280) + `"`)
	c := Compress(v, DefaultCompressThreshold)
	if !IsCompressed(c) {
		b.Fatal("not compressed")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decompress(c, 0); err != nil {
			b.Fatal(err)
		}
	}
}
