package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/csrf"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/remember"
	"github.com/sesamego/sesame/store"
)

// metric returns the family called name (without the namespace) gathered
// from reg.
func family(t *testing.T, reg *prometheus.Registry, name string) *dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() == "sesame_"+name {
			return f
		}
	}
	t.Fatalf("no metric sesame_%s", name)
	return nil
}

// sample returns the metric of the family with the given label pairs
// ("op", "load", ...), or nil.
func sample(t *testing.T, reg *prometheus.Registry, name string, labels ...string) *dto.Metric {
	t.Helper()
	f := family(t, reg, name)
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		if len(have) != len(labels)/2 {
			continue
		}
		for i := 0; i < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return m
	}
	return nil
}

// count returns a counter's value, or a histogram's sample count.
func count(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	m := sample(t, reg, name, labels...)
	switch {
	case m == nil:
		return -1 // the series does not exist
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("sesame_%s%v is neither a counter nor a histogram", name, labels)
	return 0
}

func wantCount(t *testing.T, reg *prometheus.Registry, want float64, name string, labels ...string) {
	t.Helper()
	if got := count(t, reg, name, labels...); got != want {
		t.Errorf("sesame_%s%v = %v, want %v", name, labels, got, want)
	}
}

// switchStore is a memstore whose calls can be made to fail.
type switchStore struct {
	*memstore.Store
	fail atomic.Bool
}

var errDown = errors.New("connection refused")

func (s *switchStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	if s.fail.Load() {
		return store.Record{}, false, fmt.Errorf("%w: %w", store.ErrUnavailable, errDown)
	}
	return s.Store.Load(ctx, key)
}

// LoadShared is what sesame calls on a memstore; it fails like Load.
func (s *switchStore) LoadShared(ctx context.Context, key string) (store.Record, bool, error) {
	if s.fail.Load() {
		return store.Record{}, false, fmt.Errorf("%w: %w", store.ErrUnavailable, errDown)
	}
	return s.Store.LoadShared(ctx, key)
}

// app is a sesame app instrumented as the package documentation shows.
type app struct {
	t        *testing.T
	reg      *prometheus.Registry
	met      *Metrics
	sessions *sesame.Manager
	st       *switchStore
	srv      *httptest.Server
	release  chan struct{} // unblocks /slow-put
	loaded   chan struct{} // /slow-put has loaded its session
}

func newApp(t *testing.T) *app {
	t.Helper()
	a := &app{t: t, reg: prometheus.NewRegistry(), st: &switchStore{Store: memstore.New()},
		release: make(chan struct{}), loaded: make(chan struct{}, 1)}
	var err error
	if a.met, err = New(a.reg); err != nil {
		t.Fatal(err)
	}
	a.sessions, err = sesame.New(sesame.Config{
		Store:        a.st,
		OnEvent:      a.met.Observe,
		ErrorHandler: a.met.ErrorHandler(nil),
		Logger:       slog.New(slog.DiscardHandler),
		Anomaly: sesame.AnomalyPolicy{
			Action: sesame.AnomalyFlag,
			ClientIP: func(r *http.Request) string {
				if ip := r.Header.Get("X-Test-IP"); ip != "" {
					return ip
				}
				return "192.0.2.1"
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		for k, v := range r.URL.Query() {
			sesame.From(r).Put(k, v[0])
		}
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		v, _ := sesame.Get[string](sesame.From(r), r.URL.Query().Get("k"))
		io.WriteString(w, v)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		if err := s.Regenerate(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.SetUser("alice")
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) { sesame.From(r).Destroy() })
	mux.HandleFunc("/slow-put", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		s.Get("k") // load now
		a.loaded <- struct{}{}
		<-a.release
		s.Put("late", "write")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	a.srv = httptest.NewTLSServer(a.met.Handler(a.sessions.Handler(mux)))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *a.srv.Client()
	c.Jar = jar
	return &c
}

func (a *app) get(c *http.Client, path string, header ...string) int {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (a *app) sessionID(c *http.Client) string {
	u, _ := url.Parse(a.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == a.sessions.CookieName() {
			return ck.Value
		}
	}
	return ""
}

func TestNewValidates(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded, want an error")
	}
	if _, err := NewWithOptions(prometheus.NewRegistry(), Options{StoreBuckets: []float64{1, 0.5}}); err == nil {
		t.Error("decreasing StoreBuckets accepted")
	}
	reg := prometheus.NewRegistry()
	if _, err := New(reg); err != nil {
		t.Fatalf("New: %v", err)
	}
	_, err := New(reg)
	if err == nil {
		t.Fatal("a second Metrics on one registry was accepted")
	}
	if !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		t.Errorf("error %v does not wrap prometheus.AlreadyRegisteredError", err)
	}
	// The failed second New left the first one's collectors alone, and
	// another namespace fits beside them.
	if _, err := NewWithOptions(reg, Options{Namespace: "admin"}); err != nil {
		t.Errorf("a Metrics of another namespace was refused: %v", err)
	}
}

func TestNothingIsRegisteredGlobally(t *testing.T) {
	fams, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "sesame_") {
			t.Errorf("%s is registered on the default registry", f.GetName())
		}
	}
}

func TestKnownSeriesStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"sessions_created_total", nil},
		{"store_operations_total", []string{"op", "load", "outcome", "error"}},
		{"store_operation_duration_seconds", []string{"op", "apply"}},
		{"sessions_expired_total", []string{"reason", "idle"}},
		{"csrf_failures_total", []string{"reason", "bad_token"}},
		{"remember_failures_total", []string{"kind", "theft"}},
		{"errors_total", []string{"kind", "store_unavailable"}},
		{"cookie_size_warnings_total", []string{"kind", "cookie"}},
	} {
		wantCount(t, reg, 0, c.name, c.labels...)
	}
}

