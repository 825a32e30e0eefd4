package remember_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/remember"
)

// Remember me: Login logs the user in (a new session ID, the user set) and,
// when asked, issues a token in a "remember" cookie; Handler logs a returning
// browser back in from that cookie once its session cookie is gone; Logout
// revokes the token.
func Example() {
	sessions, err := sesame.New(sesame.Config{})
	if err != nil {
		log.Fatal(err)
	}
	rm, err := remember.New(remember.Config{
		Tokens:     remember.NewMemoryStore(), // sqlstore, redisstore or filestore in production
		Sessions:   sessions,
		CookieName: "__Host-remember",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		userID := "42" // after checking the password
		if err := rm.Login(w, r, userID, r.PostFormValue("remember") != ""); err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := rm.Logout(w, r); err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user %q\n", sesame.From(r).UserID())
	})
	// remember's Handler runs inside the sessions' Handler.
	handler := sessions.Handler(rm.Handler(mux))

	// A login with "remember me" ticked sets both cookies.
	req := httptest.NewRequest("POST", "https://example.com/login", strings.NewReader("remember=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		fmt.Println(c.Name, c.HttpOnly, c.Secure)
	}
	// Output:
	// __Host-remember true true
	// __Host-sid true true
}
