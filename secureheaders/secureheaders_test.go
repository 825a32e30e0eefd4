package secureheaders

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHeaders(t *testing.T) {
	var nonce string
	h := Handler(Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { nonce = Nonce(r) }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if len(nonce) < 20 {
		t.Fatalf("nonce %q too short", nonce)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "'nonce-"+nonce+"'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q lacks the nonce or frame-ancestors", csp)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin", "X-Frame-Options": "DENY"} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if rec.Header().Get("Clear-Site-Data") != "" {
		t.Error("Clear-Site-Data sent without being asked for")
	}
	var nonce2 string
	h2 := Handler(Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { nonce2 = Nonce(r) }))
	h2.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if nonce2 == nonce {
		t.Error("two requests got the same nonce")
	}
}

func TestAllowFramingAndHSTS(t *testing.T) {
	h := Handler(Config{AllowFraming: true, HSTS: true})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
	if strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors") || rec.Header().Get("X-Frame-Options") != "" {
		t.Error("framing still forbidden with AllowFraming")
	}
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS on an HTTPS request")
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://example.com/", nil))
	if rec.Header().Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain HTTP")
	}
}

func TestClearSiteData(t *testing.T) {
	rec := httptest.NewRecorder()
	ClearSiteData(rec)
	if got := rec.Header().Get("Clear-Site-Data"); !strings.Contains(got, `"cookies"`) {
		t.Errorf("Clear-Site-Data = %q", got)
	}
}
