package store

import (
	"fmt"
	"maps"
	"strconv"
	"time"
)

// Merge applies c to the record under one key, following the rules of
// [Store.Apply]. cur is the stored record and ok whether one exists; now is
// the store's clock. An expired record (Expires not after now) counts as
// missing: the store's clock decides, never c.Now, so a caller whose clock
// lags cannot revive an expired record and one whose clock runs ahead cannot
// replace a live one. c.Now, when set, is only the time written to LastSeen
// (and Created on create). Merge never
// modifies cur or its Values: it returns a new record (sharing unchanged value
// slices with cur), or an error wrapping ErrNotFound, ErrExists,
// ErrNotNumber or ErrNotList.
//
// Stores that keep records as Go values or blobs (memory, file, SQL) call Merge
// inside their own atomic section.
func Merge(cur Record, ok bool, c Change, now time.Time) (Record, error) {
	live := ok && cur.Expires.After(now)
	if !c.Now.IsZero() {
		now = c.Now
	}
	var rec Record
	switch {
	case c.Create && live:
		return Record{}, ErrExists
	case c.Create:
		rec = Record{Values: make(map[string][]byte, len(c.Set)+len(c.Incr)), Created: now}
		if !c.Created.IsZero() {
			rec.Created = c.Created
		}
	case !live:
		return Record{}, ErrNotFound
	case IsTombstone(cur):
		return Record{}, fmt.Errorf("%w: the session has ended (tombstone)", ErrNotFound)
	default:
		rec = cur
		if c.Clear {
			rec.Values = make(map[string][]byte, len(c.Set)+len(c.Incr))
		} else {
			rec.Values = maps.Clone(cur.Values)
			if rec.Values == nil {
				rec.Values = make(map[string][]byte, len(c.Set)+len(c.Incr))
			}
		}
	}
	for _, k := range c.Delete {
		delete(rec.Values, k)
	}
	for k, v := range c.Set {
		rec.Values[k] = v
	}
	for k, by := range c.Incr {
		n, err := AddInt(rec.Values[k], by)
		if err != nil {
			return Record{}, fmt.Errorf("%w: key %q", err, k)
		}
		rec.Values[k] = strconv.AppendInt(nil, n, 10)
	}
	for k, a := range c.Push {
		v, err := AppendJSON(rec.Values[k], a.Values, a.Keep)
		if err != nil {
			return Record{}, fmt.Errorf("%w: key %q", err, k)
		}
		rec.Values[k] = v
	}
	rec.LastSeen = now
	if !c.Expires.IsZero() {
		rec.Expires = c.Expires
	}
	if c.SetUser {
		rec.UserID, rec.IP, rec.UserAgent = c.UserID, c.IP, c.UserAgent
	}
	return rec, nil
}

// AddInt adds by to the JSON integer v (nil or empty counts as 0) and returns
// the sum. A value that is not a JSON integer (digits with an optional minus
// sign, no leading zero, no plus sign, fraction, exponent or white space), one
// outside int64, or a sum that overflows int64, returns an error wrapping
// ErrNotNumber.
func AddInt(v []byte, by int64) (int64, error) {
	var n int64
	if len(v) > 0 {
		if !jsonInt(v) {
			return 0, ErrNotNumber
		}
		var err error
		n, err = strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, ErrNotNumber
		}
	}
	sum := n + by
	if (by > 0 && sum < n) || (by < 0 && sum > n) {
		return 0, fmt.Errorf("%w: overflow", ErrNotNumber)
	}
	return sum, nil
}

// jsonInt reports whether v matches the JSON grammar of an integer:
// -?(0|[1-9][0-9]*).
func jsonInt(v []byte) bool {
	if len(v) > 0 && v[0] == '-' {
		v = v[1:]
	}
	if len(v) == 0 || (v[0] == '0' && len(v) > 1) {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Size returns the size in bytes of a record's values: the sum of the lengths
// of its keys and encoded values. Stores compare it with their size limit.
func Size(values map[string][]byte) int {
	n := 0
	for k, v := range values {
		n += len(k) + len(v)
	}
	return n
}

// IsTombstone reports whether rec is a tombstone: it holds [GoneField].
func IsTombstone(rec Record) bool {
	_, ok := rec.Values[GoneField]
	return ok
}
