package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/internal/redistest"
	"github.com/sesamego/sesame/store"
)

// TestMarkerSlots checks that every marker key hashes to the slot of its
// record, as CLUSTER KEYSLOT computes it, so one script can use both.
func TestMarkerSlots(t *testing.T) {
	client := redistest.NewClusterClient(t, redistest.SharedCluster(t))
	ctx := context.Background()
	slot := func(k string) int64 {
		t.Helper()
		n, err := client.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, prefix := range []string{"", "app:", "{app}:", "x{app}y:", "a{b:", "x{", "é:"} {
		s, err := New(client, Options{Prefix: prefix})
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		for range 5 {
			key, id := newKey(), store.NewChangeID()
			rs := slot(s.recordKey(key))
			for _, kind := range []string{markChange, markTake} {
				if m := s.markerKey(key, kind, id); slot(m) != rs {
					t.Errorf("prefix %q: marker %q is in slot %d, its record %q in %d", prefix, m, slot(m), s.recordKey(key), rs)
				}
			}
		}
	}
	for _, prefix := range []string{"a}b:", "{}x:"} {
		if _, err := New(client, Options{Prefix: prefix}); err == nil {
			t.Errorf("New accepted the prefix %q for a Cluster", prefix)
		}
	}
	if _, err := New(redistest.NewClient(t), Options{Prefix: "a}b:"}); err != nil {
		t.Errorf(`New refused the prefix "a}b:" for a single node: %v`, err)
	}
}

// TestPushMatchesAppendJSON checks the script's append against
// store.AppendJSON, the reference, byte for byte: plain and compressed
// arrays, white space, strings holding brackets, commas and escapes, Keep.
func TestPushMatchesAppendJSON(t *testing.T) {
	s := newSingle(t, Options{})
	ctx := context.Background()
	big := "[" + strings.Repeat(`{"a":"x, ]"},`, 150) + `"last"]`
	curs := []string{
		"", `[]`, `[ ]`, "[\n]", `[1]`, `[1,2,3]`, `[ 1 , 2 ]`, ` [1] `, "[\t\"a b\" ,{\"k\": [1, 2]} ]",
		`["a,b","c]d","e\"f","g\\",[],{}]`, `[[1,[2]],{"a":{"b":[3]}}]`, `[null,true,false,-1.5e3]`,
		big, strings.ReplaceAll(big, ",", ", "),
		// Not arrays.
		`1`, `"[1]"`, `{"a":[1]}`, `null`, `true`, `[1`, `1]`, `[ 1, ]`, `[, 1]`, `[1 ]]`, `[ "a]`, `[ [1 ]`,
		// Not JSON, but compact and between brackets: the script appends
		// to these without parsing them (sesame stores only valid JSON), so
		// they are checked only with Keep, which parses.
		`[1]]`, `["a]`, `[1,]`,
	}
	compactInvalid := map[string]bool{`[1]]`: true, `["a]`: true, `[1,]`: true}
	elemSets := [][]string{nil, {`9`}, {`"x,y"`, `[7]`}, {`{"z":1}`, `2`, `3`, `4`}}
	for _, cur := range curs {
		for _, elems := range elemSets {
			for _, keep := range []int{0, 1, 2, 3, 200} {
				if keep == 0 && compactInvalid[cur] {
					continue
				}
				var ev [][]byte
				for _, e := range elems {
					ev = append(ev, []byte(e))
				}
				want, wantErr := store.AppendJSON([]byte(cur), ev, keep)
				c := store.Change{Create: true, Expires: time.Now().Add(time.Hour)}
				if cur != "" {
					c.Set = values("l", cur)
				}
				key := newKey()
				if err := s.Apply(ctx, key, c); err != nil {
					t.Fatal(err)
				}
				err := s.Apply(ctx, key, store.Change{ID: store.NewChangeID(), Push: map[string]store.Append{"l": {Values: ev, Keep: keep}}})
				name := fmt.Sprintf("push %q keep %d onto %.60q", elems, keep, cur)
				if wantErr != nil {
					if !errors.Is(err, store.ErrNotList) || !strings.Contains(err.Error(), `"l"`) {
						t.Errorf("%s: got %v, want ErrNotList naming the key", name, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if got := mustLoad(t, s, key).Values["l"]; string(got) != string(want) {
					t.Errorf("%s:\ngot  %.200s\nwant %.200s", name, got, want)
				}
			}
		}
	}
}

// TestPushOntoCompressedValue checks a push onto a value stored compressed:
// the store inflates it, the script checks it is still the stored one, and
// the result (stored uncompressed from then on) keeps every element; the
// record's size stays right.
func TestPushOntoCompressedValue(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.new(t, Options{})
			ctx := context.Background()
			big := "[" + strings.Repeat(`"an element of the list",`, 100) + `0]`
			key := mustCreate(t, s, store.Change{Set: values("l", big, "a", "1")})
			raw, err := s.client.HGet(ctx, s.recordKey(key), valuePrefix+"l").Bytes()
			if err != nil || !store.IsCompressed(raw) {
				t.Fatalf("the large value is not stored compressed (%v)", err)
			}
			if err := s.Apply(ctx, key, store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"a": 1},
				Push: map[string]store.Append{"l": {Values: [][]byte{[]byte("1")}}}}); err != nil {
				t.Fatal(err)
			}
			want := big[:len(big)-1] + ",1]"
			rec := mustLoad(t, s, key)
			if string(rec.Values["l"]) != want || string(rec.Values["a"]) != "2" {
				t.Errorf("got %.80q… and a = %s", rec.Values["l"], rec.Values["a"])
			}
			n, _ := s.client.HGet(ctx, s.recordKey(key), fieldSize).Int()
			if n != store.Size(rec.Values) {
				t.Errorf("_n = %d, want %d", n, store.Size(rec.Values))
			}
		})
	}
}

