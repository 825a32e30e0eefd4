// Package store defines the contract between sesame and the places sessions live.
//
// A [Store] persists [Record]s under a key. The key is never the session ID that
// travels in a cookie: sesame passes the hex SHA-256 of the ID (see [Key]), so a
// dump of a store yields no usable cookies. A key is always 64 lower-case hex
// characters; a store may reject anything else with [ErrMalformedKey].
//
// # Change sets, not blobs
//
// Peers load a whole session and write the whole blob back, which loses one of
// two concurrent requests' writes. A sesame store instead applies a [Change]: the
// keys set, the keys deleted, the counters incremented and whether the values
// were cleared, atomically on top of the latest stored record. [Merge] is the
// reference implementation of that rule; stores that hold records in memory or
// in files call it directly, and the SQL and Redis stores implement the same
// rule in the engine.
//
// # Optional capabilities
//
// Some stores can do more. Each extra capability is a one-method or two-method
// interface found by type assertion: [Pruner], [Lister], [UserIndex], [Renamer],
// [Locker] and [Taker].
//
// # Wrapping a store
//
// [Wrap] puts a [Wrapper] (a tracer, a meter, a logger, a fault injector)
// around every call to a store and keeps exactly the store's optional
// interfaces, which a struct that embeds a Store would hide.
//
// This package imports nothing of sesame, so every store driver and the
// conformance suite (package storetest) depend on it alone.
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Errors a store returns. Callers test for them with [errors.Is]; stores wrap
// them with context using %w.
var (
	// ErrNotFound is returned by [Store.Apply] when the change is not a create
	// and no live record exists under the key: the change is dropped, so a slow
	// request can never resurrect a session that was destroyed or regenerated.
	ErrNotFound = errors.New("store: record not found")

	// ErrExists is returned by [Store.Apply] when the change is a create and a
	// live record already exists under the key, and by [Renamer.Rename] when
	// the new key is taken.
	ErrExists = errors.New("store: record already exists")

	// ErrNotNumber is returned by [Store.Apply] when a change increments a
	// value that is stored but is not an integer. Nothing of the change is
	// applied.
	ErrNotNumber = errors.New("store: value is not an integer")

	// ErrMalformedKey is returned when a key is not 64 lower-case hex
	// characters. Stores check it before any I/O.
	ErrMalformedKey = errors.New("store: malformed key")

	// ErrTooLarge is returned by [Store.Apply] when the record that the change
	// would produce is over the store's size limit. The stored record is kept
	// as it was.
	ErrTooLarge = errors.New("store: record too large")

	// ErrUnavailable marks a failure of the backing service (network, disk,
	// database). sesame turns it into a 503-class response. Stores wrap the
	// driver's error with it so that both are visible to errors.Is.
	ErrUnavailable = errors.New("store: unavailable")

	// ErrOutcomeUnknown is returned by a call that changes a record (Apply,
	// Rename, Take, TryLock) when the store could not find out whether the
	// change took effect: the request reached the server, no answer came
	// back, and asking again failed until the context ended. It wraps
	// ErrUnavailable. A store never returns it for a change it knows was
	// applied (that is a success) or knows was not (that is ErrUnavailable).
	ErrOutcomeUnknown = fmt.Errorf("store: outcome unknown: %w", ErrUnavailable)

	// ErrNotList is returned by [Store.Apply] when a change appends to a
	// value ([Change.Push]) that is stored but is not a JSON array. Nothing
	// of the change is applied.
	ErrNotList = errors.New("store: value is not a list")

	// ErrInvalid is returned when a change carries input no store accepts: a
	// field name or user ID outside the limits of [CheckField] and
	// [CheckUserID]. It is the caller's mistake, not a failure of the store,
	// and nothing is written.
	ErrInvalid = errors.New("store: invalid input")
)

// GoneField is the field that marks a tombstone: the record sesame leaves
// under a session ID that Destroy or Regenerate ended, for a minute, so that
// requests still carrying that ID can tell it from an unknown one. Load
// returns a tombstone like any live record, but an update (Apply without
// Create) and Rename treat it as missing and return ErrNotFound, so that a
// slow request cannot write into a session that has ended; a create over it
// returns ErrExists. [Merge] implements the rule.
const GoneField = "__gone"

// RetryWindow is how long a store that can receive a change twice keeps the
// identity of a change it applied ([Change.ID]), at least. A retry of the same
// change within the window is recognised and not applied again. sesame bounds
// every store call by its StoreTimeout (5 s by default), far inside it.
const RetryWindow = time.Minute

