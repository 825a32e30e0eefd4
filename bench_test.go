package sesame

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sesamego/sesame/memstore"
)

// The middleware's hot paths on the memory store, beside a bare handler.
// The bench/ module compares them with scs and gorilla/sessions.
func BenchmarkMiddleware(b *testing.B) {
	m, err := New(Config{Store: memstore.New(), Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		_ = GetOr(s, "n", 0)
		_ = GetOr(s, "name", "")
	})
	handlers := map[string]http.Handler{
		"READ": read,
		"WRITE": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			From(r).Increment("n", 1)
		}),
		"NEW": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			From(r).Put("n", 1)
		}),
		"UNTOUCHED": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
	}
	// One stored session to read and write.
	seed := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		s.Put("n", 1)
		s.Put("name", "alice")
	})).ServeHTTP(seed, httptest.NewRequest("GET", "https://example.com/", nil))
	cookie := seed.Result().Cookies()[0]
	base := httptest.NewRequest("GET", "https://example.com/", nil)
	base.AddCookie(cookie)
	fresh := httptest.NewRequest("GET", "https://example.com/", nil)

	for _, name := range []string{"READ", "WRITE", "NEW", "UNTOUCHED"} {
		h := handlers[name]
		req := base
		if name == "NEW" {
			req = fresh
		}
		b.Run("bare/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
				h.ServeHTTP(httptest.NewRecorder(), req.WithContext(req.Context()))
			}
		})
		mh := m.Handler(h)
		b.Run("sesame/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				mh.ServeHTTP(httptest.NewRecorder(), req.WithContext(req.Context()))
			}
		})
		// The explicit pair, as a fiber or fasthttp adapter uses it.
		b.Run("load-save/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r, err := m.Load(req.WithContext(req.Context()))
				if err != nil {
					b.Fatal(err)
				}
				h.ServeHTTP(w, r)
				if _, err := m.Save(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