func TestSessionLifecycleIsCounted(t *testing.T) {
	a := newApp(t)
	c := a.client()

	a.get(c, "/put?k=v") // created: "k" + `"v"` = 4 bytes
	wantCount(t, a.reg, 1, "sessions_created_total")
	wantCount(t, a.reg, 1, "store_operations_total", "op", "apply", "outcome", "ok")
	wantCount(t, a.reg, 0, "store_operations_total", "op", "load", "outcome", "ok")

	a.get(c, "/get?k=k")
	wantCount(t, a.reg, 1, "store_operations_total", "op", "load", "outcome", "ok")
	wantCount(t, a.reg, 1, "store_operation_duration_seconds", "op", "load")
	size := sample(t, a.reg, "session_bytes").GetHistogram()
	if size.GetSampleCount() != 2 || size.GetSampleSum() != 8 {
		t.Errorf("session_bytes: %d samples summing to %v, want 2 of 4 bytes", size.GetSampleCount(), size.GetSampleSum())
	}

	a.get(c, "/login")
	wantCount(t, a.reg, 1, "sessions_regenerated_total")
	// The new ID is created, then the old record becomes a tombstone.
	wantCount(t, a.reg, 3, "store_operations_total", "op", "apply", "outcome", "ok")

	a.get(c, "/get?k=k", "X-Test-IP", "198.51.100.7")
	wantCount(t, a.reg, 1, "session_anomalies_total", "reason", "ip")

	stale := a.sessionID(c)
	a.get(c, "/logout")
	wantCount(t, a.reg, 1, "sessions_destroyed_total", "reason", "destroy")

	// The logged-out ID comes back: a tombstone, not an expiry.
	replay := a.client()
	u, _ := url.Parse(a.srv.URL)
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: a.sessions.CookieName(), Value: stale, Path: "/"}})
	a.get(replay, "/get?k=k")
	for _, reason := range []string{"expired", "idle", "absolute"} {
		wantCount(t, a.reg, 0, "sessions_expired_total", "reason", reason)
	}

	// Three devices of alice, logged out everywhere at once.
	for range 3 {
		a.get(a.client(), "/login")
	}
	if n, err := a.sessions.LogoutEverywhere(context.Background(), "alice"); err != nil || n != 3 {
		t.Fatalf("LogoutEverywhere = %d, %v; want 3", n, err)
	}
	wantCount(t, a.reg, 3, "sessions_destroyed_total", "reason", "logout-everywhere")
}

