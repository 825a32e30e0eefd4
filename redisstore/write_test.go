package redisstore_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/internal/redistest"
	"github.com/sesamego/sesame/redisstore"
)

// TestWriteTakesUpdateScript runs the benchmark's WRITE (bench: a session
// with n and name, then Increment("n", 1) per request) through sesame on
// Redis: each write must be one run of the lean update script, never of
// applyScript (the general path), and count right.
func TestWriteTakesUpdateScript(t *testing.T) {
	c := redistest.NewClient(t)
	st, err := redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	log := redisstore.NewScriptLog(st)
	cfg := sesame.Config{Store: st, Logger: slog.New(slog.DiscardHandler)}
	cfg.Cookie.AllowInsecureHTTP = true
	m, err := sesame.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/seed", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		s.Put("n", 41)
		s.Put("name", "gopher")
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		n, err := sesame.From(r).Increment("n", 1)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, strconv.FormatInt(n, 10))
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s: %s", path, resp.Status, b)
		}
		return string(b)
	}
	get("/seed")
	for i := range 3 {
		var got string
		ran := log.Run(func() { got = get("/write") })
		if want := strconv.Itoa(42 + i); got != want {
			t.Errorf("write %d: n = %s, want %s", i+1, got, want)
		}
		if ran != "update" {
			t.Errorf("write %d ran the scripts %q, want only the update script", i+1, ran)
		}
	}
}
