package sesame

import "sync"

// counters maps keys to amounts: the increments of a change set. The first
// lives in the struct itself, so a request that counts one thing (the common
// case) builds no map. The zero counters is empty.
type counters struct {
	n    int // entries in k and v
	k    [1]string
	v    [1]int64
	more map[string]int64 // beyond the first
}

func (c *counters) len() int { return c.n + len(c.more) }

func (c *counters) get(key string) (int64, bool) {
	for i := range c.n {
		if c.k[i] == key {
			return c.v[i], true
		}
	}
	v, ok := c.more[key]
	return v, ok
}

// add adds by to key's amount (a missing key counts as 0).
func (c *counters) add(key string, by int64) {
	for i := range c.n {
		if c.k[i] == key {
			c.v[i] += by
			return
		}
	}
	if _, ok := c.more[key]; ok {
		c.more[key] += by
		return
	}
	if c.n < len(c.k) {
		c.k[c.n], c.v[c.n] = key, by
		c.n++
		return
	}
	if c.more == nil {
		c.more = make(map[string]int64)
	}
	c.more[key] = by
}

func (c *counters) remove(key string) {
	for i := range c.n {
		if c.k[i] == key {
			last := c.n - 1
			c.k[i], c.v[i] = c.k[last], c.v[last]
			c.k[last], c.v[last] = "", 0
			c.n--
			return
		}
	}
	delete(c.more, key)
}

// each calls fn for every key and amount.
func (c *counters) each(fn func(key string, by int64)) {
	for i := range c.n {
		fn(c.k[i], c.v[i])
	}
	for k, v := range c.more {
		fn(k, v)
	}
}

// fill puts every key and amount into m and returns it, or a new map when
// m is nil; nil when there are none.
func (c *counters) fill(m map[string]int64) map[string]int64 {
	if c.len() == 0 {
		return nil
	}
	if m == nil {
		m = make(map[string]int64, c.len())
	}
	c.each(func(k string, v int64) { m[k] = v })
	return m
}

// incrMaps holds the maps that carry a commit's increments to a flat store
// (memstore), which reads them during Apply and keeps nothing of them: a
// commit borrows one and gives it back.
var incrMaps = sync.Pool{New: func() any { return make(map[string]int64, 2) }}

// incrMap returns s's pending increments as the map a store.Change carries,
// borrowed from incrMaps for a flat store: give it back with releaseIncr
// once the store has applied the change. s.mu is held.
func (s *Session) incrMap() map[string]int64 {
	switch {
	case s.incr.len() == 0:
		return nil
	case s.m.flat == nil:
		return s.incr.fill(nil)
	}
	return s.incr.fill(incrMaps.Get().(map[string]int64))
}

// releaseIncr gives back a map from incrMap, emptied.
func (s *Session) releaseIncr(m map[string]int64) {
	if m != nil && s.m.flat != nil {
		clear(m)
		incrMaps.Put(m)
	}
}
