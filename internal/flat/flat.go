// Package flat encodes a session record as one flat, pointer-free byte
// slice, for the stores that keep records in memory (memstore) or in a
// cookie (cookiestore).
//
// A record held as a Go map costs a map header, a group of slots, a slice
// header and an allocation per value, all of which the garbage collector
// scans; a flat record is one allocation it never looks into. Reading a
// value is a short scan of the record, and a change set is merged into a new
// record in one allocation ([Merge]). Records are never modified once built,
// so the value slices that [Values.Get] returns share the record's memory:
// callers must not modify them.
//
// # Layout
//
//	created, lastSeen, expires   8 bytes each: little-endian Unix nanoseconds, 0 for the zero time
//	userID, ip, userAgent        each a uvarint length and the bytes
//	values                       a uvarint count n, then n times: uvarint len, key, uvarint len, value
//
// Keys are unique within a record. Records built by this package are
// trusted by its accessors; bytes from elsewhere (a cookie) must pass
// [Parse] first.
package flat

import (
	"context"
	"encoding/binary"
	"errors"
	"iter"
	"math"
	"time"

	"github.com/sesamego/sesame/store"
)

// Record is a whole record: the metadata, then the [Values].
type Record []byte

// Values is the values part of a [Record]. The zero Values holds none.
type Values []byte

// headerLen is the size of the three times at the start of a record.
const headerLen = 24

// Offsets of the times in a record.
const (
	createdAt  = 0
	lastSeenAt = 8
	expiresAt  = 16
)

// Nanos returns t as Unix nanoseconds for the record's times: 0 for the zero
// time, and times outside the range of int64 nanoseconds (years 1678 to
// 2262) clamped to it, so that a far-future expiry stays far in the future.
func Nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minTime):
		return math.MinInt64 + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	n := t.UnixNano()
	if n == 0 {
		return 1 // the epoch itself; 0 means the zero time
	}
	return n
}

var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

func timeOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func nanosAt(r []byte, at int) int64 { return int64(binary.LittleEndian.Uint64(r[at : at+8])) }

// CreatedNanos returns when the record was created, in Unix nanoseconds.
// The times are read without decoding the rest of the record.
func (r Record) CreatedNanos() int64 { return nanosAt(r, createdAt) }

// LastSeenNanos returns when the record was last written, in Unix
// nanoseconds.
func (r Record) LastSeenNanos() int64 { return nanosAt(r, lastSeenAt) }

// ExpiresNanos returns when the record expires, in Unix nanoseconds.
func (r Record) ExpiresNanos() int64 { return nanosAt(r, expiresAt) }

// LiveAt reports whether the record has not expired at now (Unix
// nanoseconds): its expiry is after now.
func (r Record) LiveAt(now int64) bool { return r.ExpiresNanos() > now }

// uvarint decodes a uvarint of a trusted record at i and returns it and the
// index after it.
func uvarint(b []byte, i int) (int, int) {
	if c := b[i]; c < 0x80 {
		return int(c), i + 1
	}
	x, n := binary.Uvarint(b[i:])
	return int(x), i + n
}

// str returns the length-prefixed bytes at i and the index after them.
func str(b []byte, i int) ([]byte, int) {
	n, j := uvarint(b, i)
	return b[j : j+n : j+n], j + n
}

// Meta returns the record's metadata (its Values nil) and its values.
func (r Record) Meta() (store.Record, Values) {
	rec := store.Record{
		Created:  timeOf(r.CreatedNanos()),
		LastSeen: timeOf(r.LastSeenNanos()),
		Expires:  timeOf(r.ExpiresNanos()),
	}
	i := headerLen
	var user, ip, ua []byte
	user, i = str(r, i)
	ip, i = str(r, i)
	ua, i = str(r, i)
	if len(user)+len(ip)+len(ua) > 0 { // most sessions have none
		rec.UserID, rec.IP, rec.UserAgent = string(user), string(ip), string(ua)
	}
	return rec, Values(r[i:])
}

