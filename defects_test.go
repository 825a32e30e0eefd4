package sesame

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame/cookiestore"
	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/seal"
	"github.com/sesamego/sesame/store"
)

// Regression tests for defects found with hostile input. Each fails without
// its fix.

// errorCatcher is an ErrorHandler that keeps the errors it was given.
type errorCatcher struct {
	mu   sync.Mutex
	errs []error
}

func (c *errorCatcher) handle(w http.ResponseWriter, r *http.Request, err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
	DefaultErrorHandler(w, r, err)
}

func (c *errorCatcher) last() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs[len(c.errs)-1]
}

// handlerApp serves one handler behind a manager on store st.
func handlerApp(t *testing.T, st store.Store, h http.HandlerFunc) (*testApp, *errorCatcher) {
	t.Helper()
	ec := &errorCatcher{}
	m, err := New(Config{Store: st, ErrorHandler: ec.handle, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	mux := testMux()
	mux.HandleFunc("/h", h)
	app := &testApp{t: t, m: m, clock: &clock{t: time.Now()}}
	app.srv = httptest.NewTLSServer(m.Handler(mux))
	t.Cleanup(app.srv.Close)
	app.client = app.newClient()
	return app, ec
}

func deepJSON(n int) any {
	var v any = "bottom"
	for range n {
		v = []any{v}
	}
	return v
}

// Defect 2: a deep but valid JSON value was accepted by Put, and afterwards
// every request on the session answered 503, Destroy included.
func TestDeepValuesAreRefusedAtPut(t *testing.T) {
	fs, err := filestore.NewWithOptions(t.TempDir(), filestore.Options{CompressThreshold: -1})
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]store.Store{"memstore": memstore.New(), "filestore without compression": fs} {
		t.Run(name, func(t *testing.T) {
			depth := 0
			app, ec := handlerApp(t, st, func(w http.ResponseWriter, r *http.Request) {
				From(r).Put("deep", deepJSON(depth))
				io.WriteString(w, "ok")
			})
			app.get("/put?k=v")
			for _, depth = range []int{MaxDepth, MaxDepth + 1, 9999} {
				resp, _ := app.do(app.client, "GET", "/h")
				wantOK := depth <= MaxDepth
				if wantOK != (resp.StatusCode == 200) {
					t.Errorf("a value nested %d deep answered %d (error %v)", depth, resp.StatusCode, ec.last())
				}
				if !wantOK && !errors.Is(ec.last(), ErrEncode) {
					t.Errorf("a value nested %d deep: error %v, want ErrEncode", depth, ec.last())
				}
			}
			if got := app.get("/get?k=k"); got != "v" {
				t.Errorf("the session answers %q after the refused value, want v", got)
			}
		})
	}
}

// Defect 2, second half: Destroy works even when the stored record cannot
// be read back.
func TestDestroyWorksOnARecordThatCannotBeRead(t *testing.T) {
	fs, err := filestore.NewWithOptions(t.TempDir(), filestore.Options{CompressThreshold: -1})
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]store.Store{
		"filestore without compression":     fs,
		"a store that cannot read a record": &unreadableStore{Store: memstore.New()},
	} {
		t.Run(name, func(t *testing.T) { destroyUnreadable(t, st) })
	}
}

// unreadableStore fails to load any record holding the field "deep", as a
// store whose decoder refuses it would.
type unreadableStore struct{ *memstore.Store }

func (s *unreadableStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	rec, ok, err := s.Store.Load(ctx, key)
	if _, deep := rec.Values["deep"]; deep {
		return store.Record{}, false, fmt.Errorf("%w: decoding the record: exceeded max depth", store.ErrUnavailable)
	}
	return rec, ok, err
}

func (s *unreadableStore) LoadShared(ctx context.Context, key string) (store.Record, bool, error) {
	return s.Load(ctx, key)
}

