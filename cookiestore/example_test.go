package cookiestore_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/cookiestore"
	"github.com/sesamego/sesame/seal"
)

// The whole session travels in an encrypted cookie ("__Host-sdata"), next
// to the manager's ID cookie: no server-side store at all.
func Example() {
	secret, err := seal.GenerateSecret() // keep it in SESAME_SECRETS, not in code
	if err != nil {
		log.Fatal(err)
	}
	keys, err := seal.ParseSecrets(secret)
	if err != nil {
		log.Fatal(err)
	}
	cs, err := cookiestore.New(cookiestore.Options{
		Keys:   keys,
		Epochs: cookiestore.NewMemoryEpochs(), // shared storage in production, for "log out everywhere"
	})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := sesame.New(sesame.Config{Store: cs})
	if err != nil {
		log.Fatal(err)
	}
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Put("theme", "dark")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
	for _, c := range rec.Result().Cookies() {
		fmt.Println(c.Name, c.HttpOnly, c.Secure, c.Value != "dark")
	}
	// Output:
	// __Host-sdata true true true
	// __Host-sid true true true
}
