// Command chi serves sesame with the chi router on http://127.0.0.1:8080: a
// visit counter, login and logout (a new session ID at each login), a flash
// message, forms protected by a CSRF token, and errors rendered as JSON.
//
// chi runs net/http middleware as it is: r.Use(sessions.Handler), and
// handlers read their session with sesame.From(r).
package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"html/template"
	"log"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/csrf"
)

var page = template.Must(template.New("").Parse(`<!doctype html>
<title>sesame with chi</title>
{{with .Notice}}<p><b>{{.}}</b></p>{{end}}
<p>Hello {{.Name}}, this is visit {{.Visits}}.</p>
{{if .LoggedIn}}<form method="post" action="/logout">{{.CSRF}}<button>Log out</button></form>
{{else}}<form method="post" action="/login">{{.CSRF}}
  <input name="name" placeholder="your name" required> <button>Log in</button>
</form>{{end}}
`))

func main() {
	h, err := newHandler(sesame.Config{
		// Plain HTTP on your laptop. In production, serve HTTPS and delete
		// this line: the cookie is then Secure and named __Host-sid.
		Cookie: sesame.CookieConfig{AllowInsecureHTTP: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Println("listening on http://127.0.0.1:8080")
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h))
}

// newHandler returns the app. cfg is the session configuration; its
// ErrorHandler is set here.
func newHandler(cfg sesame.Config) (http.Handler, error) {
	cfg.ErrorHandler = jsonError
	sessions, err := sesame.New(cfg)
	if err != nil {
		return nil, err
	}
	// Without an ErrorHandler of its own, the Protector answers with the
	// sessions' one: jsonError renders every refusal.
	protect, err := csrf.New(csrf.Config{Sessions: sessions})
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.Use(sessions.Handler, protect.Handler)
	r.Get("/", home)
	r.Post("/login", login)
	r.Post("/logout", logout)
	r.Get("/api/me", me)
	return r, nil
}

func home(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	visits, err := s.Increment("visits", 1) // atomic in the store
	if err != nil {
		jsonError(w, r, err)
		return
	}
	name := sesame.GetOr(s, "name", "")
	page.Execute(w, map[string]any{
		"Notice":   s.Flashes().String("notice"), // set by the previous request
		"Name":     cmp.Or(name, "stranger"),
		"LoggedIn": name != "",
		"Visits":   visits,
		"CSRF":     csrf.TemplateField(r), // <input type="hidden" name="_csrf" ...>
	})
}

func login(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		writeJSON(w, http.StatusBadRequest, "a name is required")
		return
	}
	s := sesame.From(r)
	if err := s.Regenerate(); err != nil { // a new ID at every login
		jsonError(w, r, err)
		return
	}
	s.Put("name", name)
	s.Flash("notice", "Welcome, "+name+"!")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func logout(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	s.Destroy()
	s.Flash("notice", "Goodbye!") // after Destroy: a new, anonymous session
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// me answers the session as JSON, for API clients.
func me(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	if err := s.Err(); err != nil {
		jsonError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"name":   sesame.GetOr(s, "name", ""),
		"visits": sesame.GetOr(s, "visits", 0),
	})
}

// jsonError renders the errors of sesame and csrf (a store outage, a refused
// cross-origin request, a missing or bad CSRF token) as JSON, with the status
// sesame.StatusCode gives.
func jsonError(w http.ResponseWriter, r *http.Request, err error) {
	code := sesame.StatusCode(err)
	msg := "internal error"
	switch {
	case errors.Is(err, sesame.ErrStoreUnavailable):
		msg = "sessions are unavailable, try again shortly"
	case errors.Is(err, csrf.ErrMissingToken), errors.Is(err, csrf.ErrBadToken):
		msg = "missing or invalid CSRF token: reload the page and try again"
	case errors.Is(err, sesame.ErrCrossOrigin):
		msg = "cross-origin request refused"
	}
	log.Printf("%s %s: %d: %v", r.Method, r.URL.Path, code, err)
	writeJSON(w, code, msg)
}

func writeJSON(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
