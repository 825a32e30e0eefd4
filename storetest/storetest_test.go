package storetest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

// refStore is the simplest correct store: one mutex around a map, with
// store.Merge. It proves that the suite passes a correct store, and, with a
// bug switched on, that the suite catches that bug.
type refStore struct {
	bug   string
	mu    sync.Mutex
	recs  map[string]store.Record
	locks map[string]refLock
	done  map[string]takeResult // applied change IDs, and what takes returned
}

type takeResult struct {
	v  []byte
	ok bool
}

type refLock struct {
	token   string
	expires time.Time
}

var (
	_ store.Store     = (*refStore)(nil)
	_ store.Pruner    = (*refStore)(nil)
	_ store.Lister    = (*refStore)(nil)
	_ store.UserIndex = (*refStore)(nil)
	_ store.Renamer   = (*refStore)(nil)
	_ store.Locker    = (*refStore)(nil)
	_ store.Taker     = (*refStore)(nil)
)

func newRefStore(bug string) *refStore {
	return &refStore{bug: bug, recs: make(map[string]store.Record), locks: make(map[string]refLock), done: map[string]takeResult{}}
}

func (s *refStore) check(ctx context.Context, keys ...string) error {
	if s.bug != "malformed-accepted" {
		for _, k := range keys {
			if !store.ValidKey(k) {
				return fmt.Errorf("ref: %w", store.ErrMalformedKey)
			}
		}
	}
	if s.bug != "ignores-context" {
		return ctx.Err()
	}
	return nil
}

func (s *refStore) live(r store.Record, ok bool) bool {
	return ok && (s.bug == "returns-expired" || r.Expires.After(time.Now()))
}

func (s *refStore) copyValues(m map[string][]byte) map[string][]byte {
	if s.bug == "shares-memory" {
		return m
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		if s.bug == "compacts-values" {
			var b bytes.Buffer
			if json.Compact(&b, v) == nil {
				v = b.Bytes()
			}
		}
		out[k] = bytes.Clone(v)
	}
	return out
}

