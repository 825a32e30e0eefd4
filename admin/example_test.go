package admin_test

import (
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/admin"
)

// The dashboard mounted at /admin/ of an app whose administrators are listed
// in admins: a Recorder feeds the overview's charts, and Authorize lets only
// a logged-in administrator in.
func Example() {
	admins := map[string]bool{"alice": true}

	rec := admin.NewRecorder()
	sessions, err := sesame.New(sesame.Config{
		OnEvent: rec.Observe, // the overview's charts, latency and anomalies
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	dash, err := admin.New(sessions, admin.Options{
		Authorize: func(r *http.Request) (string, bool) {
			user := sesame.From(r).UserID()
			return user, admins[user]
		},
		Recorder:   rec,
		ShowValues: []string{"cart.*"}, // every other value stays hidden
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		s.Regenerate()
		s.SetUser(r.FormValue("user")) // after checking a password, in a real app
	})
	mux.Handle("/admin/", dash)
	app := rec.Handler(sessions.Handler(mux))

	for _, user := range []string{"mallory", "alice"} {
		w := httptest.NewRecorder()
		app.ServeHTTP(w, httptest.NewRequest("POST", "https://example.com/login?user="+user, nil))
		r := httptest.NewRequest("GET", "https://example.com/admin/", nil)
		for _, c := range w.Result().Cookies() {
			r.AddCookie(c)
		}
		w = httptest.NewRecorder()
		app.ServeHTTP(w, r)
		fmt.Println(user, w.Code, strings.Contains(w.Body.String(), `id="live-total">2<`))
	}
	// Output:
	// mallory 403 false
	// alice 200 true
}
