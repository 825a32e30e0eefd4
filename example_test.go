package sesame_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/memstore"
)

// serve runs h behind a sesame manager on a TLS test server and returns a
// client that keeps cookies, like a browser.
func serve(h http.Handler) (*httptest.Server, *http.Client) {
	m, err := sesame.New(sesame.Config{Store: memstore.New()})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewTLSServer(m.Handler(h))
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	return srv, c
}

func get(c *http.Client, url string) string {
	resp, err := c.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func post(c *http.Client, url string) string {
	resp, err := c.Post(url, "text/plain", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// Login regenerates the session ID (so a session fixed by an attacker before
// login is worthless) and then puts the user; logout destroys the session.
func Example_loginLogout() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... verify the password first ...
		s := sesame.From(r)
		if err := s.Regenerate(); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		s.Put("user", "alice")
		s.SetUser("alice") // for the devices list and "log out other devices"
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Destroy() // record deleted, cookie cleared
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, sesame.GetOr(sesame.From(r), "user", "nobody"))
	})
	srv, c := serve(mux)
	defer srv.Close()

	post(c, srv.URL+"/login")
	fmt.Println(get(c, srv.URL+"/me"))
	post(c, srv.URL+"/logout")
	fmt.Println(get(c, srv.URL+"/me"))
	// Output:
	// alice
	// nobody
}

// A flash message survives one redirect and is gone after it.
func Example_flash() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /save", func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Flash("notice", "Saved!")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "notice=%q", sesame.From(r).Flashes().String("notice"))
	})
	srv, c := serve(mux)
	defer srv.Close()

	fmt.Println(post(c, srv.URL+"/save")) // follows the redirect
	fmt.Println(get(c, srv.URL+"/"))
	// Output:
	// notice="Saved!"
	// notice=""
}

// Values decode into your own types; GetOr supplies a default.
func ExampleGetOr() {
	type Prefs struct {
		Theme string
		Size  int
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /show", func(w http.ResponseWriter, r *http.Request) {
		p := sesame.GetOr(sesame.From(r), "prefs", Prefs{Theme: "light", Size: 12})
		fmt.Fprintf(w, "%s %d", p.Theme, p.Size)
	})
	mux.HandleFunc("POST /dark", func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Put("prefs", Prefs{Theme: "dark", Size: 14})
	})
	srv, c := serve(mux)
	defer srv.Close()

	fmt.Println(get(c, srv.URL+"/show"))
	post(c, srv.URL+"/dark")
	fmt.Println(get(c, srv.URL+"/show"))
	// Output:
	// light 12
	// dark 14
}

// Increment is applied atomically by the store at commit: concurrent page
// views all count.
func ExampleSession_Increment() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		n, err := sesame.From(r).Increment("page_views", 1)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, n)
	})
	srv, c := serve(mux)
	defer srv.Close()

	get(c, srv.URL+"/")
	done := make(chan bool)
	for range 10 {
		go func() { get(c, srv.URL+"/"); done <- true }()
	}
	for range 10 {
		<-done
	}
	fmt.Println(get(c, srv.URL+"/"))
	// Output:
	// 12
}
