package sesame

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesamego/sesame/memstore"
)

// frameworkWriter is what web frameworks wrap the server's writer in (gin's
// c.Writer, negroni's): it knows whether the response began.
type frameworkWriter struct {
	http.ResponseWriter
	written bool
}

func (w *frameworkWriter) WriteHeader(code int) {
	w.written = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *frameworkWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}

func (w *frameworkWriter) Written() bool { return w.written }

// unwrapper is a middleware's writer around another one.
type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// aroundApp serves the gin mistake in plain net/http: a framework wraps the
// server's writer, runs sesame's middleware as an adapter that hands on the
// request, and its handlers write to the framework's writer, not to the one
// sesame passed on. With ?around=0 they write through sesame's writer, as
// they should; with ?around=none they write nothing (the framework writes
// the response after them). ?op= is put, regenerate, destroy or nothing.
func aroundApp(t *testing.T, unwrap bool) (*testApp, *logBuffer, *eventRecorder) {
	t.Helper()
	buf := &logBuffer{}
	rec := &eventRecorder{}
	st := &countingStore{Store: memstore.New()}
	m, err := New(Config{Store: st, OnEvent: rec.record,
		Logger: slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		t.Fatal(err)
	}
	app := &testApp{t: t, m: m, st: st}
	app.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fw := &frameworkWriter{ResponseWriter: w}
		var given http.ResponseWriter = fw
		if unwrap {
			given = unwrapper{fw}
		}
		m.Handler(http.HandlerFunc(func(sw http.ResponseWriter, r *http.Request) {
			s := From(r)
			q := r.URL.Query()
			switch q.Get("op") {
			case "put":
				s.Put("k", q.Get("v"))
			case "regenerate":
				s.Regenerate()
			case "destroy":
				s.Destroy()
			}
			out := GetOr(s, "k", "")
			switch q.Get("around") {
			case "0":
				io.WriteString(sw, out)
			case "1":
				io.WriteString(fw, out)
			}
		})).ServeHTTP(given, r)
		if !fw.written {
			io.WriteString(fw, "written by the framework")
		}
	}))
	t.Cleanup(app.srv.Close)
	app.client = app.newClient()
	return app, buf, rec
}

func TestResponsesWrittenAroundSesameAreReported(t *testing.T) {
	tests := []struct {
		name       string
		unwrap     bool
		seed       bool   // a stored session with k=old first
		path       string // the request under test
		wantEvent  bool
		wantCookie bool
		wantAfter  string // k on the next request, through sesame's writer
	}{
		{"a new session written around loses its cookie, loudly", false, false, "/?op=put&v=new&around=1", true, false, ""},
		{"so does one behind a writer that unwraps to the framework's", true, false, "/?op=put&v=new&around=1", true, false, ""},
		{"a regenerate written around is refused and the old session kept", false, true, "/?op=regenerate&around=1", true, false, "old"},
		{"a destroy written around is refused and the session kept", false, true, "/?op=destroy&around=1", true, false, "old"},
		{"a stored session's change written around needs no cookie and is kept", false, true, "/?op=put&v=new&around=1", false, false, "new"},
		{"a handler that writes nothing leaves the response to the framework: the cookie goes out", false, false, "/?op=put&v=new&around=none", false, true, "new"},
		{"a handler that writes through sesame's writer is fine", false, false, "/?op=put&v=new&around=0", false, true, "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, logs, rec := aroundApp(t, tt.unwrap)
			if tt.seed {
				app.do(app.client, "GET", "/?op=put&v=old&around=0")
			}
			resp, _ := app.do(app.client, "GET", tt.path)
			gotCookie := len(resp.Cookies()) > 0
			if gotCookie != tt.wantCookie {
				t.Errorf("Set-Cookie sent: %v, want %v", gotCookie, tt.wantCookie)
			}
			events := rec.of(EventUncommitted)
			switch {
			case tt.wantEvent && len(events) != 1:
				t.Fatalf("got %d EventUncommitted, want 1", len(events))
			case !tt.wantEvent && len(events) != 0:
				t.Fatalf("got %v, want no EventUncommitted", events)
			case tt.wantEvent:
				e := events[0]
				if e.Reason != "written-around" || !errors.Is(e.Err, ErrUncommitted) || e.Path != "/" {
					t.Errorf("event %+v, want reason written-around, path / and ErrUncommitted", e)
				}
				if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "reason=written-around") ||
					!strings.Contains(l, "written around the ResponseWriter") {
					t.Errorf("not logged at Error with the reason and the fix; logs:\n%s", l)
				}
			}
			if _, body := app.do(app.client, "GET", "/?around=0"); body != tt.wantAfter {
				t.Errorf("next request sees k = %q, want %q", body, tt.wantAfter)
			}
		})
	}
}