func TestStoreFailuresAndErrorsAreCounted(t *testing.T) {
	a := newApp(t)
	c := a.client()
	a.get(c, "/put?k=v")
	a.st.fail.Store(true)
	if code := a.get(c, "/get?k=k"); code != http.StatusServiceUnavailable {
		t.Errorf("a request on a failing store got %d, want 503", code)
	}
	wantCount(t, a.reg, 1, "store_operations_total", "op", "load", "outcome", "error")
	wantCount(t, a.reg, 1, "errors_total", "kind", "store_unavailable")
	wantCount(t, a.reg, 0, "store_operations_total", "op", "load", "outcome", "ok")
}

func TestLostUpdateIsCounted(t *testing.T) {
	a := newApp(t)
	c := a.client()
	a.get(c, "/put?k=v")
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.get(c, "/slow-put")
	}()
	<-a.loaded
	a.get(c, "/logout") // the session is gone before /slow-put commits
	close(a.release)
	<-done
	wantCount(t, a.reg, 1, "lost_updates_total")
}

func TestObserveClassifiesStoreOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		event   sesame.Event
		op, out string
	}{
		{"a call without error is ok", sesame.Event{Op: "apply"}, "apply", OutcomeOK},
		{"a failing call is an error", sesame.Event{Op: "apply", Err: store.ErrUnavailable}, "apply", OutcomeError},
		{"a call that ran out of time is a timeout", sesame.Event{Op: "load", Err: fmt.Errorf("x: %w", context.DeadlineExceeded)}, "load", OutcomeTimeout},
		{"a call whose client went away is canceled", sesame.Event{Op: "lock", Err: fmt.Errorf("x: %w", context.Canceled)}, "lock", OutcomeCanceled},
		{"an operation sesame does not know yet is counted under its name", sesame.Event{Op: "ping"}, "ping", OutcomeOK},
		{"an event without an operation is counted as other", sesame.Event{}, "other", OutcomeOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, _ := New(reg)
			e := tt.event
			e.Kind = sesame.EventStoreOp
			e.Duration = 3 * time.Millisecond
			m.Observe(context.Background(), e)
			wantCount(t, reg, 1, "store_operations_total", "op", tt.op, "outcome", tt.out)
			h := sample(t, reg, "store_operation_duration_seconds", "op", tt.op).GetHistogram()
			if h.GetSampleCount() != 1 || h.GetSampleSum() != 0.003 {
				t.Errorf("latency: %d samples summing to %v, want 1 of 0.003", h.GetSampleCount(), h.GetSampleSum())
			}
		})
	}
}

func TestObserveCountsEventKinds(t *testing.T) {
	tests := []struct {
		name   string
		event  sesame.Event
		metric string
		labels []string
		want   float64
	}{
		{"an idle expiry", sesame.Event{Kind: sesame.EventExpired, Reason: "idle"}, "sessions_expired_total", []string{"reason", "idle"}, 1},
		{"an absolute expiry", sesame.Event{Kind: sesame.EventExpired, Reason: "absolute"}, "sessions_expired_total", []string{"reason", "absolute"}, 1},
		{"a user-agent anomaly", sesame.Event{Kind: sesame.EventAnomaly, Reason: "user-agent"}, "session_anomalies_total", []string{"reason", "user-agent"}, 1},
		{"logging out other devices counts every session", sesame.Event{Kind: sesame.EventDestroyed, Reason: "logout-others", Count: 4}, "sessions_destroyed_total", []string{"reason", "logout-others"}, 4},
		{"logging out other devices when there are none counts nothing", sesame.Event{Kind: sesame.EventDestroyed, Reason: "logout-others"}, "sessions_destroyed_total", []string{"reason", "logout-others"}, 0},
		{"a lost update", sesame.Event{Kind: sesame.EventLost}, "lost_updates_total", nil, 1},
		{"a response written around sesame", sesame.Event{Kind: sesame.EventUncommitted, Reason: "written-around"}, "uncommitted_total", []string{"reason", "written-around"}, 1},
		{"an eviction counts every session evicted", sesame.Event{Kind: sesame.EventEvicted, Count: 3}, "sessions_evicted_total", nil, 3},
		{"an empty created session is counted but not measured", sesame.Event{Kind: sesame.EventCreated}, "session_bytes", nil, 0},
		{"a failed load is not measured", sesame.Event{Kind: sesame.EventStoreOp, Op: "load", Size: 10, Err: errDown}, "session_bytes", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, _ := New(reg)
			m.Observe(context.Background(), tt.event)
			wantCount(t, reg, tt.want, tt.metric, tt.labels...)
		})
	}
}