// Store persists session records. Implementations must be safe for concurrent
// use by many goroutines (and, for shared stores, many processes).
//
// Expiry is authoritative in the store: a record whose Expires is not after
// the store's current time is never returned by Load, is treated as missing
// by Apply, and may be removed at any time.
type Store interface {
	// Load returns the live record stored under key. A missing or expired
	// record returns ok == false and a nil error. A malformed key returns
	// ErrMalformedKey without I/O. Any other failure is an error wrapping
	// ErrUnavailable (or the context's error when ctx is done).
	Load(ctx context.Context, key string) (rec Record, ok bool, err error)

	// Apply applies c atomically to the live record under key: either all of
	// c takes effect or none of it does.
	//
	// When c.Create is true and no live record exists, Apply creates one from
	// c (an expired record under the key is replaced); when one exists it
	// returns ErrExists. When c.Create is false and no live record exists,
	// Apply returns ErrNotFound and stores nothing.
	Apply(ctx context.Context, key string, c Change) error

	// Delete removes the record under key. A missing record is not an error.
	Delete(ctx context.Context, key string) error
}

// Record is one stored session. Stores keep its times to at least millisecond
// precision; the times they return may be in any location (compare them with
// [time.Time.Equal]).
type Record struct {
	// Values maps each session key to its JSON encoding. Stores return
	// values exactly as they were set; an incremented value is the decimal
	// integer, which is also its JSON encoding.
	Values map[string][]byte

	// Created is when the session was first stored. Stores keep it across
	// changes; sesame uses it for the absolute lifetime.
	Created time.Time

	// LastSeen is when the session was last written or touched.
	LastSeen time.Time

	// Expires is when the store forgets the record.
	Expires time.Time

	// UserID is the user the session belongs to, or "" for none. Stores with
	// a [UserIndex] index it.
	UserID string

	// IP and UserAgent describe the client at login (or creation), for the
	// devices list and anomaly detection.
	IP        string
	UserAgent string
}

// Change is a change set: what one request did to a session. Its zero value
// changes nothing and is a valid update (Apply then only checks that the
// record exists).
//
// Apply applies the parts in this order: Clear, Delete, Set, Incr, Push, then
// the metadata. A key that appears in both Set and Incr is set, then
// incremented; one in Set and Push is set, then appended to.
type Change struct {
	// ID identifies this change set, so that a store can recognise it if it
	// arrives twice: a driver that re-sends a command after a lost reply, or
	// the store's own retry after a cut connection. A store whose calls can
	// be retried over a network records the IDs it applied for at least
	// [RetryWindow] and answers a change it has already applied with the
	// original success, changing nothing. Empty means the change has no
	// identity (in-process stores, which never see a change twice, may
	// ignore it). sesame sets a fresh random ID for every commit; see
	// [NewChangeID].
	ID string

	// Create asks Apply to create the record; see [Store.Apply].
	Create bool

	// Clear removes every value before Set and Incr are applied.
	Clear bool

	// Delete lists the keys to remove.
	Delete []string

	// Set maps keys to their new JSON encodings.
	Set map[string][]byte

	// Incr maps keys to the amount to add to their integer value. A missing
	// key counts as 0; a value that is not an integer fails the whole
	// change with ErrNotNumber.
	Incr map[string]int64

	// Push maps keys to elements to append to the JSON array under each key
	// (after Set and Incr). A missing key counts as an empty array; a value
	// that is not a JSON array fails the whole change with ErrNotList. See
	// [Append] and [AppendJSON].
	Push map[string]Append

	// Expires, when not zero, replaces the record's expiry (a touch).
	Expires time.Time

	// Now is the time of the change. It sets LastSeen, and Created on create.
	// Zero means the store's clock. It never decides whether the record is
	// live: the store's clock does (see [Merge]).
	Now time.Time

	// Created, when not zero on a create, is the record's creation time
	// instead of Now. sesame uses it to carry a session's age across an ID
	// regeneration. It is ignored on updates.
	Created time.Time

	// SetUser, when true, replaces UserID, IP and UserAgent with the values
	// below (an empty UserID detaches the session from its user).
	SetUser   bool
	UserID    string
	IP        string
	UserAgent string
}

// Append is what a change appends to one JSON array: [Change.Push].
type Append struct {
	// Values are the JSON encodings of the elements to append, in order.
	Values [][]byte

	// Keep, when positive, keeps only the last Keep elements of the array
	// after appending (the oldest are dropped), so a log cannot grow without
	// bound. Zero keeps every element.
	Keep int
}

// Empty reports whether c changes no value and no metadata.
func (c *Change) Empty() bool {
	return !c.Create && !c.Clear && len(c.Delete) == 0 && len(c.Set) == 0 &&
		len(c.Incr) == 0 && len(c.Push) == 0 && c.Expires.IsZero() && !c.SetUser
}

// NewChangeID returns a fresh random change identity for [Change.ID]: 128
// bits from crypto/rand, as 22 base64url characters.
func NewChangeID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Key returns the store key for a session ID: the lower-case hex SHA-256 of
// the ID. Stores never see the ID itself.
func Key(id string) string {
	var sum [sha256.Size]byte
	if len(id) <= 64 {
		// Hash a stack copy: converting a string of over 32 bytes (a
		// session ID has 43) to []byte would allocate.
		var b [64]byte
		n := copy(b[:], id)
		sum = sha256.Sum256(b[:n])
	} else {
		sum = sha256.Sum256([]byte(id))
	}
	var buf [2 * sha256.Size]byte
	hexEncode(&buf, &sum)
	return string(buf[:])
}

