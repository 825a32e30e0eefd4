package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// Options describes what a store does differently from the defaults the
// suite assumes. The zero value suits a store with the default size limit and
// no native expiry.
type Options struct {
	// MaxRecordSize is the store's size limit (see [store.Size]). Zero means
	// [store.DefaultMaxRecordSize]. A negative value declares that the store
	// has no limit, which skips the size-limit subtest; every sesame store
	// should have one.
	MaxRecordSize int

	// NativeExpiry declares that the store drops expired records by itself
	// (Redis keys with a TTL), so its [store.Pruner] may find nothing to
	// prune. The Pruner subtest then does not require Prune to count the
	// records the suite expired.
	NativeExpiry bool

	// IdempotentChanges declares that the store recognises a change set it
	// has already applied by its [store.Change.ID] (and a take by its id),
	// as every store reached over a network must: its driver or its own
	// retry may send one change twice. The ChangeID subtest checks it.
	IdempotentChanges bool
}

// Run runs the conformance suite against the stores that newStore returns,
// one fresh store for each subtest. It is RunWith with zero [Options].
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	RunWith(t, newStore, Options{})
}

// RunWith runs the conformance suite with the given options.
func RunWith(t *testing.T, newStore func(t *testing.T) store.Store, opts Options) {
	t.Helper()
	if opts.MaxRecordSize == 0 {
		opts.MaxRecordSize = store.DefaultMaxRecordSize
	}
	s := &suite{newStore: newStore, opts: opts}
	t.Run("RoundTrip", s.roundTrip)
	t.Run("Change", s.change)
	t.Run("CreateAndUpdate", s.createAndUpdate)
	t.Run("Concurrency", s.concurrency)
	t.Run("Delete", s.delete)
	t.Run("Expiry", s.expiry)
	t.Run("SizeLimit", s.sizeLimit)
	t.Run("Context", s.context)
	t.Run("Pruner", s.pruner)
	t.Run("Lister", s.lister)
	t.Run("UserIndex", s.userIndex)
	t.Run("Renamer", s.renamer)
	t.Run("Locker", s.locker)
	t.Run("Taker", s.taker)
	t.Run("Push", s.push)
	t.Run("InvalidInput", s.invalidInput)
	t.Run("ChangeID", s.changeID)
	t.Run("LockerRetry", s.lockerRetry)
	t.Run("Tombstone", s.tombstone)
}

type suite struct {
	newStore func(t *testing.T) store.Store
	opts     Options
}

// NewKey returns a fresh random store key: the [store.Key] of a random
// 256-bit session ID.
func NewKey() string {
	return store.Key(NewID())
}

// NewID returns a fresh random ID of 256 bits, base64url encoded, shaped like
// a sesame session ID. The suite also uses it for user IDs, so that tests on
// a shared server never meet each other's records.
func NewID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// RandomJSON returns a JSON string of exactly n bytes (n >= 2) whose content
// is base64 of random bytes, so it does not compress.
func RandomJSON(n int) []byte {
	if n < 2 {
		panic("storetest: RandomJSON needs at least 2 bytes")
	}
	raw := make([]byte, (n-2)*3/4+3)
	_, _ = rand.Read(raw)
	v := make([]byte, 0, n)
	v = append(v, '"')
	v = append(v, base64.StdEncoding.EncodeToString(raw)[:n-2]...)
	return append(v, '"')
}

// ms is the precision the suite compares times to.
const ms = time.Millisecond

// now returns the current time truncated to the millisecond, with no
// monotonic reading.
func now() time.Time { return time.Now().Truncate(ms) }

// create stores a fresh record under a fresh key and returns the key.
func create(t *testing.T, st store.Store, c store.Change) string {
	t.Helper()
	key := NewKey()
	c.Create = true
	if c.Expires.IsZero() {
		c.Expires = time.Now().Add(time.Hour)
	}
	if err := st.Apply(t.Context(), key, c); err != nil {
		t.Fatalf("creating a record: %v", err)
	}
	return key
}

// load loads key and fails the test unless it is there.
func load(t *testing.T, st store.Store, key string) store.Record {
	t.Helper()
	rec, ok, err := st.Load(t.Context(), key)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !ok {
		t.Fatalf("Load: got no record, want one")
	}
	return rec
}

// mustBeGone fails the test unless key loads nothing.
func mustBeGone(t *testing.T, st store.Store, key string) {
	t.Helper()
	rec, ok, err := st.Load(t.Context(), key)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if ok {
		t.Fatalf("Load: got a record with %s, want none", showValues(rec.Values))
	}
}

// vals builds a values map from alternating keys and JSON encodings.
func vals(kv ...string) map[string][]byte {
	m := make(map[string][]byte, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []byte(kv[i+1])
	}
	return m
}

// checkValues fails the test unless got holds exactly want, byte for byte.
func checkValues(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	same := len(got) == len(want)
	for k, w := range want {
		if g, ok := got[k]; !ok || !bytes.Equal(g, w) {
			same = false
		}
	}
	if !same {
		t.Errorf("got values %s, want %s", showValues(got), showValues(want))
	}
}

// checkTime fails the test unless got equals want to the millisecond.
func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Truncate(ms).Equal(want.Truncate(ms)) {
		t.Errorf("got %s %v, want %v", what, got, want)
	}
}

// checkMeta fails the test unless got has want's metadata.
func checkMeta(t *testing.T, got, want store.Record) {
	t.Helper()
	checkTime(t, "Created", got.Created, want.Created)
	checkTime(t, "LastSeen", got.LastSeen, want.LastSeen)
	checkTime(t, "Expires", got.Expires, want.Expires)
	if got.UserID != want.UserID || got.IP != want.IP || got.UserAgent != want.UserAgent {
		t.Errorf("got user %q, IP %q, user agent %q, want %q, %q, %q",
			got.UserID, got.IP, got.UserAgent, want.UserID, want.IP, want.UserAgent)
	}
}

// showValues formats values for failure messages, shortening long ones.
func showValues(m map[string][]byte) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		v := m[k]
		if len(v) > 64 {
			fmt.Fprintf(&b, "%q: %q...(%d bytes)", k, v[:32], len(v))
		} else {
			fmt.Fprintf(&b, "%q: %q", k, v)
		}
	}
	b.WriteByte('}')
	return b.String()
}
