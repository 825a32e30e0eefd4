// Command quickstart is sesame's Quick start: a page that counts your visits,
// remembers your name and logs you in and out, on http://127.0.0.1:8080.
// README.md and the sesame package documentation show this file.
package main

import (
	"fmt"
	"html/template"
	"log"
	"net/http"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/csrf"
)

var page = template.Must(template.New("").Parse(`<!doctype html>
{{with .Notice}}<p><b>{{.}}</b></p>{{end}}
<p>Hello {{.Name}}, this is visit {{.Views}}.</p>
<form method="post" action="/login">{{.CSRF}}
  <input name="name" placeholder="your name" required> <button>Log in</button>
</form>
<form method="post" action="/logout">{{.CSRF}}<button>Log out</button></form>`))

func main() {
	h, err := newHandler()
	if err != nil {
		log.Fatal(err)
	}
	log.Println("listening on http://127.0.0.1:8080")
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h))
}

func newHandler() (http.Handler, error) {
	sessions, err := sesame.New(sesame.Config{
		// Plain HTTP on your laptop. In production, serve HTTPS and delete
		// this line: the cookie is then Secure and named __Host-sid.
		Cookie: sesame.CookieConfig{AllowInsecureHTTP: true},
		// Store: a shared store (sqlstore, redisstore) in production;
		// the default keeps sessions in this process's memory.
	})
	if err != nil {
		return nil, err
	}
	// Unsafe requests from other sites are refused by the session
	// middleware; the form token is the second line of defence.
	protect, err := csrf.New(csrf.Config{Sessions: sessions})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		views, err := s.Increment("views", 1) // atomic in the store
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		page.Execute(w, map[string]any{
			"Notice": s.Flashes().String("notice"), // set by the previous request
			"Name":   sesame.GetOr(s, "name", "stranger"),
			"Views":  views,
			"CSRF":   csrf.TemplateField(r),
		})
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		if err := s.Regenerate(); err != nil { // a new ID at every login
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		s.Put("name", r.PostFormValue("name"))
		s.Flash("notice", "Welcome!")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Destroy()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, sesame.GetOr(sesame.From(r), "name", "stranger"))
	})
	return sessions.Handler(protect.Handler(mux)), nil
}