// hexEncode is hex.Encode of a key, four bytes at a time: each nibble is
// spread into a byte of a uint64 and turned into its digit with arithmetic
// on all eight at once.
func hexEncode(dst *[2 * sha256.Size]byte, src *[sha256.Size]byte) {
	for i := 0; i < len(src); i += 4 {
		v := uint64(binary.BigEndian.Uint32(src[i:]))
		v = (v | v<<16) & 0x0000ffff0000ffff
		v = (v | v<<8) & 0x00ff00ff00ff00ff
		v = (v | v<<4) & 0x0f0f0f0f0f0f0f0f
		// 1 in each byte whose nibble is 10 or more: it gets 'a'-10, the
		// others '0'.
		letters := ((v + 0x0606060606060606) >> 4) & 0x0101010101010101
		v += 0x3030303030303030 + letters*('a'-'0'-10)
		binary.BigEndian.PutUint64(dst[2*i:], v)
	}
}

// ValidKey reports whether key has the form [Key] produces: 64 lower-case hex
// characters. Every store checks it before I/O, so a key can never name a path
// outside a file store's directory or a foreign Redis key.
func ValidKey(key string) bool {
	if len(key) != 64 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Entry is a record with its key, as listed by [Lister] and [UserIndex].
type Entry struct {
	Key    string
	Record Record
}

// Pruner is implemented by stores that can delete expired records in bulk.
// Stores with native expiry (Redis) may implement it as a no-op that returns 0.
type Pruner interface {
	// Prune deletes expired records and returns how many it deleted. It
	// works in bounded batches, so it never holds a long lock, and returns
	// early with ctx's error when ctx is done.
	Prune(ctx context.Context) (int, error)
}

// Lister is implemented by stores that can enumerate their live records.
type Lister interface {
	// List calls fn for every live record, in no particular order, until fn
	// returns an error (which List returns; use [ErrStop] to stop early
	// without an error) or the records run out. Records created or deleted
	// while List runs may or may not be seen.
	List(ctx context.Context, fn func(Entry) error) error
}

// ErrStop may be returned by a [Lister.List] callback to stop listing; List then
// returns nil.
var ErrStop = errors.New("store: stop listing")

// UserIndex is implemented by stores that index records by [Record.UserID],
// for "sessions of a user" and "log out other devices".
type UserIndex interface {
	// UserSessions returns the live records of userID, without their values
	// (Record.Values is nil). An unknown user has none, and so has the empty
	// userID: records without a user are never listed here.
	UserSessions(ctx context.Context, userID string) ([]Entry, error)

	// DeleteUserSessions deletes every record of userID except the one under
	// the key except ("" keeps none) and returns how many it deleted (expired
	// records it removed on the way may or may not be counted).
	// The empty userID deletes nothing (it never means "every anonymous
	// session"). A non-empty except that is not a valid key returns
	// ErrMalformedKey and deletes nothing, so a caller's mistake cannot log
	// out the current session too.
	DeleteUserSessions(ctx context.Context, userID, except string) (int, error)
}

// Renamer is implemented by stores that can move a record to a new key
// atomically, which sesame uses to regenerate a session ID.
type Renamer interface {
	// Rename applies c to the live record under oldKey and moves the result to
	// newKey, in one atomic step: afterwards oldKey loads nothing. It returns
	// ErrNotFound when no live record is under oldKey and ErrExists when
	// newKey is taken; in both cases nothing changes. c.Create is ignored.
	Rename(ctx context.Context, oldKey, newKey string, c Change) error
}

// Locker is implemented by stores that can hold a per-session lock shared by
// every process using the store (Laravel's session blocking).
type Locker interface {
	// TryLock takes the lock on key for ttl, identified by token, and
	// reports whether it got it. A lock whose ttl has passed is free. The
	// lock is independent of the record: a key may be locked before its
	// record exists. A lock already held under the same token counts as
	// taken (true), so a retried TryLock whose first reply was lost does
	// not lock its own caller out.
	TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error)

	// Unlock releases the lock on key if it is still held under token. It is
	// not an error if the lock has expired or is held by someone else (it
	// is then left alone).
	Unlock(ctx context.Context, key, token string) error
}

// Taker is implemented by stores that can read and remove one value
// atomically. sesame uses it to consume flash messages exactly once, even when
// two requests on one session race: only one of them gets the value. Without
// it, flash messages are removed by the next change set (at least once).
type Taker interface {
	// Take removes the value under field from the live record under key and
	// returns it. ok is false when the record or the field is missing (or
	// the record expired); nothing changes then.
	//
	// id identifies the take like [Change.ID]: a store whose calls can be
	// retried remembers, for [RetryWindow], what a take under id returned,
	// and answers a repeat with the same value instead of taking again (or
	// losing the value to a lost reply). Empty means no identity.
	Take(ctx context.Context, key, field, id string) (value []byte, ok bool, err error)
}