// UserID returns the record's user ID as a slice of the record.
func (r Record) UserID() []byte {
	b, _ := str(r, headerLen)
	return b
}

// Values returns the record's values.
func (r Record) Values() Values {
	i := headerLen
	for range 3 {
		_, i = str(r, i)
	}
	return Values(r[i:])
}

// Record returns the whole record. Its values share r's memory when shared
// is true, and are copies (in one allocation) otherwise.
func (r Record) Record(shared bool) store.Record {
	rec, v := r.Meta()
	rec.Values = v.Map(shared)
	return rec
}

// Len returns the number of values.
func (v Values) Len() int {
	if len(v) == 0 {
		return 0
	}
	n, _ := uvarint(v, 0)
	return n
}

// Get returns the value of key, sharing v's memory (read-only), and whether
// v holds key. It is the hot path of a session read: lengths under 128 take
// one byte and are read inline.
func (v Values) Get(key string) ([]byte, bool) {
	if len(v) == 0 {
		return nil, false
	}
	n, i := int(v[0]), 1
	if n >= 0x80 {
		n, i = uvarint(v, 0)
	}
	for ; n > 0; n-- {
		kl := int(v[i])
		if kl < 0x80 {
			i++
		} else {
			kl, i = uvarint(v, i)
		}
		k := i
		i += kl
		vl := int(v[i])
		if vl < 0x80 {
			i++
		} else {
			vl, i = uvarint(v, i)
		}
		if kl == len(key) && string(v[k:k+kl]) == key {
			return v[i : i+vl : i+vl], true
		}
		i += vl
	}
	return nil, false
}

// All returns an iterator over the keys and values, in the record's order.
// Both share v's memory (read-only).
func (v Values) All() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		if len(v) == 0 {
			return
		}
		n, i := uvarint(v, 0)
		for ; n > 0; n-- {
			var k, val []byte
			k, i = str(v, i)
			val, i = str(v, i)
			if !yield(k, val) {
				return
			}
		}
	}
}

// Size returns [store.Size] of the values: the lengths of the keys and
// values.
func (v Values) Size() int {
	if len(v) == 0 {
		return 0
	}
	size := 0
	n, i := uvarint(v, 0)
	for ; n > 0; n-- {
		var k, val []byte
		k, i = str(v, i)
		val, i = str(v, i)
		size += len(k) + len(val)
	}
	return size
}

// Map returns the values as a new map. The values share v's memory
// (read-only) when shared is true; otherwise they are copies in one
// allocation.
func (v Values) Map(shared bool) map[string][]byte {
	m := make(map[string][]byte, v.Len())
	var buf []byte
	if !shared {
		buf = make([]byte, 0, v.Size())
	}
	for k, val := range v.All() {
		if !shared {
			start := len(buf)
			buf = append(buf, val...)
			val = buf[start:len(buf):len(buf)]
		}
		m[string(k)] = val
	}
	return m
}

// Encode returns rec as a Record.
func Encode(rec store.Record) Record {
	n := metaLen(&rec) + uvarintLen(len(rec.Values))
	for k, v := range rec.Values {
		n += uvarintLen(len(k)) + len(k) + uvarintLen(len(v)) + len(v)
	}
	b := make([]byte, 0, n)
	b = appendMeta(b, &rec, Nanos(rec.Created), Nanos(rec.LastSeen), Nanos(rec.Expires))
	b = binary.AppendUvarint(b, uint64(len(rec.Values)))
	for k, v := range rec.Values {
		b = appendString(b, k)
		b = appendBytes(b, v)
	}
	return b
}

func metaLen(rec *store.Record) int {
	return headerLen + uvarintLen(len(rec.UserID)) + len(rec.UserID) + uvarintLen(len(rec.IP)) + len(rec.IP) +
		uvarintLen(len(rec.UserAgent)) + len(rec.UserAgent)
}

