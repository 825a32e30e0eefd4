package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// scriptLog is a go-redis hook that names the scripts a store's client
// runs, in order (a NOSCRIPT EVALSHA that go-redis follows with an EVAL
// counts once).
type scriptLog struct {
	names map[string]string // by SHA-1
	mu    sync.Mutex
	ran   []string
}

// newScriptLog adds a scriptLog to the client of s.
func newScriptLog(s *Store) *scriptLog {
	l := &scriptLog{names: map[string]string{
		s.updateScript.Hash(): "update",
		applyScript.Hash():    "apply",
		indexScript.Hash():    "index",
		createScript.Hash():   "create",
	}}
	s.client.AddHook(l)
	return l
}

func (l *scriptLog) DialHook(next redis.DialHook) redis.DialHook { return next }
func (l *scriptLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		args := cmd.Args()
		if len(args) < 2 || err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			return err
		}
		name, _ := args[0].(string)
		arg, _ := args[1].(string)
		switch strings.ToLower(name) {
		case "eval":
			sum := sha1.Sum([]byte(arg))
			arg = hex.EncodeToString(sum[:])
		case "evalsha":
		default:
			return err
		}
		n, ok := l.names[arg]
		if !ok {
			n = "other"
		}
		l.mu.Lock()
		l.ran = append(l.ran, n)
		l.mu.Unlock()
		return err
	}
}
func (l *scriptLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// run returns the names of the scripts fn ran, joined by spaces.
func (l *scriptLog) run(fn func()) string {
	l.mu.Lock()
	l.ran = nil
	l.mu.Unlock()
	fn()
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.ran, " ")
}

// rawRecord is a live record hash as the store writes it, at now: the values
// kv (name, JSON) in their stored form, and _n counting them.
func rawRecord(s *Store, now time.Time, kv ...string) map[string]string {
	f := map[string]string{
		fieldCreated:  formatNanos(now.Add(-time.Hour)),
		fieldLastSeen: formatNanos(now.Add(-time.Minute)),
		fieldExpires:  formatNanos(now.Add(time.Hour)),
	}
	n := 0
	for i := 0; i+1 < len(kv); i += 2 {
		f[valuePrefix+kv[i]] = string(s.compress([]byte(kv[i+1])))
		n += len(kv[i]) + len(kv[i+1])
	}
	f[fieldSize] = strconv.Itoa(n)
	return f
}

