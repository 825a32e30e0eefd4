package store

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Default size limits shared by the stores that compress.
const (
	// DefaultCompressThreshold is the value size above which stores compress
	// a value: 1 KiB.
	DefaultCompressThreshold = 1 << 10

	// DefaultMaxRecordSize is the largest record (see [Size]) stores accept
	// by default: 1 MiB.
	DefaultMaxRecordSize = 1 << 20
)

// gzip streams start with these two bytes, and no JSON text can, so a
// compressed value is told apart from a plain one without a flag.
var gzipMagic = []byte{0x1f, 0x8b}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// Compress returns v compressed with gzip when v is longer than threshold and
// compression makes it smaller; otherwise it returns v. A threshold <= 0
// never compresses.
func Compress(v []byte, threshold int) []byte {
	if threshold <= 0 || len(v) <= threshold {
		return v
	}
	var buf bytes.Buffer
	buf.Grow(len(v) / 2)
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(&buf)
	_, _ = w.Write(v) // writes to a bytes.Buffer cannot fail
	_ = w.Close()
	gzipWriters.Put(w)
	if buf.Len() >= len(v) {
		return v
	}
	return buf.Bytes()
}

// IsCompressed reports whether v is a value that [Compress] compressed.
func IsCompressed(v []byte) bool { return bytes.HasPrefix(v, gzipMagic) }

// Decompress undoes [Compress]: a compressed value is inflated (to at most
// limit bytes, or [DefaultMaxRecordSize] when limit <= 0), anything else is
// returned as it is.
func Decompress(v []byte, limit int) ([]byte, error) {
	if !IsCompressed(v) {
		return v, nil
	}
	if limit <= 0 {
		limit = DefaultMaxRecordSize
	}
	r, err := gzip.NewReader(bytes.NewReader(v))
	if err != nil {
		return nil, fmt.Errorf("store: corrupt compressed value: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("store: corrupt compressed value: %w", err)
	}
	if len(out) > limit {
		return nil, fmt.Errorf("%w: compressed value inflates past %d bytes", ErrTooLarge, limit)
	}
	return out, nil
}

// blob is the JSON layout of [EncodeValues]: plain values as JSON, compressed
// ones as base64 in their own map, so no user value can be mistaken for a
// compressed one.
type blob struct {
	V map[string]json.RawMessage `json:"v,omitempty"`
	Z map[string][]byte          `json:"z,omitempty"`
}

// EncodeValues encodes a record's values as one JSON document, compressing
// values longer than threshold (see [Compress]). Stores that keep a record as
// one blob (file, SQL) use it; [DecodeValues] reverses it.
func EncodeValues(values map[string][]byte, threshold int) ([]byte, error) {
	var b blob
	for k, v := range values {
		if c := Compress(v, threshold); IsCompressed(c) {
			if b.Z == nil {
				b.Z = make(map[string][]byte)
			}
			b.Z[k] = c
			continue
		}
		if !json.Valid(v) {
			return nil, fmt.Errorf("store: value of key %q is not valid JSON", k)
		}
		if b.V == nil {
			b.V = make(map[string]json.RawMessage, len(values))
		}
		b.V[k] = v
	}
	return json.Marshal(b)
}

// DecodeValues decodes what [EncodeValues] produced, inflating compressed
// values to at most limit bytes in all ([DefaultMaxRecordSize] when limit <=
// 0). An empty input is an empty map.
func DecodeValues(data []byte, limit int) (map[string][]byte, error) {
	values := make(map[string][]byte)
	if len(data) == 0 {
		return values, nil
	}
	var b blob
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("store: corrupt record: %w", err)
	}
	if limit <= 0 {
		limit = DefaultMaxRecordSize
	}
	for k, v := range b.V {
		values[k] = []byte(v)
	}
	for k, z := range b.Z {
		if !IsCompressed(z) {
			return nil, errors.New("store: corrupt record: bad compressed value")
		}
		v, err := Decompress(z, limit)
		if err != nil {
			return nil, err
		}
		values[k] = v
	}
	return values, nil
}