func appendMeta(b []byte, rec *store.Record, created, lastSeen, expires int64) []byte {
	b = appendTimes(b, created, lastSeen, expires)
	b = appendString(b, rec.UserID)
	b = appendString(b, rec.IP)
	return appendString(b, rec.UserAgent)
}

func appendTimes(b []byte, created, lastSeen, expires int64) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(created))
	b = binary.LittleEndian.AppendUint64(b, uint64(lastSeen))
	return binary.LittleEndian.AppendUint64(b, uint64(expires))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func uvarintLen(n int) int {
	l := 1
	for n >= 0x80 {
		n >>= 7
		l++
	}
	return l
}

// Without returns r without the value of key, everything else unchanged
// (LastSeen included), and the new values' [store.Size]. r must hold key.
func Without(r Record, key string) (Record, int) {
	vals := r.Values()
	meta := r[:len(r)-len(vals)]
	n, i := uvarint(vals, 0)
	out := make([]byte, 0, len(r))
	out = append(out, meta...)
	out = binary.AppendUvarint(out, uint64(n-1))
	size := 0
	for ; n > 0; n-- {
		start := i
		var k, val []byte
		k, i = str(vals, i)
		val, i = str(vals, i)
		if string(k) == key {
			continue
		}
		size += len(k) + len(val)
		out = append(out, vals[start:i]...)
	}
	return out, size
}

// Errors of [Parse].
var errMalformed = errors.New("flat: malformed record")

// Parse checks that b is a well-formed record (every length within b, no
// bytes left over, no key twice) and returns it, sharing b's memory. Use it
// on bytes that did not come from this package's encoder in this process.
func Parse(b []byte) (Record, error) {
	if len(b) < headerLen {
		return nil, errMalformed
	}
	i := headerLen
	for range 3 {
		var ok bool
		if _, i, ok = checkedStr(b, i); !ok {
			return nil, errMalformed
		}
	}
	n, j := binary.Uvarint(b[i:])
	if j <= 0 || n > uint64(len(b)-i-j)/2 { // each value takes at least 2 bytes
		return nil, errMalformed
	}
	i += j
	// Duplicate keys: a linear check for a few values, a set beyond.
	var few [8][]byte
	var seen map[string]struct{}
	if n > uint64(len(few)) {
		seen = make(map[string]struct{}, n)
	}
	for x := 0; uint64(x) < n; x++ {
		var k []byte
		var ok bool
		if k, i, ok = checkedStr(b, i); !ok {
			return nil, errMalformed
		}
		if seen != nil {
			if _, dup := seen[string(k)]; dup {
				return nil, errMalformed
			}
			seen[string(k)] = struct{}{}
		} else {
			for _, prev := range few[:x] {
				if string(prev) == string(k) {
					return nil, errMalformed
				}
			}
			few[x] = k
		}
		if _, i, ok = checkedStr(b, i); !ok {
			return nil, errMalformed
		}
	}
	if i != len(b) {
		return nil, errMalformed
	}
	return Record(b), nil
}

// checkedStr is str with bounds checks.
func checkedStr(b []byte, i int) ([]byte, int, bool) {
	n, j := binary.Uvarint(b[i:])
	if j <= 0 || n > uint64(len(b)-i-j) {
		return nil, 0, false
	}
	start := i + j
	end := start + int(n)
	return b[start:end:end], end, true
}

// Loader is implemented by stores that keep flat records (memstore) and can
// hand them out without a copy.
type Loader interface {
	// LoadFlat is [store.Store.Load] returning the stored record, which
	// the caller must not modify.
	LoadFlat(ctx context.Context, key string) ([]byte, bool, error)

	// FlatLoader returns the store whose LoadFlat this is. A type that
	// embeds a Loader gets its LoadFlat and FlatLoader promoted; sesame
	// uses LoadFlat only when FlatLoader returns the store itself, so
	// that a decorator overriding Load is never gone around.
	FlatLoader() any
}