func (s *refStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	if err := s.check(ctx, key); err != nil {
		return store.Record{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[key]
	if !s.live(r, ok) {
		return store.Record{}, false, nil
	}
	r.Values = s.copyValues(r.Values)
	return r, true, nil
}

func (s *refStore) merge(key string, c store.Change) (store.Record, error) {
	cur, ok := s.recs[key]
	now := time.Now()
	switch s.bug {
	case "resurrects":
		if !s.live(cur, ok) {
			c.Create = true
		}
	case "overwrites-on-create":
		if c.Create {
			ok = false
		}
	case "trusts-change-clock":
		if !c.Now.IsZero() {
			now = c.Now
		}
	case "returns-expired":
		if ok {
			cur.Expires = now.Add(time.Hour)
		}
	}
	rec, err := store.Merge(cur, ok, c, now)
	if s.bug == "partial-apply" && errors.Is(err, store.ErrNotNumber) {
		c.Incr = nil
		rec, _ = store.Merge(cur, ok, c, now)
		s.recs[key] = rec
		return store.Record{}, err
	}
	if err != nil {
		return store.Record{}, err
	}
	if s.bug != "no-size-limit" && store.Size(rec.Values) > store.DefaultMaxRecordSize {
		return store.Record{}, store.ErrTooLarge
	}
	rec.Values = s.copyValues(rec.Values)
	return rec, nil
}

func (s *refStore) Apply(ctx context.Context, key string, c store.Change) error {
	if err := s.check(ctx, key); err != nil {
		return err
	}
	if s.bug != "accepts-invalid" {
		if err := store.CheckChange(&c); err != nil {
			return err
		}
	}
	if s.bug == "loses-updates" {
		// Read, let others run, then write: the bug of every blob store.
		s.mu.Lock()
		cur, ok := s.recs[key]
		s.mu.Unlock()
		time.Sleep(time.Microsecond)
		rec, err := store.Merge(cur, ok, c, time.Now())
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.recs[key] = rec
		s.mu.Unlock()
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.done[c.ID]; dup && c.ID != "" && s.bug != "applies-twice" {
		return nil
	}
	rec, err := s.merge(key, c)
	if err != nil {
		return err
	}
	s.recs[key] = rec
	if c.ID != "" {
		s.done[c.ID] = takeResult{}
	}
	return nil
}

func (s *refStore) Delete(ctx context.Context, key string) error {
	if err := s.check(ctx, key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[key]; !ok && s.bug == "delete-missing-fails" {
		return store.ErrNotFound
	}
	delete(s.recs, key)
	return nil
}

func (s *refStore) Prune(ctx context.Context) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, r := range s.recs {
		if !r.Expires.After(time.Now()) {
			if s.bug != "prune-counts-nothing" {
				n++
			}
			delete(s.recs, k)
		}
	}
	return n, nil
}

func (s *refStore) snapshot() []store.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Entry
	for k, r := range s.recs {
		if s.live(r, true) || s.bug == "lists-expired" {
			r.Values = s.copyValues(r.Values)
			out = append(out, store.Entry{Key: k, Record: r})
		}
	}
	return out
}

func (s *refStore) List(ctx context.Context, fn func(store.Entry) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, e := range s.snapshot() {
		if err := fn(e); err != nil {
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (s *refStore) UserSessions(ctx context.Context, userID string) ([]store.Entry, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []store.Entry
	for _, e := range s.snapshot() {
		if e.Record.UserID == userID && userID != "" {
			if s.bug != "lists-user-values" {
				e.Record.Values = nil
			}
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *refStore) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	if except != "" && s.bug != "deletes-for-any-exception" {
		if err := s.check(ctx, except); err != nil {
			return 0, err
		}
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	if userID == "" && s.bug != "deletes-anonymous" {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, r := range s.recs {
		if r.UserID == userID && k != except && s.live(r, true) {
			delete(s.recs, k)
			n++
		}
	}
	return n, nil
}

func (s *refStore) Rename(ctx context.Context, oldKey, newKey string, c store.Change) error {
	if err := s.check(ctx, oldKey, newKey); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.done[c.ID]; dup && c.ID != "" && s.bug != "applies-twice" {
		return nil
	}
	c.Create = false
	rec, err := s.merge(oldKey, c)
	if err != nil {
		return err
	}
	if c.ID != "" {
		defer func() { s.done[c.ID] = takeResult{} }()
	}
	if n, ok := s.recs[newKey]; s.live(n, ok) {
		return store.ErrExists
	}
	if s.bug != "rename-keeps-old" {
		delete(s.recs, oldKey)
	}
	s.recs[newKey] = rec
	return nil
}

func (s *refStore) TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := s.check(ctx, key); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.locks[key]; ok && s.bug != "lock-not-exclusive" &&
		(l.expires.After(time.Now()) || s.bug == "lock-never-expires") &&
		(l.token != token || s.bug == "relock-fails") {
		return false, nil
	}
	s.locks[key] = refLock{token: token, expires: time.Now().Add(ttl)}
	return true, nil
}

func (s *refStore) Unlock(ctx context.Context, key, token string) error {
	if err := s.check(ctx, key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.locks[key]; ok && (l.token == token || s.bug == "unlock-any-token") {
		delete(s.locks, key)
	}
	return nil
}

func (s *refStore) Take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	if err := s.check(ctx, key); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	if d, dup := s.done[id]; dup && id != "" && s.bug != "applies-twice" {
		s.mu.Unlock()
		return bytes.Clone(d.v), d.ok, nil
	}
	r, ok := s.recs[key]
	if !s.live(r, ok) {
		s.mu.Unlock()
		return nil, false, nil
	}
	v, ok := r.Values[field]
	if !ok {
		s.mu.Unlock()
		return nil, false, nil
	}
	if s.bug == "take-not-atomic" {
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
		r = s.recs[key]
	}
	r.Values = maps.Clone(r.Values)
	delete(r.Values, field)
	s.recs[key] = r
	if id != "" {
		s.done[id] = takeResult{v: bytes.Clone(v), ok: true}
	}
	s.mu.Unlock()
	return bytes.Clone(v), true, nil
}

// bugEnv names the bug a re-executed test binary switches on.
const bugEnv = "STORETEST_REF_BUG"

func TestReferenceStore(t *testing.T) {
	bug := os.Getenv(bugEnv)
	storetest.RunWith(t, func(t *testing.T) store.Store { return newRefStore(bug) }, storetest.Options{IdempotentChanges: true})
}

// TestSuiteCatchesBugs runs the suite against the reference store with one
// bug at a time, in a child process, and checks that the subtests meant to
// catch it fail: a suite that passes a broken store is itself broken.
func TestSuiteCatchesBugs(t *testing.T) {
	if os.Getenv(bugEnv) != "" {
		t.Skip("in a child process")
	}
	if testing.Short() {
		t.Skip("runs the suite once per bug")
	}
	tests := []struct {
		bug   string
		group string // the top-level subtest that must fail
	}{
		{"returns-expired", "Expiry"},
		{"loses-updates", "Concurrency"},
		{"resurrects", "Delete"},
		{"overwrites-on-create", "CreateAndUpdate"},
		{"trusts-change-clock", "Expiry"},
		{"partial-apply", "Change"},
		{"no-size-limit", "SizeLimit"},
		{"ignores-context", "Context"},
		{"shares-memory", "RoundTrip"},
		{"compacts-values", "RoundTrip"},
		{"malformed-accepted", "RoundTrip"},
		{"delete-missing-fails", "Delete"},
		{"prune-counts-nothing", "Pruner"},
		{"lists-expired", "Lister"},
		{"lists-user-values", "UserIndex"},
		{"deletes-anonymous", "UserIndex"},
		{"deletes-for-any-exception", "UserIndex"},
		{"rename-keeps-old", "Renamer"},
		{"lock-not-exclusive", "Locker"},
		{"unlock-any-token", "Locker"},
		{"lock-never-expires", "Locker"},
		{"take-not-atomic", "Taker"},
		{"applies-twice", "ChangeID"},
		{"accepts-invalid", "InvalidInput"},
		{"relock-fails", "LockerRetry"},
	}
	for _, tt := range tests {
		t.Run(tt.bug, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0],
				"-test.run=^TestReferenceStore$/^"+tt.group+"$", "-test.v", "-test.count=1", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), bugEnv+"="+tt.bug)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("got %v, want the child to fail; output:\n%s", err, tail(out))
			}
			if want := "--- FAIL: TestReferenceStore/" + tt.group + " "; !strings.Contains(string(out), want) {
				t.Errorf("got no %q in the output:\n%s", want, tail(out))
			}
		})
	}
}

func tail(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

func TestNewKeyIsValidAndFresh(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		k := storetest.NewKey()
		if !store.ValidKey(k) {
			t.Fatalf("got key %q, want a valid one", k)
		}
		if seen[k] {
			t.Fatalf("got key %q twice, want fresh keys", k)
		}
		seen[k] = true
	}
}

func TestRandomJSON(t *testing.T) {
	for _, n := range []int{2, 3, 10, 1000, 1 << 20} {
		v := storetest.RandomJSON(n)
		if len(v) != n || !json.Valid(v) {
			t.Errorf("RandomJSON(%d): got %d bytes (valid JSON %v), want %d bytes of JSON", n, len(v), json.Valid(v), n)
		}
	}
	a, b := storetest.RandomJSON(100), storetest.RandomJSON(100)
	if bytes.Equal(a, b) {
		t.Errorf("got the same value twice, want random values")
	}
}

func BenchmarkReferenceStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(*testing.B) store.Store { return newRefStore("") })
}
