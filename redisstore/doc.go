// Package redisstore keeps sesame sessions in Redis: a single node, a
// Sentinel-managed primary, or a Redis Cluster, through go-redis's
// [redis.UniversalClient].
//
// It implements [store.Store] and every optional capability: [store.Pruner],
// [store.Lister], [store.UserIndex] (sessions of a user, "log out other
// devices", in a Cluster too), [store.Renamer], [store.Locker] and
// [store.Taker], and it keeps remember-me tokens too ([store.TokenStore]).
//
// # Single node
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	st, err := redisstore.New(client, redisstore.Options{})
//	if err != nil { ... }
//	m, err := sesame.New(sesame.Config{Store: st})
//
// or, for a URL in the app's configuration (the Store then owns the client,
// and Close closes it):
//
//	st, err := redisstore.Open("redis://:password@127.0.0.1:6379/0", redisstore.Options{})
//
// # Cluster
//
//	client := redis.NewClusterClient(&redis.ClusterOptions{
//		Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"},
//	})
//	st, err := redisstore.New(client, redisstore.Options{})
//
// or redisstore.Open("redis+cluster://10.0.0.1:7000,10.0.0.2:7000"). Sentinel
// is redis.NewFailoverClient, or a redis+sentinel URL (see [NewClient]).
//
// # Key layout
//
// With the default prefix "sesame:", a session whose ID hashes to the store
// key K (see [store.Key]) is one Redis hash, "sesame:s:K", with a TTL:
//
//	v:<name>  the JSON value stored under name, gzip-compressed when longer
//	          than Options.CompressThreshold (a gzip stream cannot start a JSON
//	          text, so its magic bytes tell them apart; a value that starts
//	          with those bytes anyway is always stored compressed)
//	_c _s _e  created, last seen and expires, as decimal Unix nanoseconds
//	_u _ip _ua  user ID, IP and user agent (absent when empty)
//	_n        the record's size as [store.Size] counts it, before compression
//	_x        how far the user index covers this record (Unix ms)
//	_m        only while a Cluster rename moves the record away
//	_i        the change ID of the create that made an anonymous session,
//	          until its first update (see "Retries and change identities")
//
// Besides records there are user indexes, "sesame:u:<user ID>" (a sorted set,
// below), locks, "sesame:l:K" (a string holding the lock's token), and
// remember-me tokens, "sesame:t:<selector>" (a hash with a TTL) with their
// per-user index "sesame:tu:<user ID>" (a sorted set of selectors scored by
// expiry, written before the token, like the session index).
//
// Change markers remember, for [store.RetryWindow] (a minute), which change
// sets ([store.Change.ID]) and takes were applied; see "Retries and change
// identities" below. Each lives in the hash slot of its record: for the
// record "sesame:s:K" the marker of change ID I is "{sesame:s:K}:c:I" (a take:
// "{sesame:s:K}:t:I", holding the value taken), the record's key being the
// marker's hash tag. With a prefix that carries its own hash tag, such as
// "{app}:", markers are "{app}:c:K:I" and "{app}:t:K:I" instead. In a Cluster
// a prefix holding a "}" outside a hash tag is refused by [New], since no
// marker could then share its record's slot. Every write with a change ID
// adds one marker key, of about 100 bytes, for a minute, except the create
// of an anonymous session, which keeps its ID in the record.
//
// # Loads and changes
//
// Load is one HGETALL. A record whose expiry has passed by this process's
// clock is reported missing even while Redis still holds it, so a Redis
// server whose clock runs behind never revives a session.
//
// Apply is one Lua script (EVALSHA, falling back to EVAL), so a change set is
// atomic and costs one round trip. Field names and the user ID are checked
// first ([store.CheckChange], [store.ErrInvalid]), without I/O. Everything
// that does not depend on the stored record is then worked out in Go: the
// values the change sets, deletes or clears (a create clears them all), and
// increments and pushes onto them ([store.AddInt], [store.AppendJSON]). The
// script reads what it needs of the record in one HMGET (the metadata, and
// the values the change replaces, increments or appends to), checks
// everything: that the record is live (or, for a create, that it is not),
// that every increment applies to a JSON integer and stays within int64
// (with the rules of [store.AddInt]), and that the resulting record stays
// within Options.MaxRecordSize, and reports the first failure in the order
// of [store.Merge] (ErrNotFound or ErrExists, then ErrNotNumber, then
// ErrNotList, then ErrTooLarge), errors found in Go included. Only then does
// it write, in one HSET (and an HDEL for removed keys, a PEXPIRE for a new
// expiry), so a failed change leaves the record exactly as it was.
//
// A plain update (no create, no Clear, no change of user, no push: the
// common request that sets or increments a few values and touches the
// expiry) runs a leaner script instead, with fewer arguments (the shape of
// the change packed in one, the size limit in the script's text) and none
// of the general script's decoding, closures or pcall: for an increment and
// a touch it costs Redis about a third fewer instructions (callgrind, Redis
// 7.0, a small record: 87k instead of 131k per call). It makes the same checks, reports the
// same errors in the same order, and writes exactly what the general script
// would. What is outside its easy case (an increment of a stored value
// longer than 15 characters, a record from before _n, a user index horizon
// (_x) that is not a plain number) makes it answer, before it has taken the
// change's marker or written anything, that the general script must run,
// and Apply runs that: one more round trip, for those changes only. When it
// finds the user index behind, Apply extends the index and runs the general
// script.
//
// The size checked is [store.Size] of the record the change would produce:
// the lengths of the names and of the values before compression. The script
// keeps that total in _n, adjusting it by the fields the change touches (for
// a compressed value it reads the uncompressed length from the gzip
// trailer), so the check costs nothing for large records.
//
// Expiry is Redis's: each write that moves the expiry sets the TTL with
// PEXPIRE, computed from this process's clock (a relative TTL does not care
// how far the Redis server's clock is from this host's), and Redis drops the
// record when it runs out. Whether a record is live is always decided by this
// process's clock, never by the time a change carries ([store.Change.Now]).
// A change that would leave the record already expired deletes it.
//
// # Lists
//
// [store.Change.Push] appends to the JSON array stored under a key inside
// the apply script, with the result of [store.AppendJSON] byte for byte. A
// compact array (no white space) is appended to without being parsed, at
// the cost of one string copy; an array with white space, or a push with
// Keep, is split into its elements with string.find jumps from one
// structural character to the next. The script assumes the stored value is
// valid JSON, as everything sesame stores is; a stored value that is not an
// array fails the change with [store.ErrNotList], naming the key, and
// nothing of it is applied. A value the script appended to is stored
// uncompressed, whatever its length, so the next push stays in the script
// (a push onto a value the same change sets is done in Go, and stored like
// any set value).
// A push onto a value stored compressed (one that was set above
// Options.CompressThreshold) makes the script reply that it needs the value
// inflated: Apply reads it, inflates it, and runs the script again with it
// and the SHA-1 of the compressed form, which the script checks against the
// stored value before appending (a value changed meanwhile is asked for
// again). The change stays one atomic script run; it costs two more round
// trips, once.
//
// # Sessions of a user
//
// Each user has a sorted set, "sesame:u:<user ID>", of the keys of their
// sessions, each scored by a horizon: a time (Unix ms) no earlier than that
// session's expiry. A record's hash remembers its horizon (_x), and the apply
// script refuses to write a record of a user whose expiry would pass its
// horizon: it replies with a request to extend the index instead, which
// Apply does (one more round trip) before running the script again. When a
// change logs a session in, Apply writes the index entry first. So every live
// session of a user is in the user's index with a score at or after its
// expiry, entries whose score has passed belong to dead sessions, and the
// index prunes them (and expires itself) on each write. The horizon is the
// expiry plus the session's remaining lifetime (one minute to one week), so a
// session that stays active needs its entry extended about once per idle
// timeout.
//
// In a Cluster a user's index and their sessions hash to different slots, so
// no single script can update both. Writing the index first makes an index
// entry a hint that may be stale (the session was deleted, expired, or moved
// to another user), never a session missing from its user's index.
// [Store.UserSessions] reads the index and then the metadata of every session
// it names in one pipeline (one batch per node, sent concurrently), and
// keeps only the live sessions that still belong to the user.
// [Store.DeleteUserSessions] deletes each one with a script that checks the
// session still belongs to the user. A login that runs concurrently with
// DeleteUserSessions may survive it, as if it had come just after.
//
// # Regenerating IDs
//
// On a single node (or Sentinel), [Store.Rename] is one script over both keys.
// In a Cluster the two keys live in different slots, so Rename marks the old
// record as moving (from then on it loads as missing and takes no changes),
// creates the new one, and deletes the old one; see [Store.Rename] for what
// happens when a step fails.
//
// # Retries and change identities
//
// go-redis sends a command again after a network error (MaxRetries, 3 by
// default), and a connection cut after a request reached Redis leaves the
// client unable to tell whether it ran. So every call that changes a
// record is made safe to repeat:
//
//   - Apply and Rename with a [store.Change.ID]: the apply script reads the
//     record, then takes the change's marker (SET ... NX PX one minute);
//     when the marker exists the change was applied before, and the script
//     answers "OK" and changes nothing. Every reply that does not apply the
//     change (an error, or a request for an index entry or an inflated
//     value) deletes the marker again, and so does a runtime error in the
//     script (the lean script of plain updates works out its reply before
//     it takes the marker, so nothing can fail in between), so a change
//     that failed (ErrNotNumber, say) fails again when repeated. The create of an anonymous session (no user, an expiry
//     beyond [store.RetryWindow]) keeps its change ID in the record instead
//     (_i), and a repeat that finds the record live with its ID answers
//     "OK": this needs nobody else to delete the record while the create
//     may be repeated, that is while its Apply runs, which holds for a new
//     random session key that only its creator knows; a user's session,
//     which another device may delete, uses a marker. The first update
//     removes _i. A Cluster rename marks
//     the old record as moving to the new key; a repeat of that step returns
//     the record again, the new record is created under the change ID, and
//     deleting the old record writes the marker in its slot, so a repeated
//     Rename answers nil instead of [store.ErrNotFound].
//   - Take with an id keeps the value it took under its marker, and a repeat
//     returns that value instead of taking again.
//   - TryLock is a script that answers true when the lock already holds the
//     caller's token.
//
// When a call fails with a network error after its request may have been
// sent (a cut connection, a read timeout), the store sends it again, with
// the same identity, with pauses growing from 1 ms to 100 ms, until a reply
// comes or the context ends; only then does it return an error wrapping
// [store.ErrOutcomeUnknown] (which wraps [store.ErrUnavailable], the client's
// error and the context's). A change without an ID is not sent again by the
// store: its error wraps ErrOutcomeUnknown at once (go-redis's own retry may
// still apply it twice). Errors that prove nothing was sent (a failed dial,
// a pool timeout, a closed client) and server refusals (READONLY, LOADING,
// CLUSTERDOWN, ...) on a first attempt are plain ErrUnavailable at once.
// go-redis reports only the last of its own attempts: a request that reached
// Redis on its first attempt and whose retry then failed to dial (Redis went
// down in between) is reported as a dial failure. Set MaxRetries: -1 on the
// client to leave every retry to the store, which then knows exactly what
// was sent.
//
// # Auto-pipelining
//
// With Options.AutoPipeline, Load and Apply send their commands through
// go-redis's auto-pipeliner (EXPERIMENTAL in go-redis v9.22): the commands
// of concurrent requests go out in one write and come back in one read, on
// one connection. A Redis server spends most of its time per request of a
// busy app in system calls, not in the commands, so this cuts its CPU per
// request several times over. Failures and retries are as above: a batch
// cut by a network error fails each of its commands as an unknown outcome,
// and the store resends each with its change identity.
//
// # Failures
//
// Errors of the Redis client wrap [store.ErrUnavailable] and the client's own
// error, so errors.Is finds both (sesame answers 503); a context done before
// a call makes it return the context's error. go-redis retries failed dials
// and commands by default, which with its defaults holds a request for about
// two seconds when Redis is down; set DialTimeout, DialerRetries and
// MaxRetries on the client to fail faster.
package redisstore