func destroyUnreadable(t *testing.T, st store.Store) {
	fs := st
	app, _ := handlerApp(t, fs, func(w http.ResponseWriter, r *http.Request) {
		if err := From(r).Destroy(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, "ok")
	})
	id := newID()
	deep := bytes.Repeat([]byte("["), 10001)
	deep = append(deep, bytes.Repeat([]byte("]"), 10001)...)
	// Written by an older version that had no depth limit.
	if err := fs.Apply(context.Background(), store.Key(id), store.Change{Create: true, Set: map[string][]byte{"deep": deep},
		Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c := app.withCookie(id)
	resp, body := app.do(c, "GET", "/h")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("Destroy answered %d %q with Set-Cookie %q, want 200 and a cleared cookie", resp.StatusCode, body, resp.Header.Get("Set-Cookie"))
	}
	mustHoldNoSession(t, fs, store.Key(id))
	if resp, _ := app.do(c, "GET", "/get?k=deep"); resp.StatusCode != 200 {
		t.Errorf("after Destroy a request with the old cookie answered %d, want 200", resp.StatusCode)
	}
}

// Defect 3: the cookie store turned two keys that are not valid UTF-8 into one
// (both became U+FFFD) and lost a value. Keys follow one rule on every store.
func TestInvalidKeysAreRefusedOnEveryStore(t *testing.T) {
	keys, err := seal.NewKeyring(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cookiestore.New(cookiestore.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]store.Store{"cookiestore": cs, "memstore": memstore.New(), "filestore": fs} {
		t.Run(name, func(t *testing.T) {
			app, ec := handlerApp(t, st, func(w http.ResponseWriter, r *http.Request) {
				s := From(r)
				s.Put("a\xff", 1)
				s.Put("a\xfe", 2)
				io.WriteString(w, "ok")
			})
			app.get("/put?k=v")
			resp, _ := app.do(app.client, "GET", "/h")
			if resp.StatusCode != 500 || !errors.Is(ec.last(), ErrInvalid) {
				t.Errorf("keys that are not UTF-8 answered %d with %v, want 500 and ErrInvalid", resp.StatusCode, ec.last())
			}
			if got := app.get("/get?k=k"); got != "v" {
				t.Errorf("k = %q after the refused keys, want v", got)
			}
		})
	}
}

// Defect 5: an idle-expired ID emitted EventExpired twice ("expired" and
// "unknown"), and idle and absolute expiry both arrived as "unknown".
func TestOneExpiryEventWithItsReason(t *testing.T) {
	for _, tt := range []struct {
		reason  string
		advance time.Duration
	}{
		{"idle", 30*time.Minute + time.Second},
		{"absolute", 0},
	} {
		t.Run(tt.reason, func(t *testing.T) {
			c := &clock{t: time.Now()}
			ms, err := memstore.NewWithOptions(memstore.Options{Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			rec := &eventRecorder{}
			app := newTestApp(t, Config{Store: ms, OnEvent: rec.record, IdleTimeout: 30 * time.Minute, Lifetime: time.Hour})
			app.m.now = c.now
			app.clock = c
			app.get("/put?k=v")
			if tt.reason == "absolute" {
				for range 4 { // active all along: only the absolute lifetime ends it
					c.advance(12*time.Minute + time.Second)
					app.get("/put?k=v")
				}
				c.advance(12 * time.Minute)
			} else {
				c.advance(tt.advance)
			}
			for range 3 {
				if got := app.get("/get?k=k"); got != "" {
					t.Fatalf("an expired session answered %q", got)
				}
			}
			evs := rec.of(EventExpired)
			if len(evs) != 1 || evs[0].Reason != tt.reason {
				var reasons []string
				for _, e := range evs {
					reasons = append(reasons, e.Reason)
				}
				t.Errorf("got expiry events %q, want one %q", reasons, tt.reason)
			}
		})
	}
}

// Defect 6: ReadyHandler wrote the store's error text (DSN host, driver
// message) to an unauthenticated probe.
func TestReadyHandlerHidesTheError(t *testing.T) {
	st := &countingStore{Store: memstore.New()}
	var logs bytes.Buffer
	m, _ := New(Config{Store: st, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	st.fail.Store(true)
	rec := httptest.NewRecorder()
	m.ReadyHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
	if rec.Code != 503 || strings.TrimSpace(rec.Body.String()) != "store unavailable" {
		t.Errorf("ready = %d %q, want 503 \"store unavailable\"", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), errDown.Error()) {
		t.Errorf("the reason was not logged at Error: %s", logs.String())
	}
}

// Defect 7: the lazy load used the request captured when Handler ran, not the
// context of the first From: a handler that narrowed or cancelled its
// context still loaded with the old one.
func TestTheLoadUsesTheContextOfTheFirstFrom(t *testing.T) {
	type ctxKey struct{}
	var seen any
	st := &ctxStore{Store: memstore.New(), seen: func(ctx context.Context) { seen = ctx.Value(ctxKey{}) }}
	app, ec := handlerApp(t, st, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(context.WithValue(r.Context(), ctxKey{}, "narrowed"))
		r = r.WithContext(ctx)
		s := From(r)
		if r.URL.Query().Get("cancel") != "" {
			cancel()
		}
		err := s.Err()
		cancel()
		if err != nil {
			io.WriteString(w, "load error: "+err.Error())
			return
		}
		io.WriteString(w, "ok")
	})
	app.get("/put?k=v")
	if body := app.get("/h"); body != "ok" || seen != "narrowed" {
		t.Errorf("got %q, the store saw context value %v; want ok and the narrowed context", body, seen)
	}
	if resp, _ := app.do(app.client, "GET", "/h?cancel=1"); resp.StatusCode != 503 || !errors.Is(ec.last(), context.Canceled) {
		t.Errorf("a load after the handler cancelled its context: got %d with %v, want 503 and context.Canceled", resp.StatusCode, ec.last())
	}
}

// ctxStore reports the context of every Load.
type ctxStore struct {
	*memstore.Store
	seen func(context.Context)
}

func (s *ctxStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	s.seen(ctx)
	if err := ctx.Err(); err != nil {
		return store.Record{}, false, err
	}
	return s.Store.Load(ctx, key)
}

func (s *ctxStore) LoadShared(ctx context.Context, key string) (store.Record, bool, error) {
	return s.Load(ctx, key)
}
