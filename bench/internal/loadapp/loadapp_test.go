package loadapp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestEndpoints checks that every library answers every endpoint alike, in
// memory (Redis needs a server; load.sh checks it there): a seeded session
// reads "41 gopher", a write increments it, and /new without a cookie makes
// a session (a Set-Cookie) for the session libraries.
func TestEndpoints(t *testing.T) {
	for _, lib := range Libs {
		t.Run(lib, func(t *testing.T) {
			app, err := New(Config{Lib: lib, Store: "memory"})
			if err != nil {
				t.Fatal(err)
			}
			defer app.Close()
			get := func(path, cookie string) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, path, nil)
				if cookie != "" {
					r.Header.Set("Cookie", cookie)
				}
				w := httptest.NewRecorder()
				app.Handler.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					t.Fatalf("%s answered %d: %s", path, w.Code, w.Body)
				}
				return w
			}
			var cookies []string
			for _, c := range get("/seed", "").Result().Cookies() {
				cookies = append(cookies, c.Name+"="+c.Value)
			}
			cookie := strings.Join(cookies, "; ")
			if lib != "bare" && cookie == "" {
				t.Fatal("/seed set no cookie")
			}
			if got := get("/read", cookie).Body.String(); got != "41 gopher" {
				t.Errorf("/read = %q, want 41 gopher", got)
			}
			want := "42"
			if lib == "bare" {
				want = "1"
			}
			if got := get("/write", cookie).Body.String(); got != want {
				t.Errorf("/write = %q, want %s", got, want)
			}
			if got := get("/stats", "").Body.String(); got != "1" {
				t.Errorf("/stats = %q, want 1", got)
			}
			w := get("/new", "")
			if got := w.Body.String(); got != "ok" {
				t.Errorf("/new = %q, want ok", got)
			}
			if set := len(w.Result().Cookies()) > 0; set != (lib != "bare") {
				t.Errorf("/new set a cookie: %v", set)
			}
		})
	}
}

// TestBadConfig checks that unknown names are refused.
func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Lib: "gorilla"}, {Lib: "sesame", Store: "file"}, {Lib: "sesame", Client: "rueidis"}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
