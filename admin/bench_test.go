package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
)

// The benchmarks render each page of the dashboard for a store holding
// benchSessions sessions of benchUsers users, with the index built, as an
// operator would see it: through the session middleware, with the
// operator's session cookie. Filling a file store with 100,000 fsynced
// files takes a minute or two; it is done once per run:
//
//	go test -run '^$' -bench . -benchtime 200x ./admin

const (
	benchSessions = 100_000
	benchUsers    = 10_000
)

// benchApp is a dashboard over a filled store.
type benchApp struct {
	h      http.Handler
	cookie *http.Cookie // the operator's session
	hash   string       // a session to show
	user   string       // a user to look up
}

var (
	benchOnce = map[string]*sync.Once{"memstore": {}, "filestore": {}}
	benchApps = map[string]*benchApp{}
	benchErr  = map[string]error{}
	benchDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchStore returns the app for a store kind, filling the store on first
// use.
func benchStore(b *testing.B, kind string) *benchApp {
	b.Helper()
	benchOnce[kind].Do(func() { benchApps[kind], benchErr[kind] = newBenchApp(kind) })
	if err := benchErr[kind]; err != nil {
		b.Fatal(err)
	}
	return benchApps[kind]
}

func newBenchApp(kind string) (*benchApp, error) {
	var st store.Store
	switch kind {
	case "memstore":
		ms, err := memstore.NewWithOptions(memstore.Options{MaxSessions: 2 * benchSessions})
		if err != nil {
			return nil, err
		}
		st = ms
	case "filestore":
		dir, err := os.MkdirTemp("", "sesame-admin-bench-")
		if err != nil {
			return nil, err
		}
		benchDir = dir
		fs, err := filestore.New(dir)
		if err != nil {
			return nil, err
		}
		st = fs
	}
	start := time.Now()
	if err := fillParallel(st, benchSessions); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "admin bench: %d sessions in %s stored in %v\n", benchSessions, kind, time.Since(start).Round(time.Millisecond))
	rec := NewRecorder()
	m, err := sesame.New(sesame.Config{Store: st, OnEvent: rec.Observe, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	dash, err := New(m, Options{
		Authorize: func(*http.Request) (string, bool) { return "bench", true },
		Recorder:  rec,
		Logger:    slog.New(slog.DiscardHandler),
		// Pages never wait for a rebuild of the index (it runs in the
		// background); a long run should not measure one competing for
		// the CPU either. Its time is printed above.
		RefreshInterval: time.Hour,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", dash)
	app := &benchApp{h: m.Handler(mux), hash: store.Key("session-12345"), user: "user-42"}
	// The operator's first page starts their session (it holds the CSRF
	// token); later pages reuse it and write nothing.
	w := httptest.NewRecorder()
	app.h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/admin/", nil))
	for _, c := range w.Result().Cookies() {
		app.cookie = c
	}
	if app.cookie == nil {
		return nil, fmt.Errorf("no session cookie from the first page (%d)", w.Code)
	}
	start = time.Now()
	dash.(*handler).idx.wait()
	fmt.Fprintf(os.Stderr, "admin bench: %s index built in %v\n", kind, time.Since(start).Round(time.Millisecond))
	return app, nil
}

// fillParallel stores n sessions as fill does, from several goroutines.
func fillParallel(st store.Store, n int) error {
	const workers = 16
	now := time.Now()
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				seen := now.Add(-time.Duration(i%3600) * time.Second)
				c := store.Change{
					Create: true, Now: seen, Created: seen.Add(-time.Minute), Expires: now.Add(2 * time.Hour),
					Set:     map[string][]byte{"cart.bagel": []byte("2"), "theme": []byte(`"dark"`), "recent": []byte(`["/","/cart","/checkout"]`)},
					SetUser: true, UserID: fmt.Sprint("user-", i%benchUsers), IP: "192.0.2.7",
					UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
				}
				if err := st.Apply(context.Background(), store.Key(fmt.Sprint("session-", i)), c); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// benchPage renders path on every store kind.
func benchPage(b *testing.B, path func(*benchApp) string) {
	for _, kind := range []string{"memstore", "filestore"} {
		b.Run(kind, func(b *testing.B) {
			app := benchStore(b, kind)
			p := path(app)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r := httptest.NewRequest("GET", "https://example.com"+p, nil)
				r.AddCookie(app.cookie)
				w := httptest.NewRecorder()
				app.h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", p, w.Code)
				}
				if len(w.Result().Cookies()) != 0 {
					b.Fatalf("GET %s wrote the operator's session", p)
				}
			}
		})
	}
}

// BenchmarkOverview renders the overview: counts from the index, the
// recorder's charts, and a store round trip for its health.
func BenchmarkOverview(b *testing.B) {
	benchPage(b, func(*benchApp) string { return "/admin/" })
}

// BenchmarkUsers looks up one user (10 sessions, each read from the store)
// and lists the users whose ID starts with that one's.
func BenchmarkUsers(b *testing.B) {
	benchPage(b, func(a *benchApp) string { return "/admin/users?q=" + a.user })
}

// BenchmarkSession shows one session, read from the store.
func BenchmarkSession(b *testing.B) {
	benchPage(b, func(a *benchApp) string { return "/admin/sessions/" + a.hash })
}

// BenchmarkSessions shows a page of the sessions list, deep in it.
func BenchmarkSessions(b *testing.B) {
	benchPage(b, func(a *benchApp) string {
		return "/admin/sessions?after=" + cursor{lastSeen: time.Now().Add(-30 * time.Minute).UnixNano()}.String()
	})
}