func TestNewSessionWrittenAroundStoresNothing(t *testing.T) {
	app, _, _ := aroundApp(t, false)
	app.do(app.client, "GET", "/?op=put&v=new&around=1")
	if n := app.st.applies.Load(); n != 0 {
		t.Errorf("%d store writes for a session whose cookie could not be sent, want 0", n)
	}
}

func TestResponseBegun(t *testing.T) {
	begun := &frameworkWriter{written: true}
	notYet := &frameworkWriter{}
	tests := []struct {
		name string
		w    http.ResponseWriter
		want bool
	}{
		{"net/http's own writer cannot tell and counts as not begun", httptest.NewRecorder(), false},
		{"a framework writer that wrote", begun, true},
		{"a framework writer that did not", notYet, false},
		{"a wrapper around a framework writer that wrote", unwrapper{begun}, true},
		{"a wrapper around a plain writer", unwrapper{httptest.NewRecorder()}, false},
	}
	for _, tt := range tests {
		if got := responseBegun(tt.w); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestStatusCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"a store outage is 503", fmt.Errorf("load: %w", ErrStoreUnavailable), 503},
		{"an unknown commit outcome is 503", ErrOutcomeUnknown, 503},
		{"a lock timeout is 503", ErrLockTimeout, 503},
		{"a cross-origin refusal is 403", fmt.Errorf("%w: detail", ErrCrossOrigin), 403},
		{"any refusal is 403", ErrForbidden, 403},
		{"a value that cannot be encoded is 500", ErrEncode, 500},
		{"anything else is 500", errors.New("boom"), 500},
	}
	for _, tt := range tests {
		if got := StatusCode(tt.err); got != tt.want {
			t.Errorf("%s: StatusCode = %d, want %d", tt.name, got, tt.want)
		}
	}
	if !errors.Is(ErrCrossOrigin, ErrForbidden) || ErrCrossOrigin.Error() != "sesame: cross-origin request refused" {
		t.Errorf("ErrCrossOrigin = %q, want it to match ErrForbidden and keep its message", ErrCrossOrigin)
	}
}

func TestManagerErrorUsesTheConfiguredHandler(t *testing.T) {
	var got error
	m, _ := New(Config{Logger: discardLogger(), ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(418)
	}})
	w := httptest.NewRecorder()
	m.Error(w, httptest.NewRequest("GET", "/", nil), ErrForbidden)
	if got != ErrForbidden || w.Code != 418 {
		t.Errorf("Error called the handler with %v and answered %d, want the configured handler", got, w.Code)
	}
	d, _ := New(Config{Logger: discardLogger()})
	w = httptest.NewRecorder()
	d.Error(w, httptest.NewRequest("GET", "/", nil), ErrForbidden)
	if w.Code != 403 || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("the default handler answered %d with Cache-Control %q, want 403 no-store", w.Code, w.Header().Get("Cache-Control"))
	}
}

// TestSessionFirstUsedAfterTheResponseBegan: a handler that writes its
// response before it first touches the session still has a stored session's
// changes committed, and a new session's lost cookie reported.
func TestSessionFirstUsedAfterTheResponseBegan(t *testing.T) {
	rec := &eventRecorder{}
	m, _ := New(Config{OnEvent: rec.record, Logger: discardLogger()})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/seed" {
			From(r).Put("k", "seed")
			return
		}
		io.WriteString(w, "body first")
		From(r).Put("k", "late")
	}))
	seed := httptest.NewRecorder()
	h.ServeHTTP(seed, httptest.NewRequest("GET", "https://example.com/seed", nil))
	cookie := seed.Result().Cookies()[0]

	req := httptest.NewRequest("GET", "https://example.com/late", nil)
	req.AddCookie(cookie)
	h.ServeHTTP(httptest.NewRecorder(), req)
	var got string
	check := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = GetOr(From(r), "k", "") }))
	req = httptest.NewRequest("GET", "https://example.com/", nil)
	req.AddCookie(cookie)
	check.ServeHTTP(httptest.NewRecorder(), req)
	if got != "late" {
		t.Errorf("a stored session first used after the response began holds k = %q, want late", got)
	}
	if ev := rec.of(EventUncommitted); len(ev) != 0 {
		t.Errorf("events %+v for a change that needed no cookie", ev)
	}

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://example.com/late", nil))
	if ev := rec.of(EventUncommitted); len(ev) != 1 || ev[0].Reason != "after-response" {
		t.Errorf("events %+v, want one EventUncommitted after-response for the new session", ev)
	}
}
