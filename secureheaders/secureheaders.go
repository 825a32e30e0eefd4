// Package secureheaders sets the response headers that keep cookies and
// sessions from leaking: a Content-Security-Policy with a per-request nonce
// (so an injected script cannot run and read the page or its forms),
// X-Content-Type-Options, Referrer-Policy (so URLs with tokens do not leak to
// other sites), X-Frame-Options through frame-ancestors (clickjacking), and an
// opt-in Clear-Site-Data for a full wipe at logout.
//
// # Nonces in templates
//
//	<script nonce="{{.Nonce}}">...</script>   // Nonce: secureheaders.Nonce(r)
//
// # Clear-Site-Data
//
// [ClearSiteData] tells the browser to delete every cookie and all storage
// for the origin. It also deletes preference cookies (a theme, a language),
// so apps that keep those across logout should clear only their own session
// cookies instead (sesame's Session.Destroy does that).
package secureheaders

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
)

// Config configures [Handler]. The zero value is a strict, safe default.
type Config struct {
	// ContentSecurityPolicy is the policy. "{nonce}" is replaced by the
	// request's nonce. Empty means DefaultCSP.
	ContentSecurityPolicy string

	// ReferrerPolicy is the Referrer-Policy. Empty means
	// "strict-origin-when-cross-origin".
	ReferrerPolicy string

	// AllowFraming drops frame-ancestors 'none' from the default policy and
	// omits X-Frame-Options. False forbids framing (clickjacking defence).
	AllowFraming bool

	// HSTS, when true, sends Strict-Transport-Security (one year,
	// includeSubDomains) on HTTPS requests.
	HSTS bool
}

// DefaultCSP allows the app's own scripts, styles and images, scripts and
// styles with the request's nonce, and nothing from elsewhere.
const DefaultCSP = "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; " +
	"img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type ctxKey struct{}

// Handler returns middleware setting the headers on every response. It is
// safe for concurrent use. A header the handler sets itself is overwritten
// only for Content-Security-Policy when the handler set none.
func Handler(cfg Config) func(http.Handler) http.Handler {
	csp := cfg.ContentSecurityPolicy
	if csp == "" {
		csp = DefaultCSP
		if cfg.AllowFraming {
			csp = strings.Replace(csp, "; frame-ancestors 'none'", "", 1)
		}
	}
	ref := cfg.ReferrerPolicy
	if ref == "" {
		ref = "strict-origin-when-cross-origin"
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nonce := newNonce()
			h := w.Header()
			h.Set("Content-Security-Policy", strings.ReplaceAll(csp, "{nonce}", nonce))
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", ref)
			if !cfg.AllowFraming {
				h.Set("X-Frame-Options", "DENY")
			}
			if cfg.HSTS && r.TLS != nil {
				h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, nonce)))
		})
	}
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])
}

// Nonce returns the request's CSP nonce for script and style tags, or ""
// outside [Handler].
func Nonce(r *http.Request) string {
	n, _ := r.Context().Value(ctxKey{}).(string)
	return n
}

// ClearSiteData asks the browser to delete the origin's cookies, storage and
// cache (all of them, preference cookies included). Call it on a logout
// response when a full wipe is wanted.
func ClearSiteData(w http.ResponseWriter) {
	w.Header().Set("Clear-Site-Data", `"cache", "cookies", "storage"`)
}