func TestObserveAllocatesNothing(t *testing.T) {
	m, _ := New(prometheus.NewRegistry())
	events := []sesame.Event{
		{Kind: sesame.EventStoreOp, Op: "load", Duration: time.Millisecond, Size: 100},
		{Kind: sesame.EventStoreOp, Op: "apply", Duration: time.Millisecond},
		{Kind: sesame.EventCreated, Size: 50},
		{Kind: sesame.EventRegenerated},
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, e := range events {
			m.Observe(context.Background(), e)
		}
	})
	if allocs != 0 {
		t.Errorf("Observe allocates %v times per request's events, want 0", allocs)
	}
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHandlerMeasuresCookies(t *testing.T) {
	big := strings.Repeat("v", 3700)
	tests := []struct {
		name        string
		cookies     []string // Cookie header lines
		samples     uint64
		header      float64 // header warnings
		cookie      float64 // single-cookie warnings
		logged      []string
		notLogged   []string
		wantLogSize int // lines
	}{
		{name: "a request without cookies is not measured"},
		{name: "small cookies are measured quietly", cookies: []string{"a=1; b=2"}, samples: 1},
		{name: "a header over 1 KB is a warning that names the largest cookie",
			cookies: []string{"theme=dark; cart=" + strings.Repeat("x", 1100)}, samples: 1, header: 1,
			logged: []string{`msg="sesame: large Cookie header"`, "largest_cookie=cart", "bytes=1117", "largest_bytes=1105", "path=/"}, notLogged: []string{"xxxx", "dark"}, wantLogSize: 1},
		{name: "a cookie nearing 4 KB is a warning of its own",
			cookies: []string{"huge=" + big}, samples: 1, header: 1, cookie: 1,
			logged: []string{`msg="sesame: cookie nears the 4096-byte limit"`, "cookie=huge", "bytes=3705"}, notLogged: []string{"vvvv"}, wantLogSize: 2},
		{name: "cookies split over several header lines are added up",
			cookies: []string{"a=" + strings.Repeat("1", 600), "b=" + strings.Repeat("2", 600)}, samples: 1, header: 1,
			logged: []string{"bytes=1206", "largest_cookie=a"}, wantLogSize: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			logs := &syncBuffer{}
			m, err := NewWithOptions(reg, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			reached := false
			h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
			r := httptest.NewRequest("GET", "/", nil)
			for _, l := range tt.cookies {
				r.Header.Add("Cookie", l)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if !reached {
				t.Fatal("the wrapped handler was not called")
			}
			if got := sample(t, reg, "cookie_header_bytes").GetHistogram().GetSampleCount(); got != tt.samples {
				t.Errorf("cookie_header_bytes has %d samples, want %d", got, tt.samples)
			}
			wantCount(t, reg, tt.header, "cookie_size_warnings_total", "kind", "header")
			wantCount(t, reg, tt.cookie, "cookie_size_warnings_total", "kind", "cookie")
			out := logs.String()
			for _, s := range tt.logged {
				if !strings.Contains(out, s) {
					t.Errorf("log lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.notLogged {
				if strings.Contains(out, s) {
					t.Errorf("log holds a cookie value (%q):\n%s", s, out)
				}
			}
			if n := strings.Count(out, "\n"); n != tt.wantLogSize {
				t.Errorf("logged %d lines, want %d:\n%s", n, tt.wantLogSize, out)
			}
		})
	}
}

func TestHandlerWarningsAreRateLimited(t *testing.T) {
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	m, _ := NewWithOptions(reg, Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), CookieHeaderLimit: 10})
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	send := func() {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "a=0123456789abcdef")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	for range 5 {
		send()
	}
	if n := strings.Count(logs.String(), "large Cookie header"); n != 1 {
		t.Errorf("5 requests within a minute logged %d warnings, want 1", n)
	}
	wantCount(t, reg, 5, "cookie_size_warnings_total", "kind", "header")
	now = now.Add(DefaultWarnInterval)
	send()
	if n := strings.Count(logs.String(), "large Cookie header"); n != 2 {
		t.Errorf("after a minute, %d warnings, want 2", n)
	}
	if !strings.Contains(logs.String(), "suppressed=4") {
		t.Errorf("the second warning does not report the 4 suppressed ones:\n%s", logs)
	}
}

func TestHandlerLimitsCanBeTurnedOff(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, _ := NewWithOptions(reg, Options{CookieHeaderLimit: -1, CookieLimit: -1, Logger: slog.New(slog.DiscardHandler)})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "a="+strings.Repeat("x", 5000))
	m.Handler(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), r)
	wantCount(t, reg, 0, "cookie_size_warnings_total", "kind", "header")
	wantCount(t, reg, 0, "cookie_size_warnings_total", "kind", "cookie")
	if got := sample(t, reg, "cookie_header_bytes").GetHistogram().GetSampleCount(); got != 1 {
		t.Errorf("cookie_header_bytes has %d samples, want 1: sizes are still measured", got)
	}
}

func TestCSRFErrorHandlerCountsReasons(t *testing.T) {
	// The Protector answers with its own handler, or (without one) with the
	// session manager's: either way each refusal is counted once, by reason.
	for _, own := range []bool{true, false} {
		t.Run(fmt.Sprintf("own handler %v", own), func(t *testing.T) { countCSRFReasons(t, own) })
	}
}

func countCSRFReasons(t *testing.T, own bool) {
	reg := prometheus.NewRegistry()
	met, _ := New(reg)
	// The session middleware refuses cross-origin requests before the csrf
	// Protector: its error handler counts them.
	sessions, _ := sesame.New(sesame.Config{Logger: slog.New(slog.DiscardHandler), ErrorHandler: met.ErrorHandler(nil)})
	cfg := csrf.Config{Sessions: sessions}
	if own {
		cfg.ErrorHandler = met.CSRFErrorHandler(nil)
	}
	protect, err := csrf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := sessions.Handler(protect.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	tests := []struct {
		name   string
		header map[string]string
		form   string
		reason string
	}{
		{"a cross-site post", map[string]string{"Sec-Fetch-Site": "cross-site"}, "_csrf=x", CSRFCrossOrigin},
		{"a same-origin post without a token", map[string]string{"Sec-Fetch-Site": "same-origin"}, "", CSRFMissingToken},
		{"a same-origin post with a forged token", map[string]string{"Sec-Fetch-Site": "same-origin"}, "_csrf=forged", CSRFBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "https://example.com/transfer", strings.NewReader(tt.form))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusForbidden {
				t.Errorf("got %d, want 403", w.Code)
			}
			wantCount(t, reg, 1, "csrf_failures_total", "reason", tt.reason)
		})
	}
}

func TestRememberTheftIsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	met, _ := New(reg)
	sessions, _ := sesame.New(sesame.Config{Logger: slog.New(slog.DiscardHandler)})
	rem, err := remember.New(remember.Config{
		Tokens:   remember.NewMemoryStore(),
		Sessions: sessions,
		Grace:    time.Nanosecond, // any reuse of a rotated token is theft
		Logger:   slog.New(slog.DiscardHandler),
		OnTheft:  met.OnRememberTheft,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := rem.Login(w, r, "alice", true); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, sesame.From(r).UserID()) })
	h := sessions.Handler(rem.Handler(mux))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/login", nil))
	var token *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == rem.CookieName() {
			token = c
		}
	}
	if token == nil {
		t.Fatal("login set no remember-me cookie")
	}
	visit := func() string {
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		r.AddCookie(&http.Cookie{Name: token.Name, Value: token.Value})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Body.String()
	}
	if got := visit(); got != "alice" { // the legitimate browser: rotates the token
		t.Fatalf("the remember-me cookie logged in %q, want alice", got)
	}
	wantCount(t, reg, 0, "remember_failures_total", "kind", RememberTheft)
	if got := visit(); got != "" { // the same, stolen, token again
		t.Fatalf("a replayed token logged in %q, want nobody", got)
	}
	wantCount(t, reg, 1, "remember_failures_total", "kind", RememberTheft)
}

func TestFailureHelpersBoundTheirLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, _ := New(reg)
	m.RememberFailure(RememberInvalid)
	m.RememberFailure("")
	m.RememberFailure(strings.Repeat("k", 200))
	m.CSRFFailure(CSRFBadToken)
	m.ObserveSessionSize(300)
	wantCount(t, reg, 1, "remember_failures_total", "kind", RememberInvalid)
	wantCount(t, reg, 1, "remember_failures_total", "kind", "other")
	wantCount(t, reg, 1, "remember_failures_total", "kind", strings.Repeat("k", maxLabelLen))
	wantCount(t, reg, 1, "csrf_failures_total", "reason", CSRFBadToken)
	wantCount(t, reg, 1, "session_bytes")
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: redis down", sesame.ErrStoreUnavailable), ErrorStoreUnavailable},
		{sesame.ErrLockTimeout, ErrorLockTimeout},
		{fmt.Errorf("%w: chan", sesame.ErrEncode), ErrorEncode},
		{sesame.ErrTooLarge, ErrorTooLarge},
		{errors.New("boom"), ErrorOther},
	}
	for _, tt := range tests {
		if got := ErrorKind(tt.err); got != tt.want {
			t.Errorf("ErrorKind(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestMetricsEndpointLintsClean(t *testing.T) {
	a := newApp(t)
	c := a.client()
	a.get(c, "/put?k=v")
	a.get(c, "/get?k=k")
	resp, err := c.Get(a.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"sesame_sessions_created_total 1\n",
		`sesame_store_operations_total{op="load",outcome="ok"} 1` + "\n",
		"# TYPE sesame_store_operation_duration_seconds histogram",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	problems, err := testutil.GatherAndLint(a.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestNilMetricsRecordsNothing(t *testing.T) {
	var m *Metrics
	m.Observe(context.Background(), sesame.Event{Kind: sesame.EventCreated, Size: 10})
	m.ObserveSessionSize(10)
	m.CSRFFailure(CSRFBadToken)
	m.RememberFailure(RememberInvalid)
	m.OnRememberTheft(context.Background(), "u")
	next := http.NotFoundHandler()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "a="+strings.Repeat("x", 5000))
	w := httptest.NewRecorder()
	m.Handler(next).ServeHTTP(w, r)
	if w.Code != http.StatusNotFound {
		t.Errorf("nil Metrics' Handler answered %d, want the wrapped handler's 404", w.Code)
	}
	w = httptest.NewRecorder()
	m.ErrorHandler(nil)(w, r, sesame.ErrStoreUnavailable)
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("nil Metrics' default error handler answered %d, want 503", w.Code)
	}
	w = httptest.NewRecorder()
	m.CSRFErrorHandler(nil)(w, r, csrf.ErrBadToken)
	if w.Code != http.StatusForbidden {
		t.Errorf("nil Metrics' default CSRF handler answered %d, want 403", w.Code)
	}
}

func TestWrappersCallTheAppsHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, _ := New(reg)
	var got []error
	own := func(w http.ResponseWriter, r *http.Request, err error) { got = append(got, err); w.WriteHeader(418) }
	w := httptest.NewRecorder()
	m.ErrorHandler(own)(w, httptest.NewRequest("GET", "/", nil), sesame.ErrTooLarge)
	w2 := httptest.NewRecorder()
	m.CSRFErrorHandler(own)(w2, httptest.NewRequest("POST", "/", nil), csrf.ErrMissingToken)
	if len(got) != 2 || w.Code != 418 || w2.Code != 418 {
		t.Errorf("the app's handlers saw %v (codes %d, %d), want both errors and their 418s", got, w.Code, w2.Code)
	}
	wantCount(t, reg, 1, "errors_total", "kind", ErrorTooLarge)
	wantCount(t, reg, 1, "csrf_failures_total", "reason", CSRFMissingToken)
}

func TestUnknownOutcomesAreCountedApart(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		fmt.Errorf("redisstore: apply: %w (%w)", store.ErrOutcomeUnknown, context.DeadlineExceeded),
		fmt.Errorf("sqlstore: apply: %w", store.ErrOutcomeUnknown),
		fmt.Errorf("%w: %w", store.ErrUnavailable, errDown),
	} {
		m.Observe(context.Background(), sesame.Event{Kind: sesame.EventStoreOp, Op: "apply", Err: err})
	}
	wantCount(t, reg, 2, "store_operations_total", "op", "apply", "outcome", "unknown")
	wantCount(t, reg, 1, "store_operations_total", "op", "apply", "outcome", "error")
	wantCount(t, reg, 0, "store_operations_total", "op", "apply", "outcome", "timeout")
}
