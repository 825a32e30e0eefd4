// Package storetest is the conformance suite for sesame session stores.
//
// A store is only as good as the rules it keeps: a change set merges onto the
// latest record, an expired record is never returned, a deleted record is
// never resurrected, concurrent writers never lose each other's keys. These
// rules are written once, here, and every store in sesame (memory, file, SQL,
// Redis) runs the same tests, so a store that passes behaves like every other
// store in every way sesame relies on.
//
// # Using the suite
//
// Call [Run] from a test in the store's package with a function that returns
// a fresh store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := filestore.New(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The store may be backed by a shared server (one Redis, one PostgreSQL
// database): the suite writes only under fresh random keys (see [NewKey]) and
// fresh user IDs, never lists or deletes what it did not write, and never
// asserts that a store is otherwise empty. It does not call t.Parallel, so the
// subtests of one Run go one after another.
//
// Optional capabilities ([store.Pruner], [store.Lister], [store.UserIndex],
// [store.Renamer], [store.Locker], [store.Taker]) are found by type assertion
// and tested when present; a missing one is reported as a skipped subtest, so "go test -v"
// shows what a store does not do.
//
// A store with a size limit other than [store.DefaultMaxRecordSize], or with
// native expiry (Redis), says so with [RunWith] and [Options].
//
// # What the suite checks
//
//   - Round trips: values and metadata come back exactly, values byte for
//     byte (white space, escapes, number spellings, unicode and NUL-escaped
//     strings, values close to 1 MB); a missing key loads nothing; a malformed
//     key (short, upper-case, a path, NUL, 1 KB) is refused with
//     [store.ErrMalformedKey] by every method; neither the caller's change
//     nor a loaded record shares memory with the store.
//   - Change sets: set, delete, clear, increment and their combinations merge
//     onto the latest record; an increment of a non-integer fails the whole
//     change with [store.ErrNotNumber]; touches and user changes; Created is
//     kept and LastSeen follows [store.Change.Now].
//   - Create and update: [store.ErrExists] over a live record,
//     [store.ErrNotFound] without one (and nothing stored), a create over an
//     expired record starts afresh.
//   - Concurrency: 100 goroutines setting distinct keys of one session all
//     survive; 100 concurrent increments add up to exactly 100.
//   - No resurrection after Delete; expired records are never returned nor
//     changed, whatever clock the caller's change carries; deleting a missing
//     record is not an error.
//   - A record over the size limit is refused with [store.ErrTooLarge] and the
//     stored one kept.
//   - A cancelled or expired context makes Load, Apply and Delete return
//     promptly with an error wrapping the context's error, and changes
//     nothing.
//   - Lists: [store.Change.Push] appends atomically (50 concurrent pushes
//     leave 50 elements), keeps the last Keep elements, and refuses a value
//     that is not a JSON array with [store.ErrNotList], applying nothing.
//   - Input: field names and user IDs outside [store.CheckField] and
//     [store.CheckUserID] are refused with [store.ErrInvalid], never as a
//     store failure.
//   - Tombstones ([store.GoneField]): a tombstone loads, but updates,
//     touches and renames treat it as missing.
//   - Change identities, for stores that declare
//     [Options.IdempotentChanges]: an update, create, rename or take that
//     arrives twice under one ID takes effect once and answers as the first
//     did; TryLock under the holder's token succeeds.
//   - Each optional capability, by its documented contract.
//
// # Fault injection
//
// A store reached over a network must also keep its promises when the
// network does not: [Proxy] is a loopback TCP proxy that cuts a client's
// connections before a request, after it, or after the reply; [Hammer]
// applies concurrent change sets through such a store (or while connections
// are killed, [HammerOptions.During]) and reports any change lost, applied
// twice, or reported failed although it was applied; [HammerTakes] and
// [HammerLocks] do the same for flash takes and locks. The Redis and SQL
// stores run them against real servers.
//
// Times are compared to the millisecond, so a store must keep at least that
// precision.
//
// Stores of remember-me tokens ([store.TokenStore]) have their own suite,
// [RunTokens].
//
// # Benchmarks
//
// [RunBenchmarks] measures Load, Apply, increments and creates the same way
// for every store, so their numbers can be compared:
//
//	func BenchmarkStore(b *testing.B) {
//		storetest.RunBenchmarks(b, func(b *testing.B) store.Store { return memstore.New() })
//	}
package storetest
