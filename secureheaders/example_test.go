package secureheaders_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sesamego/sesame/secureheaders"
)

// The middleware sets a strict Content-Security-Policy with a fresh nonce per
// request; the page gives the same nonce to its inline script.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<script nonce="%s">console.log("allowed")</script>`, secureheaders.Nonce(r))
	})
	h := secureheaders.Handler(secureheaders.Config{HSTS: true})(mux)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
	fmt.Println(rec.Header().Get("X-Content-Type-Options"))
	fmt.Println(rec.Header().Get("X-Frame-Options"))
	fmt.Println(rec.Header().Get("Referrer-Policy"))
	fmt.Println(rec.Header().Get("Strict-Transport-Security") != "")
	// Output:
	// nosniff
	// DENY
	// strict-origin-when-cross-origin
	// true
}

// ClearSiteData tells the browser to drop the site's cookies and storage, for
// a "log out and forget this browser" action.
func ExampleClearSiteData() {
	rec := httptest.NewRecorder()
	secureheaders.ClearSiteData(rec)
	fmt.Println(rec.Header().Get("Clear-Site-Data") != "")
	// Output: true
}