// TestUpdateMatchesGeneral runs each change through Apply twice, on two
// copies of the same record: once as Apply runs it (the lean updateScript
// for a plain update, falling back to applyScript or extending the user
// index when it asks) and once through applyScript alone. The records
// (HGETALL), TTLs, markers and errors must be the same, and the same again
// after the change is repeated under its ID; and each change must take the
// path the case names.
func TestUpdateMatchesGeneral(t *testing.T) {
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	long := strings.Repeat("compress me ", 20)
	type recordFunc func(s *Store, now time.Time) map[string]string
	plain := func(kv ...string) recordFunc {
		return func(s *Store, now time.Time) map[string]string { return rawRecord(s, now, kv...) }
	}
	edit := func(r recordFunc, fn func(f map[string]string, now time.Time)) recordFunc {
		return func(s *Store, now time.Time) map[string]string {
			f := r(s, now)
			fn(f, now)
			return f
		}
	}
	base := plain("n", "5", "a", `"x"`)
	user := func(horizon time.Duration) recordFunc {
		return edit(base, func(f map[string]string, now time.Time) {
			f[fieldUser], f[fieldHorizon] = "ann", ms(now.Add(horizon))
		})
	}
	incr := func(kv ...any) map[string]int64 {
		m := map[string]int64{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = int64(kv[i+1].(int))
		}
		return m
	}
	touch := 2 * time.Hour
	tests := []struct {
		name    string
		stored  recordFunc // nil: no record
		c       store.Change
		noTouch bool
		noID    bool
		path    string // the scripts Apply runs
		want    error
	}{
		// The benchmark's WRITE and its neighbours.
		{"increment and touch", base, store.Change{Incr: incr("n", 1)}, false, false, "update", nil},
		{"increment without a change ID", base, store.Change{Incr: incr("n", 1)}, false, true, "update", nil},
		{"increment without a touch", base, store.Change{Incr: incr("n", 1)}, true, false, "update", nil},
		{"touch only", base, store.Change{}, false, false, "update", nil},
		{"nothing at all", base, store.Change{}, true, false, "update", nil},
		{"increment a missing key", base, store.Change{Incr: incr("m", 3)}, false, false, "update", nil},
		{"increment to zero", base, store.Change{Incr: incr("n", -5)}, false, false, "update", nil},
		{"increment that changes the size", plain("n", "9"), store.Change{Incr: incr("n", 1)}, false, false, "update", nil},
		{"increment below zero", plain("n", "3"), store.Change{Incr: incr("n", -1000)}, false, false, "update", nil},
		{"increment of an empty value", plain("n", ""), store.Change{Incr: incr("n", 2)}, false, false, "update", nil},
		{"increment of -0", plain("n", "-0"), store.Change{Incr: incr("n", 2)}, false, false, "update", nil},
		{"increment by zero", base, store.Change{Incr: incr("n", 0)}, false, false, "update", nil},
		{"increments at the edge of the easy case", plain("n", "999999999999999", "m", "-99999999999999"),
			store.Change{Incr: incr("n", 999_999_999_999_999, "m", -99_999_999_999_999)}, false, false, "update", nil},
		{"sets, deletes and increments", base,
			store.Change{Set: values("b", "[1,2]", "a", "true"), Delete: []string{"a", "gone", "n"}, Incr: incr("c", 7, "n", 2)}, false, false, "update", nil},
		{"deletes", plain("n", "5", "a", `"x"`, "b", "1"), store.Change{Delete: []string{"a", "b", "zz"}}, false, false, "update", nil},
		{"an increment onto a value the change sets", base, store.Change{Set: values("n", "40"), Incr: incr("n", 2)}, false, false, "update", nil},
		{"many fields", base, store.Change{Set: values("k1", "1", "k2", "2", "k3", "3", "k4", "4"), Incr: incr("i1", 1, "i2", 2, "n", 3)}, false, false, "update", nil},

		// Records that are not live.
		{"a missing record", nil, store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotFound},
		{"a missing record without an ID", nil, store.Change{Incr: incr("n", 1)}, false, true, "update", store.ErrNotFound},
		{"a record expired by the store's clock", edit(base, func(f map[string]string, now time.Time) {
			f[fieldExpires] = formatNanos(now.Add(-time.Second))
		}), store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotFound},
		{"a record expiring now", edit(base, func(f map[string]string, now time.Time) {
			f[fieldExpires] = formatNanos(now)
		}), store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotFound},
		{"a record with a negative expiry", edit(base, func(f map[string]string, now time.Time) {
			f[fieldExpires] = "-1" + formatNanos(now)
		}), store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotFound},
		{"a record expiring in 2286", edit(base, func(f map[string]string, now time.Time) {
			f[fieldExpires] = "1" + formatNanos(now)
		}), store.Change{Incr: incr("n", 1)}, true, false, "update", nil},
		{"a moving record", edit(base, func(f map[string]string, now time.Time) {
			f[fieldMoving] = "elsewhere"
		}), store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotFound},
		{"a tombstone", plain("n", "5", store.GoneField, "true"), store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotFound},

		// The change ID of the create.
		{"the first update removes _i", edit(base, func(f map[string]string, now time.Time) {
			f[fieldCreateID] = "create-id"
		}), store.Change{Incr: incr("n", 1)}, false, false, "update", nil},
		{"_i goes with deletes", edit(base, func(f map[string]string, now time.Time) {
			f[fieldCreateID] = "create-id"
		}), store.Change{Delete: []string{"a"}}, false, false, "update", nil},

		// Increments that fail, and those left to applyScript.
		{"an increment of a string", plain("n", `"five"`), store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotNumber},
		{"an increment of a fraction", plain("n", "1.5"), store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotNumber},
		{"an increment of a leading zero", plain("n", "01"), store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotNumber},
		{"an increment of an exponent", plain("n", "1e3"), store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotNumber},
		{"an increment of a hex number", plain("n", "0x10"), store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotNumber},
		{"an increment of white space", plain("n", " 1"), store.Change{Incr: incr("n", 1)}, false, false, "update", store.ErrNotNumber},
		{"the second of two increments fails", plain("a", "1", "b", "true"), store.Change{Incr: incr("a", 1, "b", 1)}, false, false, "update", store.ErrNotNumber},
		{"an increment of a long value", plain("n", "1234567890123456"), store.Change{Incr: incr("n", 1)}, false, false, "update apply", nil},
		{"an increment of a long string", plain("n", `"1234567890123456"`), store.Change{Incr: incr("n", 1)}, false, false, "update apply", store.ErrNotNumber},
		{"an increment that overflows", plain("n", "9223372036854775807"), store.Change{Incr: incr("n", 1)}, false, false, "update apply", store.ErrNotNumber},
		{"a large amount", base, store.Change{Incr: incr("n", 1_000_000_000_000_000)}, false, false, "apply", nil},
		{"a large negative amount", base, store.Change{Incr: incr("n", -100_000_000_000_000)}, false, false, "apply", nil},
		{"an increment of a value the change sets badly", base, store.Change{Set: values("n", `"x"`), Incr: incr("n", 1)}, false, false, "apply", store.ErrNotNumber},

		// Sizes.
		{"too large", base, store.Change{Set: values("big", `"`+strings.Repeat("y", 400)+`"`)}, false, false, "update", store.ErrTooLarge},
		{"a bad increment before the size", base, store.Change{Set: values("big", `"`+strings.Repeat("y", 300)+`"`), Incr: incr("a", 1)}, false, false, "update", store.ErrNotNumber},
		{"a set value compressed", base, store.Change{Set: values("l", `"`+long+`"`)}, false, false, "update", nil},
		{"replacing a compressed value", plain("l", `"`+long+`"`, "n", "1"), store.Change{Set: values("l", "1"), Incr: incr("n", 1)}, false, false, "update", nil},
		{"deleting a compressed value", plain("l", `"`+long+`"`, "n", "1"), store.Change{Delete: []string{"l"}}, false, false, "update", nil},
		{"incrementing a compressed value", plain("l", `"`+long+`"`), store.Change{Incr: incr("l", 1)}, false, false, "update apply", store.ErrNotNumber},
		{"replacing a compressed value makes room", plain("l", `"`+strings.Repeat("z", 240)+`"`),
			store.Change{Set: values("l", "1", "big", `"`+strings.Repeat("y", 220)+`"`)}, false, false, "update", nil},
		{"a record from before _n", edit(base, func(f map[string]string, now time.Time) {
			delete(f, fieldSize)
		}), store.Change{Incr: incr("n", 1)}, false, false, "update apply", nil},
		{"a record with a wrong _n", edit(base, func(f map[string]string, now time.Time) {
			f[fieldSize] = "3"
		}), store.Change{Incr: incr("n", 1)}, false, false, "update", nil},

		// The user index.
		{"a user's record within its horizon", user(5 * time.Hour), store.Change{Incr: incr("n", 1)}, false, false, "update", nil},
		{"a user's record at its horizon", edit(user(touch), func(f map[string]string, now time.Time) {
			f[fieldHorizon] = ms(now.Add(touch).Truncate(time.Millisecond).Add(time.Millisecond))
		}), store.Change{Incr: incr("n", 1)}, false, false, "update", nil},
		{"a user's record past its horizon", user(90 * time.Minute), store.Change{Incr: incr("n", 1)}, false, false, "update index apply", nil},
		{"a user's record past its horizon by a nanosecond", edit(user(touch), func(f map[string]string, now time.Time) {
			f[fieldHorizon] = ms(now.Add(touch).Truncate(time.Millisecond))
		}), store.Change{Incr: incr("n", 1)}, false, false, "update index apply", nil},
		{"a user's record within its horizon, no touch", user(5 * time.Hour), store.Change{Incr: incr("n", 1)}, true, false, "update", nil},
		{"a user's record past its horizon, no touch", user(30 * time.Minute), store.Change{Incr: incr("n", 1)}, true, false, "update index apply", nil},
		{"a user's record past its horizon with a bad increment", user(30 * time.Minute), store.Change{Incr: incr("a", 1)}, false, false, "update", store.ErrNotNumber},
		{"a user's record without _x", edit(user(time.Hour), func(f map[string]string, now time.Time) {
			delete(f, fieldHorizon)
		}), store.Change{Incr: incr("n", 1)}, false, false, "update apply index apply", nil},
		{"a user's record with an odd _x", edit(user(5*time.Hour), func(f map[string]string, now time.Time) {
			f[fieldHorizon] += ".0"
		}), store.Change{Incr: incr("n", 1)}, false, false, "update apply", nil},
		{"a record with _x and no user", edit(base, func(f map[string]string, now time.Time) {
			f[fieldHorizon] = ms(now.Add(time.Hour))
		}), store.Change{Incr: incr("n", 1)}, false, false, "update", nil},
		{"a record with an empty user", edit(user(time.Hour), func(f map[string]string, now time.Time) {
			f[fieldUser] = ""
		}), store.Change{Incr: incr("n", 1)}, false, false, "update", nil},

		// Changes that are not plain updates.
		{"a change that ends the record", base, store.Change{Incr: incr("n", 1), Expires: time.Unix(1, 0)}, false, false, "apply", nil},
		{"a push", base, store.Change{Push: map[string]store.Append{"l": {Values: [][]byte{[]byte("1")}}}}, false, false, "apply", nil},
		{"a clear", base, store.Change{Clear: true, Incr: incr("n", 1)}, false, false, "apply", nil},
		{"a change of user", base, store.Change{SetUser: true, IP: "192.0.2.1"}, false, false, "apply", nil},
	}
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{CompressThreshold: 100, MaxRecordSize: 400})
		log := newScriptLog(s)
		// A clock between two milliseconds, so that an expiry is not a
		// whole number of them.
		now := time.Now().Truncate(time.Millisecond).Add(time.Nanosecond)
		s.now = func() time.Time { return now }
		gen := *s
		gen.generalOnly = true
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := tt.c
				if !tt.noID {
					c.ID = store.NewChangeID()
				}
				c.Now = now.Add(time.Second)
				if c.Expires.IsZero() && !tt.noTouch {
					c.Expires = now.Add(touch)
				}
				hot, general := newKey(), newKey()
				for _, key := range []string{hot, general} {
					if tt.stored == nil {
						continue
					}
					rk := s.recordKey(key)
					if err := s.client.HSet(ctx, rk, tt.stored(s, now)).Err(); err != nil {
						t.Fatal(err)
					}
					if err := s.client.PExpire(ctx, rk, time.Hour).Err(); err != nil {
						t.Fatal(err)
					}
				}
				for round := range 2 { // the change, then a repeat of it
					var errHot error
					path := log.run(func() { errHot = s.Apply(ctx, hot, c) })
					errGen := gen.Apply(ctx, general, c)
					if round == 0 {
						if path != tt.path {
							t.Errorf("scripts run: %q, want %q", path, tt.path)
						}
						if tt.want == nil && errHot != nil || !errors.Is(errHot, tt.want) {
							t.Errorf("Apply: %v, want %v", errHot, tt.want)
						}
					}
					if errHot == nil != (errGen == nil) || errHot != nil && errHot.Error() != errGen.Error() {
						t.Errorf("round %d: Apply = %v, applyScript alone = %v", round, errHot, errGen)
					}
					compareRecords(t, s, hot, general, c.ID)
				}
			})
		}
	})
}

