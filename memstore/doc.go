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
// must not exhaust memory, so the store is bounded twice: by the number of
// records ([Options.MaxRecords], default 100,000) and by the total size of
// their values ([Options.MaxBytes], default 128 MiB). When a write would go
// past either bound, the store evicts the records written least recently
// (created, changed or touched; a Load does not count) and counts them in
// [Stats].Evicted. A request whose session was evicted finds no session, as if
// it had expired. One record is at most [Options.MaxRecordSize] (default
// [store.DefaultMaxRecordSize]); a bigger one is refused with
// [store.ErrTooLarge].
//
// The records live in up to 64 shards, each with its own lock and its own
// share of both bounds, so eviction picks the least recently written record
// of the shard being written, which for the uniformly spread keys sesame uses
// is close to the least recently written record overall.
//
// The defaults size the store for 100,000 sessions averaging 1.3 KiB of
// values, enough for a busy single-process site (sesame stores a session
// only once something is put in it, so crawlers cost nothing). With the
// bookkeeping of a record (about 700 bytes besides its values) the store then
// stays under about 200 MiB. Lower the bounds on small machines.
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
