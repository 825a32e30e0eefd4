package sesame

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
)

// logBuffer collects log output from the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log records written so far.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// eventRecorder is an OnEvent hook that keeps every event.
type eventRecorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *eventRecorder) record(_ context.Context, e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *eventRecorder) of(kind EventKind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// switchStore is a memstore (with all of its optional capabilities) whose
// Load can be made to fail.
type switchStore struct {
	*memstore.Store
	fail atomic.Bool
}

func (s *switchStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	if s.fail.Load() {
		return store.Record{}, false, fmt.Errorf("%w: %w", store.ErrUnavailable, errDown)
	}
	return s.Store.Load(ctx, key)
}

func (s *switchStore) LoadShared(ctx context.Context, key string) (store.Record, bool, error) {
	if s.fail.Load() {
		return store.Record{}, false, fmt.Errorf("%w: %w", store.ErrUnavailable, errDown)
	}
	return s.Store.LoadShared(ctx, key)
}

// logApp is a test app whose manager logs JSON at level to a buffer, flags
// anomalies by the X-Test-IP header, and records its events.
func logApp(t *testing.T, level slog.Level) (*testApp, *logBuffer, *eventRecorder, *switchStore) {
	t.Helper()
	buf := &logBuffer{}
	rec := &eventRecorder{}
	st := &switchStore{Store: memstore.New()}
	app := newTestApp(t, Config{
		Store:       st,
		Logger:      slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: level})),
		OnEvent:     rec.record,
		IdleTimeout: 30 * time.Minute,
		Anomaly: AnomalyPolicy{
			Action: AnomalyFlag,
			ClientIP: func(r *http.Request) string {
				if ip := r.Header.Get("X-Test-IP"); ip != "" {
					return ip
				}
				return "192.0.2.1"
			},
		},
	})
	return app, buf, rec, st
}

// getFrom sends GET path with the app's client and an X-Test-IP header.
func (a *testApp) getFrom(ip, path string) string {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.srv.URL+path, nil)
	req.Header.Set("X-Test-IP", ip)
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.Status
}

// lifecycle drives one session through every event sesame logs and returns
// every session ID the client held on the way.
func lifecycle(t *testing.T, app *testApp, st *switchStore) (ids []string) {
	t.Helper()
	note := func() {
		if id := app.sessionCookie(app.client); id != "" && (len(ids) == 0 || ids[len(ids)-1] != id) {
			ids = append(ids, id)
		}
	}
	app.get("/put?secret=hunter2-value") // created
	note()
	app.get("/login") // regenerated, user alice
	note()
	app.getFrom("198.51.100.7", "/get?k=user") // anomaly: another network
	app.clock.advance(31 * time.Minute)
	app.get("/get?k=user") // expired: idle
	app.get("/put?k=v")    // created again
	note()
	app.get("/logout") // destroyed
	note()
	// An unknown but well-formed ID, and a store failure.
	stale := app.withCookie(ids[len(ids)-1])
	app.do(stale, "GET", "/get?k=k")
	app.get("/put?k=again")
	note()
	st.fail.Store(true)
	app.get("/get?k=k") // store load fails
	st.fail.Store(false)
	return ids
}

func TestLogsNeverHoldIDsOrValues(t *testing.T) {
	app, buf, _, st := logApp(t, slog.LevelDebug)
	ids := lifecycle(t, app, st)
	if len(ids) < 3 {
		t.Fatalf("the client held %d session IDs, want at least 3", len(ids))
	}
	out := buf.String()
	for _, id := range ids {
		if strings.Contains(out, id) {
			t.Errorf("the log holds session ID %q:\n%s", id, out)
		}
		if full := store.Key(id); strings.Contains(out, full) {
			t.Errorf("the log holds the full store key of %q; want only its 12-character short hash", id)
		}
	}
	for _, v := range []string{"hunter2-value", `"again"`} {
		if strings.Contains(out, v) {
			t.Errorf("the log holds the session value %s:\n%s", v, out)
		}
	}
	// Each of the IDs the client held is logged by its short hash.
	for _, id := range ids {
		if h := store.Key(id)[:12]; !strings.Contains(out, `"session":"`+h+`"`) {
			t.Errorf("no log line names session %s (short hash of one of the client's IDs):\n%s", h, out)
		}
	}
}

