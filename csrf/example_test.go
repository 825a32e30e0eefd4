package csrf_test

import (
	"html/template"
	"log"
	"net/http"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/csrf"
)

func Example() {
	sessions, err := sesame.New(sesame.Config{})
	if err != nil {
		log.Fatal(err)
	}
	protect, err := csrf.New(csrf.Config{Sessions: sessions})
	if err != nil {
		log.Fatal(err)
	}
	page := template.Must(template.New("").Parse(
		`<form method="post" action="/transfer">{{.}}<button>Send</button></form>`))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /transfer", func(w http.ResponseWriter, r *http.Request) {
		page.Execute(w, csrf.TemplateField(r)) // <input type="hidden" name="_csrf" value="...">
	})
	mux.HandleFunc("POST /transfer", func(w http.ResponseWriter, r *http.Request) {
		// Only reached with the session's token, from this origin.
	})
	// The CSRF check runs inside the session middleware.
	_ = http.Handler(sessions.Handler(protect.Handler(mux)))
}
