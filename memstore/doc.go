// Package memstore keeps sesame sessions in the memory of one process.
//
// It is sesame's default store: nothing to set up, the fastest of all, and
// gone when the process exits. Use it for development, tests and apps that
// run as a single process; use a shared store (SQL, Redis) when several
// processes serve the same users.
//
//	s := memstore.New()
//	stop := s.StartPruner(time.Minute)
//	defer stop()
//
// # Bounded memory
//
// A session flood (a crawler, an attacker, a login form posting huge inputs)
// must not exhaust memory, so the store is bounded: by the memory its records
// take ([Options.MaxMemory], default 256 MiB) and, if set, by their number
// ([Options.MaxSessions], no bound by default). One record is at most
// [Options.MaxRecordSize] (default [store.DefaultMaxRecordSize]); a bigger one
// is refused with [store.ErrTooLarge].
//
// Each record is kept as one allocation holding its times, user and values
// (an idle session of three small values takes about 150 bytes with its
// place in the store), which the garbage collector does not need to scan, so
// a store of millions of sessions costs little garbage-collection time. The
// default 256 MiB holds about 1.8 million sessions of three small values, or
// 180,000 sessions of 1.3 KiB; sesame stores a session only once something
// is put in it, so crawlers cost nothing. Lower MaxMemory on small machines.
//
// # Eviction is never silent
//
// When a write would go past a bound, the store evicts records of the shard
// being written: an expired one if it finds one, or else the least recently
// written (created, changed or touched; a Load does not count) of a random
// sample of five, as Redis does, which picks among the oldest few percent
// without the memory of an exact order. A request whose session was evicted
// finds no session, as if it had expired. Every eviction of a session is
//   - counted in [Stats].Evicted;
//   - passed to the functions registered with [Store.OnEvict]: sesame's
//     Manager registers itself and reports an EventEvicted to its OnEvent
//     hook, which the metrics module counts;
//   - logged: a warning at the first eviction, then at most once a minute
//     with the count since, to [Options.Logger].
//
// The records live in up to 64 shards, each with its own lock and its own
// share of both bounds. For small bounds the store uses fewer shards, so
// that each holds a few hundred sessions and the largest record.
//
// # Expiry and pruning
//
// An expired record is never returned, but it occupies memory until it is
// pruned or evicted. [Store.Prune] removes expired records (and expired
// locks); [Store.StartPruner] runs it periodically in a goroutine that
// starts when called and stops when the returned function is called. New
// starts no goroutine.
//
// # Capabilities
//
// Store implements [store.Store], [store.Pruner], [store.Lister],
// [store.UserIndex] (an index per user kept up to date by every write,
// delete, eviction and prune), [store.Renamer], [store.Locker] (locks held
// in this process only, like the records) and [store.Taker]. Values are copied in and out, so
// neither the caller's change nor a loaded record shares memory with the
// store.
package memstore