func TestLogLevelsAndAttributes(t *testing.T) {
	app, buf, _, st := logApp(t, slog.LevelDebug)
	lifecycle(t, app, st)
	type want struct {
		level, user, path, reason string
		err                       bool
	}
	wants := map[string]want{
		"sesame: session created":     {level: "DEBUG", path: "/put"},
		"sesame: session regenerated": {level: "DEBUG", path: "/login"},
		"sesame: session anomaly":     {level: "WARN", user: "alice", path: "/get", reason: "ip"},
		"sesame: session expired":     {level: "DEBUG", path: "/get"},
		"sesame: session destroyed":   {level: "DEBUG", path: "/logout"},
		"sesame: store load failed":   {level: "ERROR", path: "/get", err: true},
	}
	seen := map[string]bool{}
	for _, l := range buf.lines(t) {
		msg, _ := l["msg"].(string)
		w, ok := wants[msg]
		if !ok {
			continue
		}
		seen[msg] = true
		if l["level"] != w.level {
			t.Errorf("%q logged at %v, want %s", msg, l["level"], w.level)
		}
		if h, _ := l["session"].(string); len(h) != 12 {
			t.Errorf("%q: session attribute %q, want a 12-character short hash", msg, h)
		}
		if l["path"] != w.path {
			t.Errorf("%q: path %v, want %s", msg, l["path"], w.path)
		}
		if w.user != "" && l["user"] != w.user {
			t.Errorf("%q: user %v, want %s", msg, l["user"], w.user)
		}
		if w.reason != "" && l["reason"] != w.reason {
			t.Errorf("%q: reason %v, want %s", msg, l["reason"], w.reason)
		}
		if _, has := l["error"]; has != w.err {
			t.Errorf("%q: has error attribute %v, want %v", msg, has, w.err)
		}
	}
	for msg := range wants {
		if !seen[msg] {
			t.Errorf("no %q line was logged:\n%s", msg, buf.String())
		}
	}
}

func TestInfoIsQuietInProduction(t *testing.T) {
	app, buf, _, st := logApp(t, slog.LevelInfo)
	lifecycle(t, app, st)
	for _, l := range buf.lines(t) {
		switch l["msg"] {
		case "sesame: session anomaly", "sesame: store load failed":
			// Warn and Error: what an operator must see.
		default:
			t.Errorf("at level Info, a session's ordinary life logged %v %q", l["level"], l["msg"])
		}
	}
}

func TestEventsCarrySizeAndCount(t *testing.T) {
	app, _, rec, _ := logApp(t, slog.LevelError)
	app.get("/put?k=v") // "k" + `"v"` = 4 bytes
	created := rec.of(EventCreated)
	if len(created) != 1 || created[0].Size != 4 {
		t.Fatalf("EventCreated = %+v, want one with Size 4", created)
	}
	app.get("/get?k=k")
	var loads []Event
	for _, e := range rec.of(EventStoreOp) {
		if e.Op == "load" {
			loads = append(loads, e)
		}
	}
	if len(loads) != 1 || loads[0].Size != 4 || loads[0].Err != nil || len(loads[0].Hash) != 12 {
		t.Fatalf("load events = %+v, want one with Size 4, a short hash and no error", loads)
	}

	// Three sessions of one user, then "log out everywhere".
	for range 3 {
		app.client = app.newClient()
		app.get("/login")
	}
	n, err := app.m.LogoutEverywhere(context.Background(), "alice")
	if err != nil || n != 3 {
		t.Fatalf("LogoutEverywhere = %d, %v; want 3, nil", n, err)
	}
	var bulk []Event
	for _, e := range rec.of(EventDestroyed) {
		if e.Reason != "" {
			bulk = append(bulk, e)
		}
	}
	if len(bulk) != 1 || bulk[0].Reason != "logout-everywhere" || bulk[0].Count != 3 || bulk[0].UserID != "alice" || bulk[0].Hash != "" {
		t.Errorf("bulk destroy events = %+v, want one logout-everywhere of alice with Count 3", bulk)
	}
}

