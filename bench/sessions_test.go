package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A scenario is one kind of request.
type scenario struct {
	name string
	// cookie: the request carries the seeded session's cookie.
	cookie bool
	// handler returns the scenario's handler for a.
	handler func(a app) http.HandlerFunc
	// want is the response body, or "" to accept any.
	want string
}

var scenarios = []scenario{
	{name: "READ", cookie: true, handler: func(a app) http.HandlerFunc { return a.Read }, want: "41 gopher"},
	{name: "WRITE", cookie: true, handler: func(a app) http.HandlerFunc { return a.Write }},
	{name: "NEW", cookie: false, handler: func(a app) http.HandlerFunc { return a.New }, want: "ok"},
	{name: "UNTOUCHED", cookie: true, handler: func(app) http.HandlerFunc { return untouched }, want: "ok"},
}

// BenchmarkSessions measures one request through each contender's
// middleware and handler, in process: an httptest.ResponseRecorder and one
// shallow copy of a prepared request per iteration (gorilla/sessions writes
// its registry into *r, so every iteration needs its own request). The bare
// contender is that floor: the same handler bodies with no session at all.
//
//	READ       the request carries a session; read an int and a string
//	WRITE      the request carries a session; increment a counter
//	NEW        no cookie; put a value (a session is created)
//	UNTOUCHED  the request carries a session the handler never touches
//
// Besides ns/op (wall time), each contender reports cpu-ns/op: the CPU time
// (user + system) the whole process used per request, garbage collection
// included, which shared machines inflate far less than wall time (it
// leaves out the time the process waits for the CPU, and the time a store
// server works). sesame and scs contenders also report their store calls
// per request (trips/op). Contenders on Redis, PostgreSQL and MySQL are skipped with a
// message when their server (SESAME_REDIS_ADDR, SESAME_POSTGRES_DSN,
// SESAME_MYSQL_DSN, loopback defaults) does not answer. Run with
//
//	go test -run '^$' -bench Sessions -benchmem -count 5
func BenchmarkSessions(b *testing.B) {
	for _, sc := range scenarios {
		for _, c := range contenders {
			b.Run(sc.name+"/"+c.name, func(b *testing.B) {
				a := c.open(b, openOptions{})
				h := a.Handler(sc.handler(a))
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				if sc.cookie {
					req.Header.Set("Cookie", seed(b, a))
				}
				// One request outside the loop checks the response and warms
				// up connections, scripts and prepared statements.
				serveOnce(b, h, req, sc.want)
				calls := a.StoreCalls()
				if calls != nil {
					calls.Store(0)
				}
				b.ReportAllocs()
				cpu0 := processCPU()
				for b.Loop() {
					r := *req
					w := httptest.NewRecorder()
					h.ServeHTTP(w, &r)
					if w.Code != http.StatusOK {
						b.Fatalf("got status %d: %s", w.Code, w.Body)
					}
				}
				if cpu1 := processCPU(); cpu0 >= 0 && cpu1 >= 0 {
					b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
				}
				if calls != nil {
					b.ReportMetric(float64(calls.Load())/float64(b.N), "trips/op")
				}
			})
		}
	}
}

// seed creates the session READ, WRITE and UNTOUCHED use and returns its
// Cookie header.
func seed(tb testing.TB, a app) string {
	tb.Helper()
	w := httptest.NewRecorder()
	a.Handler(http.HandlerFunc(a.Seed)).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusOK {
		tb.Fatalf("seed: got status %d: %s", w.Code, w.Body)
	}
	return cookieHeader(w.Result())
}

func serveOnce(tb testing.TB, h http.Handler, req *http.Request, want string) {
	tb.Helper()
	r := *req
	w := httptest.NewRecorder()
	h.ServeHTTP(w, &r)
	if w.Code != http.StatusOK {
		tb.Fatalf("got status %d: %s", w.Code, w.Body)
	}
	if want != "" && w.Body.String() != want {
		tb.Fatalf("got body %q, want %q", w.Body, want)
	}
}
