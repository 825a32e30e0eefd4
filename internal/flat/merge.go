package flat

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/sesamego/sesame/store"
)

// Merge is [store.Merge] on a flat record: it applies c to cur (ok says
// whether a record exists), with now the store's clock, and returns the new
// record, built in one allocation, and its values' [store.Size]. It follows
// store.Merge's rules exactly, errors included; cur is not modified and c's
// slices are copied.
func Merge(cur Record, ok bool, c store.Change, now time.Time) (Record, int, error) {
	return AppendMerge(nil, cur, ok, c, now)
}

// AppendMerge is [Merge] that appends the new record to dst (growing it once)
// and returns the extended slice: a caller that prefixes the record (a
// cookie payload's header) builds both in one allocation.
func AppendMerge(dst []byte, cur Record, ok bool, c store.Change, now time.Time) ([]byte, int, error) {
	live := ok && cur.LiveAt(now.UnixNano())
	if !c.Now.IsZero() {
		now = c.Now
	}
	var user []byte // the old record's user ID, IP and user agent, as encoded
	var base Values
	created := Nanos(now)
	var expires int64
	switch {
	case c.Create && live:
		return nil, 0, store.ErrExists
	case c.Create:
		if !c.Created.IsZero() {
			created = Nanos(c.Created)
		}
	case !live:
		return nil, 0, store.ErrNotFound
	default:
		base = cur.Values()
		user = cur[headerLen : len(cur)-len(base)]
		if _, gone := base.Get(store.GoneField); gone {
			return nil, 0, fmt.Errorf("%w: the session has ended (tombstone)", store.ErrNotFound)
		}
		created, expires = cur.CreatedNanos(), cur.ExpiresNanos()
		if c.Clear {
			base = nil
		}
	}
	if !c.Expires.IsZero() {
		expires = Nanos(c.Expires)
	}
	var meta store.Record // the user of a record whose user is not user
	if c.SetUser {
		meta.UserID, meta.IP, meta.UserAgent = c.UserID, c.IP, c.UserAgent
		user = nil
	}

	// The values of the new record, in order: the kept values of base,
	// then Set, then new counters, then new lists. Incremented values live
	// in num (named by offsets, so that num can stay on the stack),
	// appended ones in their own allocation.
	var outBuf [8]pair
	out := outBuf[:0]
	var numBuf [64]byte
	num := numBuf[:0]
	for k, v := range base.All() {
		if _, set := c.Set[string(k)]; set || deleted(&c, k) {
			continue
		}
		p := pair{kb: k, v: v}
		if by, ok := c.Incr[string(k)]; ok {
			var err error
			if num, err = p.increment(num, by); err != nil {
				return nil, 0, fmt.Errorf("%w: key %q", err, string(k))
			}
		}
		out = append(out, p)
	}
	for k, v := range c.Set {
		p := pair{k: k, v: v}
		if by, ok := c.Incr[k]; ok {
			var err error
			if num, err = p.increment(num, by); err != nil {
				return nil, 0, fmt.Errorf("%w: key %q", err, k)
			}
		}
		out = append(out, p)
	}
	for k, by := range c.Incr {
		if kept(&c, base, k) {
			continue
		}
		p := pair{k: k}
		num, _ = p.increment(num, by) // a missing value counts as 0: no error
		out = append(out, p)
	}
	// Appends come after every increment, as in store.Merge (which
	// reports a bad counter before a bad list).
	if len(c.Push) > 0 {
		for i := range out {
			p := &out[i]
			if a, ok := c.Push[p.key()]; ok {
				v, err := store.AppendJSON(p.value(num), a.Values, a.Keep)
				if err != nil {
					return nil, 0, fmt.Errorf("%w: key %q", err, p.key())
				}
				p.v, p.num = v, false
			}
		}
		for k, a := range c.Push {
			if _, incr := c.Incr[k]; incr || kept(&c, base, k) {
				continue
			}
			v, err := store.AppendJSON(nil, a.Values, a.Keep)
			if err != nil {
				return nil, 0, fmt.Errorf("%w: key %q", err, k)
			}
			out = append(out, pair{k: k, v: v})
		}
	}

	size := 0
	n := headerLen + uvarintLen(len(out))
	if user != nil {
		n += len(user)
	} else {
		n += metaLen(&meta) - headerLen
	}
	for i := range out {
		kl, vl := len(out[i].k)+len(out[i].kb), len(out[i].value(num))
		size += kl + vl
		n += uvarintLen(kl) + kl + uvarintLen(vl) + vl
	}
	b := dst
	if cap(b)-len(b) < n {
		b = make([]byte, len(dst), len(dst)+n)
		copy(b, dst)
	}
	if user != nil {
		b = appendTimes(b, created, Nanos(now), expires)
		b = append(b, user...)
	} else {
		b = appendMeta(b, &meta, created, Nanos(now), expires)
	}
	b = binary.AppendUvarint(b, uint64(len(out)))
	for i := range out {
		if out[i].kb != nil {
			b = appendBytes(b, out[i].kb)
		} else {
			b = appendString(b, out[i].k)
		}
		b = appendBytes(b, out[i].value(num))
	}
	return b, size, nil
}

// pair is one value of a record being built: its key is k, or kb when the
// key comes from the old record; its value is v, or num[start:end] when num
// is set.
type pair struct {
	k          string
	kb         []byte
	v          []byte
	num        bool
	start, end int
}

func (p *pair) key() string {
	if p.kb != nil {
		return string(p.kb)
	}
	return p.k
}

func (p *pair) value(num []byte) []byte {
	if p.num {
		return num[p.start:p.end:p.end]
	}
	return p.v
}

// increment adds by to the pair's integer value, appending the sum to num,
// and returns num.
func (p *pair) increment(num []byte, by int64) ([]byte, error) {
	n, err := store.AddInt(p.value(num), by)
	if err != nil {
		return num, err
	}
	start := len(num)
	num = strconv.AppendInt(num, n, 10)
	p.num, p.start, p.end = true, start, len(num)
	return num, nil
}

// deleted reports whether c deletes k.
func deleted(c *store.Change, k []byte) bool {
	for _, d := range c.Delete {
		if d == string(k) {
			return true
		}
	}
	return false
}

// kept reports whether k is in the new record before the new counters and
// lists: set by c, or in base and not deleted.
func kept(c *store.Change, base Values, k string) bool {
	if _, set := c.Set[k]; set {
		return true
	}
	for _, d := range c.Delete {
		if d == k {
			return false
		}
	}
	_, in := base.Get(k)
	return in
}