func TestEventKindNames(t *testing.T) {
	tests := []struct {
		kind EventKind
		want string
	}{
		{EventCreated, "created"},
		{EventRegenerated, "regenerated"},
		{EventDestroyed, "destroyed"},
		{EventExpired, "expired"},
		{EventAnomaly, "anomaly"},
		{EventStoreOp, "store_op"},
		{EventLost, "lost_update_dropped"},
		{EventUncommitted, "uncommitted"},
		{EventEvicted, "evicted"},
		{0, "unknown"},
		{EventEvicted + 1, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.kind.String(); got != tt.want {
			t.Errorf("EventKind(%d).String() = %q, want %q", int(tt.kind), got, tt.want)
		}
	}
}

// OnEvent gets the request's context, so that a tracer can put the event
// on the request's span.
func TestOnEventGetsTheRequestContext(t *testing.T) {
	type ctxKey struct{}
	var mu sync.Mutex
	var kinds []EventKind
	m, err := New(Config{Store: memstore.New(), Logger: discardLogger(), OnEvent: func(ctx context.Context, e Event) {
		if ctx.Value(ctxKey{}) != "req-1" {
			t.Errorf("event %v got a context without the request's value", e.Kind)
		}
		mu.Lock()
		kinds = append(kinds, e.Kind)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { From(r).Put("k", "v") }))
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, "req-1"))
	h.ServeHTTP(httptest.NewRecorder(), req)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(kinds, EventCreated) || !slices.Contains(kinds, EventStoreOp) {
		t.Errorf("events %v, want at least created and a store op", kinds)
	}
}

// A store that evicts sessions to stay within its bounds reports it through
// the manager's OnEvent, with the context of the request whose write made
// room, also when the store is wrapped; each event is logged at Debug.
func TestEvictionsAreEvents(t *testing.T) {
	type ctxKey struct{}
	tests := []struct {
		name string
		wrap func(store.Store) store.Store
	}{
		{"memstore", func(st store.Store) store.Store { return st }},
		{"memstore through store.Wrap", func(st store.Store) store.Store {
			return store.Wrap(st, store.WrapperFunc(func(ctx context.Context, _ *store.Call, next func(context.Context) error) error {
				return next(ctx)
			}))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := memstore.NewWithOptions(memstore.Options{MaxSessions: 2, Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			rec := &eventRecorder{}
			var ctxs []any
			m, err := New(Config{Store: tt.wrap(ms), Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
				OnEvent: func(ctx context.Context, e Event) {
					if e.Kind == EventEvicted {
						ctxs = append(ctxs, ctx.Value(ctxKey{}))
					}
					rec.record(ctx, e)
				}})
			if err != nil {
				t.Fatal(err)
			}
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { From(r).Put("k", "v") }))
			for i := range 4 {
				req := httptest.NewRequest("GET", "https://example.com/", nil)
				req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, i))
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
			got := rec.of(EventEvicted)
			if len(got) != 2 || got[0].Count != 1 || got[1].Count != 1 || got[0].Hash != "" {
				t.Fatalf("got evicted events %+v, want two of one session each", got)
			}
			if !slices.Equal(ctxs, []any{2, 3}) {
				t.Errorf("got the evictions in the contexts of requests %v, want 2 and 3", ctxs)
			}
			n := 0
			for _, line := range logs.lines(t) {
				if line["msg"] == "sesame: session evicted" && line["level"] == "DEBUG" && line["count"] == 1.0 {
					n++
				}
			}
			if n != 2 {
				t.Errorf("got %d Debug lines of evictions, want 2:\n%s", n, logs.String())
			}
		})
	}
}

// The store that New creates when Config.Store is nil logs its warnings to
// the manager's logger.
func TestTheDefaultStoreLogsToTheManagersLogger(t *testing.T) {
	var logs logBuffer
	m, err := New(Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ms := m.Store().(*memstore.Store)
	// Fill one shard (keys starting with 00: a 64th of the store's
	// memory, 4 MiB) with records just under the default size limit.
	big := map[string][]byte{"v": bytes.Repeat([]byte("x"), store.DefaultMaxRecordSize-1)}
	for i := range memstore.DefaultMaxMemory/64/store.DefaultMaxRecordSize + 1 {
		key := fmt.Sprintf("00%062x", i)
		err := ms.Apply(t.Context(), key, store.Change{Create: true, Set: big, Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(logs.String(), "memstore: full") {
		t.Errorf("got logs %q, want the store's warning", logs.String())
	}
}
