package store

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"unicode/utf8"
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
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(v))
	} else {
		err = zr.Reset(bytes.NewReader(v))
	}
	if err != nil {
		return nil, fmt.Errorf("store: corrupt compressed value: %w", err)
	}
	defer gzipReaders.Put(zr)
	// The gzip trailer holds the inflated size (mod 2^32): size the buffer
	// from it, within the limit, so ReadAll does not grow it step by step.
	size := 512
	if n := len(v); n >= 4 {
		if isize := int(binary.LittleEndian.Uint32(v[n-4:])); isize > 0 && isize <= limit {
			size = isize + bytes.MinRead // ReadFrom wants MinRead spare bytes
		}
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := buf.ReadFrom(io.LimitReader(zr, int64(limit)+1)); err != nil {
		return nil, fmt.Errorf("store: corrupt compressed value: %w", err)
	}
	out := buf.Bytes()
	if len(out) > limit {
		return nil, fmt.Errorf("%w: compressed value inflates past %d bytes", ErrTooLarge, limit)
	}
	return out, nil
}

// gzipReaders reuses readers (and their inflate tables) across calls.
var gzipReaders sync.Pool

// blob is the JSON layout of [EncodeValues]. Values that are valid UTF-8 JSON
// without surrounding white space sit verbatim in V; compressed ones sit as
// base64 in Z; anything else (a key that is not valid UTF-8, a value that is
// not such JSON) sits as a base64 key and value pair in R. So no user value can
// be mistaken for a compressed one, and every value comes back byte for byte.
type blob struct {
	V map[string]json.RawMessage `json:"v,omitempty"`
	Z map[string][]byte          `json:"z,omitempty"`
	R [][2][]byte                `json:"r,omitempty"`
}

// EncodeValues encodes a record's values as one JSON document (valid UTF-8),
// compressing values longer than threshold (see [Compress]). Stores that keep
// a record as one blob (file, SQL) use it; [DecodeValues] reverses it and
// returns every key and value byte for byte, whatever they hold. The output is
// deterministic: keys are sorted. The error is reserved; it is always nil today.
func EncodeValues(values map[string][]byte, threshold int) ([]byte, error) {
	keys := slices.Sorted(maps.Keys(values))
	var plain, packed, raw []string
	zs := make(map[string][]byte)
	size := 2
	for _, k := range keys {
		v := values[k]
		switch {
		case !utf8.ValidString(k):
			raw = append(raw, k)
			size += 2*base64.StdEncoding.EncodedLen(len(k)+len(v)) + 8
		case len(v) > threshold && threshold > 0:
			// Compress returns v itself when compressing does not pay; a
			// raw value that merely starts with the gzip magic must not be
			// taken for a compressed one.
			if c := Compress(v, threshold); len(c) < len(v) {
				zs[k] = c
				packed = append(packed, k)
				size += len(k) + base64.StdEncoding.EncodedLen(len(c)) + 8
				break
			}
			fallthrough
		default:
			if verbatim(v) {
				plain = append(plain, k)
				size += len(k) + len(v) + 8
			} else {
				raw = append(raw, k)
				size += 2*base64.StdEncoding.EncodedLen(len(k)+len(v)) + 8
			}
		}
	}
	buf := make([]byte, 0, size)
	buf = append(buf, '{')
	if len(plain) > 0 {
		buf = append(buf, `"v":{`...)
		for i, k := range plain {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, k)
			buf = append(buf, ':')
			buf = append(buf, values[k]...)
		}
		buf = append(buf, '}')
	}
	if len(packed) > 0 {
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = append(buf, `"z":{`...)
		for i, k := range packed {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, k)
			buf = append(buf, ':', '"')
			buf = base64.StdEncoding.AppendEncode(buf, zs[k])
			buf = append(buf, '"')
		}
		buf = append(buf, '}')
	}
	if len(raw) > 0 {
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = append(buf, `"r":[`...)
		for i, k := range raw {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '[', '"')
			buf = base64.StdEncoding.AppendEncode(buf, []byte(k))
			buf = append(buf, '"', ',', '"')
			buf = base64.StdEncoding.AppendEncode(buf, values[k])
			buf = append(buf, '"', ']')
		}
		buf = append(buf, ']')
	}
	return append(buf, '}'), nil
}

// verbatim reports whether v can sit unescaped in an encoded blob and come
// back from encoding/json byte for byte: valid UTF-8 JSON that neither starts
// nor ends with white space (the decoder trims it) and is not empty.
func verbatim(v []byte) bool {
	if len(v) == 0 || isSpace(v[0]) || isSpace(v[len(v)-1]) {
		return false
	}
	return utf8.Valid(v) && json.Valid(v)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendString appends the JSON string for s, which is valid UTF-8.
func appendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}

// DecodeValues decodes what [EncodeValues] produced. It refuses a record
// whose values, once compressed ones are inflated, total more than limit
// bytes as measured by [Size] ([DefaultMaxRecordSize] when limit <= 0), with
// an error wrapping [ErrTooLarge], so a corrupt or hostile blob cannot inflate
// without bound. An empty input is an empty map. Any other malformed input
// returns an error; DecodeValues never panics.
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
	left := limit
	for k, v := range b.V {
		values[k] = []byte(v)
		left -= len(k) + len(v)
	}
	for _, kv := range b.R {
		values[string(kv[0])] = kv[1]
		left -= len(kv[0]) + len(kv[1])
	}
	if left < 0 {
		return nil, fmt.Errorf("%w: values exceed %d bytes", ErrTooLarge, limit)
	}
	for k, z := range b.Z {
		if !IsCompressed(z) {
			return nil, errors.New("store: corrupt record: bad compressed value")
		}
		room := left - len(k)
		if room <= 0 {
			return nil, fmt.Errorf("%w: values exceed %d bytes", ErrTooLarge, limit)
		}
		v, err := Decompress(z, room)
		if err != nil {
			return nil, err
		}
		if left -= len(k) + len(v); left < 0 {
			return nil, fmt.Errorf("%w: values exceed %d bytes", ErrTooLarge, limit)
		}
		values[k] = v
	}
	return values, nil
}