// compareRecords fails t unless the records under the keys a and b hold the
// same fields (HGETALL), about the same TTL, and the same marker for id.
func compareRecords(t *testing.T, s *Store, a, b, id string) {
	t.Helper()
	ctx := context.Background()
	ra, err := s.client.HGetAll(ctx, s.recordKey(a)).Result()
	if err != nil {
		t.Fatal(err)
	}
	rb, err := s.client.HGetAll(ctx, s.recordKey(b)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(ra, rb) {
		for k := range ra {
			if ra[k] != rb[k] {
				t.Errorf("field %q: %.80q, by applyScript alone %.80q", k, ra[k], rb[k])
			}
		}
		for k := range rb {
			if _, ok := ra[k]; !ok {
				t.Errorf("field %q: missing, by applyScript alone %.80q", k, rb[k])
			}
		}
	}
	ta, _ := s.client.PTTL(ctx, s.recordKey(a)).Result()
	tb, _ := s.client.PTTL(ctx, s.recordKey(b)).Result()
	if d := ta - tb; d < -2*time.Second || d > 2*time.Second || (ta < 0) != (tb < 0) {
		t.Errorf("TTL %v, by applyScript alone %v", ta, tb)
	}
	if id == "" {
		return
	}
	ma, _ := s.client.Exists(ctx, s.markerKey(a, markChange, id)).Result()
	mb, _ := s.client.Exists(ctx, s.markerKey(b, markChange, id)).Result()
	if ma != mb {
		t.Errorf("marker keys %d, by applyScript alone %d", ma, mb)
	}
}
