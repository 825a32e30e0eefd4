package memstore

import (
	"context"
	"log/slog"
	"time"

	"github.com/sesamego/sesame/store"
)

// evictSample is how many records eviction compares to pick one, as in
// Redis's approximated LRU: a random sample of 5 finds a record among the
// least recently written few percent.
const evictSample = 5

// eviction is what one write evicted: the number of sessions, the bound
// that made it necessary, and when the last of them was last written.
type eviction struct {
	n        int
	bound    string // "MaxMemory" or "MaxSessions"
	lastSeen int64  // Unix nanoseconds
}

// evict removes records from sh until it is within its bounds, never the
// one under keep (the record just written). Each victim is an expired
// record of a random sample, or else the sample's least recently written
// (created, changed or touched; a Load does not count). Expired records and
// tombstones are not counted as evicted sessions. sh.mu is held.
func (s *Store) evict(sh *shard, keep bkey, now time.Time) eviction {
	var ev eviction
	if !sh.over() {
		return ev
	}
	nowNanos := now.UnixNano()
	for sh.over() {
		if sh.memory > sh.maxMemory {
			ev.bound = "MaxMemory"
		} else {
			ev.bound = "MaxSessions"
		}
		var victim bkey
		var oldest int64
		found, expired, n := false, false, 0
		// Map iteration starts at a random place: the sample is random.
		for k, r := range sh.m {
			if k == keep {
				continue
			}
			if !r.LiveAt(nowNanos) {
				victim, found, expired = k, true, true
				break
			}
			if seen := r.LastSeenNanos(); !found || seen < oldest {
				victim, oldest, found = k, seen, true
			}
			if n++; n == evictSample {
				break
			}
		}
		if !found {
			break // only keep is left: a record as large as the shard
		}
		r := sh.m[victim]
		if !expired {
			if _, tomb := r.Values().Get(store.GoneField); !tomb {
				ev.n++
				ev.lastSeen = oldest
			}
		}
		sh.remove(victim, r)
	}
	return ev
}

// OnEvict registers fn to be called after a write evicted n sessions to stay
// within the store's bounds, with the context of that write (Apply or
// Rename), once the store's locks are released. sesame's Manager registers
// itself, and reports each call as an EventEvicted to Config.OnEvent (and so
// to the metrics). fn must be fast and safe for concurrent use; the store
// keeps it for its lifetime.
func (s *Store) OnEvict(fn func(ctx context.Context, n int)) {
	if fn == nil {
		return
	}
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	var hooks []func(context.Context, int)
	if p := s.hooks.Load(); p != nil {
		hooks = append(hooks, *p...)
	}
	hooks = append(hooks, fn)
	s.hooks.Store(&hooks)
}

// report counts what a write evicted, calls the OnEvict functions and warns,
// at most once a minute, that the store is full. No lock is held.
func (s *Store) report(ctx context.Context, ev eviction) {
	if ev.n == 0 {
		return
	}
	s.evicted.Add(uint64(ev.n))
	if p := s.hooks.Load(); p != nil {
		for _, fn := range *p {
			fn(ctx, ev.n)
		}
	}
	s.unwarned.Add(uint64(ev.n))
	now := s.now()
	last := s.lastWarn.Load()
	if last != 0 && now.UnixNano()-last < int64(warnInterval) {
		return
	}
	if !s.lastWarn.CompareAndSwap(last, now.UnixNano()) {
		return // another write warns
	}
	n := s.unwarned.Swap(0)
	logger := s.logger
	if logger == nil {
		logger = slog.Default()
	}
	attrs := []slog.Attr{
		slog.Uint64("evicted", n),
		slog.String("bound", ev.bound),
		slog.Int64("max_memory", s.maxMemory),
		slog.Int("max_sessions", s.maxSessions),
		slog.Duration("last_written_ago", now.Sub(time.Unix(0, ev.lastSeen)).Round(time.Second)),
	}
	logger.LogAttrs(ctx, slog.LevelWarn,
		"memstore: full: evicting the least recently written sessions; raise Options.MaxMemory or Options.MaxSessions", attrs...)
}
