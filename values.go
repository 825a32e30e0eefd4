package sesame

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Get returns the value of key decoded into a T, and whether it was there and
// is a T. Values round-trip exactly through JSON: []byte, time.Time, integers
// above 2^53, structs and maps come back as they were put. No type needs
// registering, and nothing is ever decoded with gob.
//
//	cart, ok := sesame.Get[Cart](s, "cart")
func Get[T any](s *Session, key string) (T, bool) {
	s.mu.Lock()
	b, ok := s.raw(key)
	s.mu.Unlock()
	if !ok {
		var zero T
		return zero, false
	}
	// The scalar fast path keeps v on the stack; only the encoding/json
	// fallback makes a value escape.
	var v T
	if decodeScalar(b, &v) {
		return v, true
	}
	return decodeJSON[T](b)
}

func decodeJSON[T any](b []byte) (T, bool) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		var zero T
		return zero, false
	}
	return v, true
}

// GetOr returns the value of key decoded into a T, or def when the key is
// missing or not a T.
//
//	theme := sesame.GetOr(s, "theme", "light")
func GetOr[T any](s *Session, key string, def T) T {
	if v, ok := Get[T](s, key); ok {
		return v
	}
	return def
}

// decodeInto decodes JSON b into *p, with fast paths for the common scalar
// types that avoid encoding/json's reflection.
func decodeInto(b []byte, p any) error {
	if decodeScalar(b, p) {
		return nil
	}
	return json.Unmarshal(b, p)
}

// decodeScalar decodes b into *p when p points to an int, int64, string or
// bool and b is a plain JSON value of that type, and reports whether it did.
// It does not retain p.
func decodeScalar(b []byte, p any) bool {
	switch p := p.(type) {
	case *int:
		if n, err := strconv.Atoi(string(b)); err == nil {
			*p = n
			return true
		}
	case *int64:
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			*p = n
			return true
		}
	case *string:
		if s, ok := plainJSONString(b); ok {
			*p = s
			return true
		}
	case *bool:
		switch string(b) {
		case "true":
			*p = true
			return true
		case "false":
			*p = false
			return true
		}
	}
	return false
}

// plainJSONString returns the contents of a JSON string without escapes.
func plainJSONString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	return string(inner), true
}

// decodeAny decodes JSON into a Go value, with integers as int64 (so large
// counters and IDs stay exact) and other numbers as float64.
func decodeAny(b []byte) (any, error) {
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return n, nil
	}
	if s, ok := plainJSONString(b); ok {
		return s, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return convertNumbers(v), nil
}

func convertNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = convertNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = convertNumbers(v[k])
		}
	}
	return v
}

func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }
