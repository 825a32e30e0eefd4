package otel_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/memstore"
	sotel "github.com/sesamego/sesame/otel"
	"github.com/sesamego/sesame/store"
)

// telemetry is an SDK tracer and meter provider that keep what they record
// in memory.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

// attr returns the value of the attribute k of a span, or "" if it has none.
func attr(s sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == k {
			return kv.Value.String()
		}
	}
	return ""
}

// storeSpans returns the store spans that are children of parent, in order.
func (tel *telemetry) storeSpans(parent sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tel.spans.Ended() {
		if strings.HasPrefix(s.Name(), "sesame.store.") && s.Parent().SpanID() == parent.SpanContext().SpanID() {
			out = append(out, s)
		}
	}
	return out
}

// app serves a small shop under a request span per request, with the store
// traced and the events measured.
type app struct {
	t      *testing.T
	tel    *telemetry
	srv    *httptest.Server
	client *http.Client
	m      *sesame.Manager

	mu       sync.Mutex
	requests []sdktrace.ReadOnlySpan // the request spans, in order
}

func newApp(t *testing.T, inner store.Store) *app {
	t.Helper()
	tel := newTelemetry(t)
	met, err := sotel.NewMetrics(tel.mp)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sesame.New(sesame.Config{
		Store: sotel.WrapStore(inner, sotel.TraceOptions{Name: "sessions", TracerProvider: tel.tp}),
		OnEvent: func(ctx context.Context, e sesame.Event) {
			met.Observe(ctx, e)
			sotel.AddSpanEvent(ctx, e)
		},
		StoreTimeout: time.Second,
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
		s := sesame.From(r)
		if err := s.Err(); err != nil {
			http.Error(w, "store down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, sesame.GetOr(s, r.URL.Query().Get("k"), ""))
	})
	mux.HandleFunc("/flash", func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Flash("notice", r.URL.Query().Get("v"))
	})
	mux.HandleFunc("/show-flash", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sesame.From(r).Flashes().String("notice"))
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		if err := s.Regenerate(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.Put("user", "alice")
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		_ = sesame.From(r).Destroy()
	})
	a := &app{t: t, tel: tel, m: m}
	tracer := tel.tp.Tracer("test")
	// The request span, as otelhttp would start it, around sesame's
	// middleware.
	withSpan := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), "GET "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		m.Handler(mux).ServeHTTP(w, r.WithContext(ctx))
		span.End()
		a.mu.Lock()
		a.requests = append(a.requests, span.(sdktrace.ReadOnlySpan))
		a.mu.Unlock()
	})
	a.srv = httptest.NewTLSServer(withSpan)
	t.Cleanup(a.srv.Close)
	a.client = a.srv.Client()
	a.client.Jar, _ = cookiejar.New(nil)
	return a
}

// get makes a request and returns its status, body and request span.
func (a *app) get(path string) (int, string, sdktrace.ReadOnlySpan) {
	a.t.Helper()
	resp, err := a.client.Get(a.srv.URL + path)
	if err != nil {
		a.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	return resp.StatusCode, string(b), a.requests[len(a.requests)-1]
}

// cookie returns the session cookie the browser holds, or "".
func (a *app) cookie() string {
	u, _ := url.Parse(a.srv.URL)
	for _, c := range a.client.Jar.Cookies(u) {
		if c.Name == a.m.CookieName() {
			return c.Value
		}
	}
	return ""
}

// call is what a test expects of one store span.
type call struct {
	op, outcome, hash string
}

func TestARequestGivesChildSpansOfItsSpan(t *testing.T) {
	a := newApp(t, memstore.New())
	const secret, flashSecret = "v4lue-0f-the-sessi0n", "fl4sh-message-v4lue"

	_, _, put := a.get("/put?color=" + secret)
	id1 := a.cookie()
	h1 := store.Key(id1)[:12]
	_, body, get := a.get("/get?k=color")
	if body != secret {
		t.Fatalf("get returned %q, want %q", body, secret)
	}
	a.get("/flash?v=" + flashSecret)
	_, body, show := a.get("/show-flash")
	if body != flashSecret {
		t.Fatalf("show-flash returned %q, want %q", body, flashSecret)
	}
	_, _, login := a.get("/login")
	id2 := a.cookie()
	h2 := store.Key(id2)[:12]
	_, _, logout := a.get("/logout")
	_, _, nothing := a.get("/nothing")

	tests := []struct {
		name    string
		request sdktrace.ReadOnlySpan
		want    []call // calls that must be among the request's store spans
		event   string // a span event the request span must have
	}{
		{"a new session is created by one apply", put, []call{{"apply", "ok", h1}}, "sesame.session.created"},
		{"a read loads once", get, []call{{"load", "ok", h1}}, ""},
		{"a flash is taken", show, []call{{"load", "ok", h1}, {"take", "ok", h1}}, ""},
		{"a login creates the new session and retires the old one", login,
			[]call{{"load", "ok", h1}, {"apply", "ok", h2}, {"apply", "ok", h1}}, "sesame.session.regenerated"},
		{"a logout retires the session", logout, []call{{"load", "ok", h2}}, "sesame.session.destroyed"},
		{"a request that does not touch its session calls no store", nothing, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans := a.tel.storeSpans(tt.request)
			var got []call
			for _, s := range spans {
				got = append(got, call{attr(s, sotel.AttrOperation), attr(s, sotel.AttrOutcome), attr(s, sotel.AttrSessionHash)})
				if s.SpanContext().TraceID() != tt.request.SpanContext().TraceID() {
					t.Errorf("%s is in another trace than its request", s.Name())
				}
				if s.SpanKind() != trace.SpanKindInternal {
					t.Errorf("%s has kind %v, want internal", s.Name(), s.SpanKind())
				}
				if want := "sesame.store." + attr(s, sotel.AttrOperation); s.Name() != want {
					t.Errorf("span name %q, want %q", s.Name(), want)
				}
				if n := attr(s, sotel.AttrStoreName); n != "sessions" {
					t.Errorf("%s: store name %q, want sessions", s.Name(), n)
				}
				if s.Status().Code != codes.Unset {
					t.Errorf("%s: status %v, want unset", s.Name(), s.Status())
				}
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("store spans %v, want %v among them", got, w)
				}
			}
			if tt.want == nil && len(got) != 0 {
				t.Errorf("store spans %v, want none", got)
			}
			if tt.event != "" && !slices.ContainsFunc(tt.request.Events(), func(e sdktrace.Event) bool {
				return e.Name == tt.event
			}) {
				t.Errorf("request span has no event %s", tt.event)
			}
		})
	}

	// An ID the store does not know: a load that finds nothing.
	forged := newForgedID(t)
	u, _ := url.Parse(a.srv.URL)
	a.client.Jar.SetCookies(u, []*http.Cookie{{Name: a.m.CookieName(), Value: forged, Path: "/"}})
	_, _, unknown := a.get("/get?k=color")
	if got := a.tel.storeSpans(unknown); len(got) != 1 || attr(got[0], sotel.AttrOutcome) != "not_found" ||
		attr(got[0], sotel.AttrSessionHash) != store.Key(forged)[:12] {
		t.Errorf("a load of an unknown ID gave spans %v, want one load with outcome not_found", got)
	}

	// Nothing the spans carry holds a session ID, a full store key or a
	// value: scan every string of every span.
	secrets := []string{id1, id2, forged, store.Key(id1), store.Key(id2), store.Key(forged), secret, flashSecret}
	for _, s := range a.tel.spans.Ended() {
		for _, str := range spanStrings(s) {
			for _, sec := range secrets {
				if strings.Contains(str, sec) {
					t.Errorf("span %s carries %q, which holds a session ID, a key or a value", s.Name(), str)
				}
			}
		}
	}
}

// spanStrings returns every string a span exports: its name, status, and
// the keys and values of its attributes, events and links.
func spanStrings(s sdktrace.ReadOnlySpan) []string {
	out := []string{s.Name(), s.Status().Description}
	kvs := slices.Clone(s.Attributes())
	for _, e := range s.Events() {
		out = append(out, e.Name)
		kvs = append(kvs, e.Attributes...)
	}
	for _, l := range s.Links() {
		kvs = append(kvs, l.Attributes...)
	}
	for _, kv := range kvs {
		out = append(out, string(kv.Key), kv.Value.String())
	}
	return out
}

// newForgedID returns a well-formed session ID that no server issued.
func newForgedID(t *testing.T) string {
	t.Helper()
	var b [32]byte // a session ID is 256 bits in base64url
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// failing is a store whose every call fails with err, and whose loads find
// nothing when err is nil.
type failing struct{ err error }

func (f failing) Load(context.Context, string) (store.Record, bool, error) {
	return store.Record{}, false, f.err
}
func (f failing) Apply(context.Context, string, store.Change) error { return f.err }
func (f failing) Delete(context.Context, string) error              { return f.err }

func TestOutcomesAndErrorsOnSpans(t *testing.T) {
	key := store.Key("an ID")
	unavailable := fmt.Errorf("%w: connection refused", store.ErrUnavailable)
	tests := []struct {
		name        string
		err         error
		op          func(st store.Store) error
		wantOutcome string
		wantFailed  bool
	}{
		{"a load that finds a record", nil, func(st store.Store) error {
			st.Apply(context.Background(), key, store.Change{Create: true, Expires: time.Now().Add(time.Hour)})
			_, _, err := st.Load(context.Background(), key)
			return err
		}, "ok", false},
		{"a load that finds nothing", nil, func(st store.Store) error {
			_, _, err := st.Load(context.Background(), store.Key("nobody"))
			return err
		}, "not_found", false},
		{"an update of a session that is gone", nil, func(st store.Store) error {
			return st.Apply(context.Background(), store.Key("gone"), store.Change{Set: map[string][]byte{"k": []byte("1")}})
		}, "not_found", false},
		{"a create over a live session", nil, func(st store.Store) error {
			c := store.Change{Create: true, Expires: time.Now().Add(time.Hour)}
			st.Apply(context.Background(), key, c)
			return st.Apply(context.Background(), key, c)
		}, "exists", false},
		{"a store that is down", unavailable, nil, "unavailable", true},
		{"a change whose outcome is unknown", fmt.Errorf("redisstore: apply: %w", store.ErrOutcomeUnknown), nil, "unknown", true},
		{"a store call that runs out of time", fmt.Errorf("%w: %w", store.ErrUnavailable, context.DeadlineExceeded), nil, "timeout", true},
		{"a request whose client went away", context.Canceled, nil, "canceled", true},
		{"a record too large", fmt.Errorf("memstore: %w", store.ErrTooLarge), nil, "error", true},
		{"a malformed key", nil, func(st store.Store) error {
			_, _, err := st.Load(context.Background(), "not a key")
			return err
		}, "error", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := newTelemetry(t)
			var inner store.Store = memstore.New()
			if tt.err != nil {
				inner = failing{tt.err}
			}
			st := sotel.WrapStore(inner, sotel.TraceOptions{TracerProvider: tel.tp})
			op := tt.op
			if op == nil {
				op = func(st store.Store) error { return st.Apply(context.Background(), key, store.Change{}) }
			}
			err := op(st)
			spans := tel.spans.Ended()
			s := spans[len(spans)-1]
			if got := attr(s, sotel.AttrOutcome); got != tt.wantOutcome {
				t.Errorf("outcome %q, want %q", got, tt.wantOutcome)
			}
			exceptions := slices.ContainsFunc(s.Events(), func(e sdktrace.Event) bool { return e.Name == "exception" })
			if tt.wantFailed {
				if s.Status().Code != codes.Error {
					t.Errorf("status %v, want Error", s.Status())
				}
				if !exceptions || err == nil {
					t.Errorf("the error (%v) is not recorded on the span", err)
				}
			} else if s.Status().Code == codes.Error || exceptions {
				t.Errorf("status %v with exception %v for an outcome that is not a failure", s.Status(), exceptions)
			}
			if tt.name == "a malformed key" && attr(s, sotel.AttrSessionHash) != "" {
				t.Errorf("a malformed key (perhaps a session ID passed by mistake) reached the span: %q", attr(s, sotel.AttrSessionHash))
			}
			if tt.err == nil && tt.name != "a malformed key" {
				if n := attr(s, sotel.AttrStoreName); n != "*memstore.Store" {
					t.Errorf("store name %q, want the Go type *memstore.Store", n)
				}
			}
		})
	}
}

func TestAnswersOfOptionalCallsOnSpans(t *testing.T) {
	tel := newTelemetry(t)
	st := sotel.WrapStore(memstore.New(), sotel.TraceOptions{TracerProvider: tel.tp})
	ctx := context.Background()
	key := store.Key("an ID")
	last := func() sdktrace.ReadOnlySpan { s := tel.spans.Ended(); return s[len(s)-1] }

	lk, ok := st.(store.Locker)
	if !ok {
		t.Fatal("the traced memstore lost store.Locker")
	}
	lk.TryLock(ctx, key, "a", time.Minute)
	if got := attr(last(), sotel.AttrLockAcquired); got != "true" {
		t.Errorf("first lock: acquired %q, want true", got)
	}
	lk.TryLock(ctx, key, "b", time.Minute)
	if s := last(); attr(s, sotel.AttrLockAcquired) != "false" || attr(s, sotel.AttrOutcome) != "ok" {
		t.Errorf("a held lock: acquired %q outcome %q, want false and ok", attr(s, sotel.AttrLockAcquired), attr(s, sotel.AttrOutcome))
	}
	st.(store.Pruner).Prune(ctx)
	if s := last(); s.Name() != "sesame.store.prune" || attr(s, sotel.AttrCount) != "0" || attr(s, sotel.AttrSessionHash) != "" {
		t.Errorf("prune span %s: count %q, hash %q; want count 0, no hash", s.Name(), attr(s, sotel.AttrCount), attr(s, sotel.AttrSessionHash))
	}
	st.(store.Renamer).Rename(ctx, key, store.Key("new"), store.Change{})
	if s := last(); attr(s, sotel.AttrSessionHash) != key[:12] || attr(s, sotel.AttrNewSessionHash) != store.Key("new")[:12] {
		t.Errorf("rename span: hashes %q and %q", attr(s, sotel.AttrSessionHash), attr(s, sotel.AttrNewSessionHash))
	}
}

// A store outage in a request: the span records the error, the request gets
// its 503, and the metrics count it.
func TestAStoreOutageIsAnErrorSpan(t *testing.T) {
	a := newApp(t, failing{fmt.Errorf("%w: connection refused", store.ErrUnavailable)})
	u, _ := url.Parse(a.srv.URL)
	a.client.Jar.SetCookies(u, []*http.Cookie{{Name: a.m.CookieName(), Value: newForgedID(t), Path: "/"}})
	code, _, req := a.get("/get?k=color")
	if code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", code)
	}
	spans := a.tel.storeSpans(req)
	if len(spans) != 1 || attr(spans[0], sotel.AttrOutcome) != "unavailable" || spans[0].Status().Code != codes.Error {
		t.Fatalf("store spans %v, want one failed load", spans)
	}
	ops := a.sums("sesame.store.operations")
	if got := ops[attrKey("load", "error")]; got != 1 {
		t.Errorf("sesame.store.operations{load,error} = %d, want 1 (all: %v)", got, ops)
	}
}

// collect returns the metrics recorded so far, by name.
func (tel *telemetry) collect(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != sotel.ScopeName {
			t.Errorf("instrumentation scope %q, want %q", sm.Scope.Name, sotel.ScopeName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// attrKey names a data point by its sesame attributes (operation and
// outcome, or reason), "" when it has none.
func attrKey(vals ...string) string { return strings.Join(vals, ",") }

func pointKey(set attribute.Set) string {
	var vals []string
	for _, k := range []attribute.Key{sotel.AttrOperation, sotel.AttrOutcome, sotel.AttrReason} {
		if v, ok := set.Value(k); ok {
			vals = append(vals, v.AsString())
		}
	}
	return attrKey(vals...)
}

// sums returns the values of a counter by data point.
func (a *app) sums(name string) map[string]int64 { return a.tel.sums(a.t, name) }

func (tel *telemetry) sums(t *testing.T, name string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	data, ok := tel.collect(t)[name]
	if !ok {
		return out
	}
	sum, ok := data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is a %T, want a counter", name, data)
	}
	for _, p := range sum.DataPoints {
		out[pointKey(p.Attributes)] += p.Value
	}
	return out
}

// counts returns the counts of a histogram by data point.
func (tel *telemetry) counts(t *testing.T, name string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	data, ok := tel.collect(t)[name]
	if !ok {
		return out
	}
	h, ok := data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is a %T, want a histogram", name, data)
	}
	for _, p := range h.DataPoints {
		out[pointKey(p.Attributes)] += p.Count
	}
	return out
}

// The metrics of a session's life agree with the spans of its store calls.
func TestMetricsOfARequestSequence(t *testing.T) {
	a := newApp(t, memstore.New())
	a.get("/put?color=blue")
	a.get("/get?k=color")
	a.get("/flash?v=hello")
	a.get("/show-flash")
	a.get("/login")
	a.get("/logout")

	for _, tt := range []struct {
		name string
		want map[string]int64
	}{
		{"sesame.sessions.created", map[string]int64{"": 1}},
		{"sesame.sessions.regenerated", map[string]int64{"": 1}},
		{"sesame.sessions.destroyed", map[string]int64{"destroy": 1}},
	} {
		if got := a.sums(tt.name); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}

	// Every store call the manager made is counted once, by operation,
	// and timed: as many as the wrapper saw (outcome not_found is ok in
	// the metric).
	spansByOp := map[string]int64{}
	for _, s := range a.tel.spans.Ended() {
		if strings.HasPrefix(s.Name(), "sesame.store.") {
			spansByOp[attr(s, sotel.AttrOperation)]++
		}
	}
	opsByOp := map[string]int64{}
	for k, n := range a.sums("sesame.store.operations") {
		op, out, _ := strings.Cut(k, ",")
		if n != 0 && out != "ok" {
			t.Errorf("%d store calls counted with outcome %s, want ok", n, out)
		}
		opsByOp[op] += n
	}
	if fmt.Sprint(opsByOp) != fmt.Sprint(spansByOp) {
		t.Errorf("sesame.store.operations by operation %v, store spans %v: want the same", opsByOp, spansByOp)
	}
	for op, n := range a.tel.counts(t, "sesame.store.operation.duration") {
		if int64(n) != spansByOp[op] {
			t.Errorf("sesame.store.operation.duration{%s} counted %d calls, want %d", op, n, spansByOp[op])
		}
	}
	if n := a.tel.counts(t, "sesame.session.size")[""]; n == 0 {
		t.Error("sesame.session.size recorded nothing")
	}
}

func TestObserveRecordsEachEvent(t *testing.T) {
	tests := []struct {
		name   string
		event  sesame.Event
		metric string
		point  string
		value  int64
	}{
		{"a created session", sesame.Event{Kind: sesame.EventCreated}, "sesame.sessions.created", "", 1},
		{"a regenerated session", sesame.Event{Kind: sesame.EventRegenerated}, "sesame.sessions.regenerated", "", 1},
		{"a destroyed session", sesame.Event{Kind: sesame.EventDestroyed}, "sesame.sessions.destroyed", "destroy", 1},
		{"a logout of other devices", sesame.Event{Kind: sesame.EventDestroyed, Reason: "logout-others", Count: 3},
			"sesame.sessions.destroyed", "logout-others", 3},
		{"an idle session", sesame.Event{Kind: sesame.EventExpired, Reason: "idle"}, "sesame.sessions.expired", "idle", 1},
		{"an anomaly", sesame.Event{Kind: sesame.EventAnomaly, Reason: "ip"}, "sesame.session.anomalies", "ip", 1},
		{"a lost update", sesame.Event{Kind: sesame.EventLost}, "sesame.lost_updates", "", 1},
		{"an eviction counts every session evicted", sesame.Event{Kind: sesame.EventEvicted, Count: 3}, "sesame.sessions.evicted", "", 3},
		{"a store call", sesame.Event{Kind: sesame.EventStoreOp, Op: "apply"}, "sesame.store.operations", "apply,ok", 1},
		{"a failed store call", sesame.Event{Kind: sesame.EventStoreOp, Op: "load", Err: store.ErrUnavailable},
			"sesame.store.operations", "load,error", 1},
		{"a store call that timed out", sesame.Event{Kind: sesame.EventStoreOp, Op: "take", Err: fmt.Errorf("x: %w", context.DeadlineExceeded)},
			"sesame.store.operations", "take,timeout", 1},
		{"a cancelled store call", sesame.Event{Kind: sesame.EventStoreOp, Op: "lock", Err: context.Canceled},
			"sesame.store.operations", "lock,canceled", 1},
		{"a change with an unknown outcome", sesame.Event{Kind: sesame.EventStoreOp, Op: "apply", Err: store.ErrOutcomeUnknown},
			"sesame.store.operations", "apply,unknown", 1},
		{"a store call of an operation sesame does not name", sesame.Event{Kind: sesame.EventStoreOp},
			"sesame.store.operations", "other,ok", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := newTelemetry(t)
			met, err := sotel.NewMetrics(tel.mp)
			if err != nil {
				t.Fatal(err)
			}
			met.Observe(context.Background(), tt.event)
			got := tel.sums(t, tt.metric)
			if len(got) != 1 || got[tt.point] != tt.value {
				t.Errorf("%s = %v, want {%s: %d}", tt.metric, got, tt.point, tt.value)
			}
		})
	}

	t.Run("a load measures the session and the call", func(t *testing.T) {
		tel := newTelemetry(t)
		met, _ := sotel.NewMetrics(tel.mp)
		met.Observe(context.Background(), sesame.Event{Kind: sesame.EventStoreOp, Op: "load", Size: 300, Duration: 3 * time.Millisecond})
		if got := tel.counts(t, "sesame.session.size"); got[""] != 1 {
			t.Errorf("sesame.session.size counts %v, want one", got)
		}
		if got := tel.counts(t, "sesame.store.operation.duration"); got["load"] != 1 {
			t.Errorf("sesame.store.operation.duration counts %v, want one load", got)
		}
	})

	t.Run("a nil Metrics records nothing", func(t *testing.T) {
		var met *sotel.Metrics
		met.Observe(context.Background(), sesame.Event{Kind: sesame.EventCreated}) // must not panic
	})
}

func TestAddSpanEventNeedsARecordingSpan(t *testing.T) {
	tel := newTelemetry(t)
	ctx, span := tel.tp.Tracer("test").Start(context.Background(), "request")
	sotel.AddSpanEvent(ctx, sesame.Event{Kind: sesame.EventAnomaly, Hash: "0123456789ab", Reason: "ip", UserID: "alice"})
	sotel.AddSpanEvent(ctx, sesame.Event{Kind: sesame.EventStoreOp, Op: "load"}) // has its own span
	sotel.AddSpanEvent(context.Background(), sesame.Event{Kind: sesame.EventCreated})
	span.End()
	s := span.(sdktrace.ReadOnlySpan)
	if len(s.Events()) != 1 {
		t.Fatalf("events %v, want one", s.Events())
	}
	e := s.Events()[0]
	got := map[string]string{}
	for _, kv := range e.Attributes {
		got[string(kv.Key)] = kv.Value.String()
	}
	if e.Name != "sesame.session.anomaly" || got["sesame.session.hash"] != "0123456789ab" || got["sesame.reason"] != "ip" || len(got) != 2 {
		t.Errorf("event %s %v, want sesame.session.anomaly with the hash and reason only", e.Name, got)
	}
}

func TestNewMetricsReportsARefusedInstrument(t *testing.T) {
	_, err := sotel.NewMetrics(refusingProvider{})
	if !errors.Is(err, errRefused) {
		t.Errorf("NewMetrics on a provider that refuses instruments: %v, want errRefused", err)
	}
}