// TestRenameRepeatInCluster checks the steps of a Cluster rename when they
// are repeated: a Rename that stopped after marking the record as moving is
// finished by a repeat, and a repeat of a finished one answers nil.
func TestRenameRepeatInCluster(t *testing.T) {
	s := newCluster(t, Options{})
	ctx := context.Background()
	oldKey := mustCreate(t, s, store.Change{Set: values("n", "1")})
	newKey := newKey()
	c := store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"n": 1}}
	// Step 1 alone, as if the process had lost the reply.
	if err := moveScript.Run(ctx, s.client, []string{s.recordKey(oldKey), s.markerKey(oldKey, markChange, c.ID)},
		formatNanos(time.Now()), newKey, 60000, c.ID).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Rename(ctx, oldKey, newKey, c); err != nil {
			t.Fatalf("Rename %d: %v", i+1, err)
		}
	}
	if _, ok, _ := s.Load(ctx, oldKey); ok {
		t.Error("the old key still loads")
	}
	if got := mustLoad(t, s, newKey).Values["n"]; string(got) != "2" {
		t.Errorf("n = %s, want 2", got)
	}
}

// TestCall checks how Store.call sorts out the errors of the client.
func TestCall(t *testing.T) {
	s, err := New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	eof := io.EOF
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	script := func(errs ...error) (func(context.Context) error, *int) {
		n := 0
		return func(context.Context) error {
			n++
			if n <= len(errs) {
				return errs[n-1]
			}
			return nil
		}, &n
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		repeatable bool
		errs       []error
		want       error // nil, or what the error must wrap
		notWant    error
		sends      int
	}{
		{"a cut after sending is sent again", true, []error{eof, reset}, nil, nil, 3},
		{"a dial failure first is a plain failure", true, []error{dial}, store.ErrUnavailable, store.ErrOutcomeUnknown, 1},
		{"a dial failure after a cut is not", true, []error{eof, dial}, nil, nil, 3},
		{"without identity a cut is unknown", false, []error{eof}, store.ErrOutcomeUnknown, nil, 1},
		{"a pool timeout is a plain failure", true, []error{redis.ErrPoolTimeout}, store.ErrUnavailable, store.ErrOutcomeUnknown, 1},
		{"a reply error is the answer", true, []error{redis.Nil}, redis.Nil, store.ErrUnavailable, 1},
		{"a refusal first is a plain failure", true, []error{proto("READONLY You can't write against a read only replica.")}, store.ErrUnavailable, store.ErrOutcomeUnknown, 1},
		{"a refusal after a cut is retried", true, []error{eof, proto("LOADING Redis is loading")}, nil, nil, 3},
	} {
		send, n := script(tc.errs...)
		err := s.call(ctx, "test", tc.repeatable, send)
		if errors.As(err, new(classified)) {
			err = fail(ctx, "test", err)
		}
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if tc.notWant != nil && errors.Is(err, tc.notWant) {
			t.Errorf("%s: got %v, which wraps %v", tc.name, err, tc.notWant)
		}
		if *n != tc.sends {
			t.Errorf("%s: sent %d times, want %d", tc.name, *n, tc.sends)
		}
	}

	// Cut forever: unknown when the context ends, wrapping its error.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = s.call(cctx, "test", true, func(context.Context) error { return eof })
	if !errors.Is(err, store.ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cut until the deadline: got %v, want ErrOutcomeUnknown and DeadlineExceeded", err)
	}
}

// proto is a Redis error reply.
type proto string

func (e proto) Error() string { return string(e) }
func (proto) RedisError()     {}