var errRefused = errors.New("instrument refused")

// refusingProvider is a MeterProvider whose counters cannot be created.
type refusingProvider struct{ noop.MeterProvider }

func (refusingProvider) Meter(string, ...metric.MeterOption) metric.Meter { return refusingMeter{} }

type refusingMeter struct{ noop.Meter }

func (refusingMeter) Int64Counter(string, ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return noop.Int64Counter{}, errRefused
}

// driver is a store whose calls start a span of their own from the context
// they get, as a Redis or SQL instrumentation does.
type driver struct {
	store.Store
	tracer trace.Tracer
}

func (d driver) Load(ctx context.Context, key string) (store.Record, bool, error) {
	_, span := d.tracer.Start(ctx, "driver query")
	defer span.End()
	return d.Store.Load(ctx, key)
}

func TestADriversSpansNestUnderTheStoreSpan(t *testing.T) {
	tel := newTelemetry(t)
	st := sotel.WrapStore(driver{memstore.New(), tel.tp.Tracer("driver")}, sotel.TraceOptions{TracerProvider: tel.tp})
	ctx, request := tel.tp.Tracer("test").Start(context.Background(), "request")
	st.Load(ctx, store.Key("an ID"))
	request.End()
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range tel.spans.Ended() {
		byName[s.Name()] = s
	}
	load, query := byName["sesame.store.load"], byName["driver query"]
	if load == nil || query == nil {
		t.Fatalf("spans %v, want sesame.store.load and driver query", byName)
	}
	if load.Parent().SpanID() != request.SpanContext().SpanID() {
		t.Error("the store span is not a child of the request span")
	}
	if query.Parent().SpanID() != load.SpanContext().SpanID() {
		t.Error("the driver's span is not a child of the store span")
	}
}

// The cost of a traced store call: with tracing off (a no-op provider), and
// with every span sampled and recorded by the SDK.
func BenchmarkWrapStore(b *testing.B) {
	ctx := context.Background()
	key := store.Key("a session")
	recorded := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	for _, bc := range []struct {
		name string
		tp   trace.TracerProvider
	}{
		{"no-op provider", tracenoop.NewTracerProvider()},
		{"sdk", recorded},
	} {
		st := sotel.WrapStore(memstore.New(), sotel.TraceOptions{TracerProvider: bc.tp})
		if err := st.Apply(ctx, key, store.Change{Create: true, Expires: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name+"/load", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := st.Load(ctx, key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkObserve(b *testing.B) {
	met, err := sotel.NewMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	e := sesame.Event{Kind: sesame.EventStoreOp, Op: "load", Duration: time.Millisecond, Size: 200}
	b.ReportAllocs()
	for b.Loop() {
		met.Observe(ctx, e)
	}
}
