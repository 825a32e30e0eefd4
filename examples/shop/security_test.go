package main

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// postRoutes are every POST of the app, with a form that would succeed.
var postRoutes = []struct {
	path string
	form url.Values
}{
	{"/cart/add", url.Values{"sku": {"mug"}}},
	{"/cart/remove", url.Values{"sku": {"mug"}}},
	{"/checkout/1", url.Values{"name": {"A"}, "address": {"B"}}},
	{"/checkout/2", url.Values{"delivery": {"standard"}}},
	{"/checkout/3", url.Values{"payment": {"card"}}},
	{"/preferences", url.Values{"theme": {"dark"}, "language": {"en"}}},
	{"/devices/logout-others", nil},
	// Last: they change the session (and so its token).
	{"/login", url.Values{"email": {"alice@example.com"}, "password": {"wonderland"}}},
	{"/logout", nil},
}

func TestEveryPostNeedsTheToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		srv := newServer(t, store)
		c := srv.client(t)
		c.login("alice@example.com", "wonderland", false)
		valid := c.token("/")
		bob := srv.client(t)
		bob.login("bob@example.com", "builder", false)
		other := bob.token("/") // another session's token

		cases := []struct {
			name   string
			token  string
			header []string
			want   int
		}{
			{"no token", "", nil, http.StatusForbidden},
			{"a garbage token", "not-a-token", nil, http.StatusForbidden},
			{"another session's token", other, nil, http.StatusForbidden},
			{"a cross-origin request with a valid token", valid, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
			{"a cross-site fetch with a valid token", valid, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
			{"a sibling site with a valid token", valid, []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
			{"a valid token in the header", "", []string{"X-CSRF-Token", valid}, http.StatusSeeOther},
		}
		for _, tc := range cases {
			for _, route := range postRoutes {
				if tc.want == http.StatusSeeOther && route.path == "/logout" {
					continue // would end the session the other cases use
				}
				form := url.Values{}
				for k, v := range route.form {
					form[k] = v
				}
				if tc.token != "" {
					form.Set("_csrf", tc.token)
				}
				r := c.post(route.path, form, tc.header...)
				if r.StatusCode != tc.want {
					t.Errorf("%s to %s: status %d, want %d", tc.name, route.path, r.StatusCode, tc.want)
				}
			}
		}
		if got := c.state().user(); got != "alice@example.com" {
			t.Errorf("after the forged requests: user %q", got)
		}
	})
}

func TestForgedLogoutDoesNothing(t *testing.T) {
	c := newServer(t, "memory").client(t)
	c.login("alice@example.com", "wonderland", true)
	r := c.post("/logout", url.Values{}, "Origin", "https://evil.example")
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin logout: status %d, want 403", r.StatusCode)
	}
	if got := c.state().user(); got != "alice@example.com" {
		t.Errorf("a forged logout logged out the user (%q)", got)
	}
}

// TestTokenFromBeforeLoginIsRefusedAfter: logging in rotates the token, so a
// page rendered in an earlier login of the same browser (a guest's pages
// have no token: see TestGuestFormsAreProtectedByTheirOrigin) cannot post
// after it.
func TestTokenFromBeforeLoginIsRefusedAfter(t *testing.T) {
	c := newServer(t, "memory").client(t)
	c.login("alice@example.com", "wonderland", false)
	before := c.token("/")
	c.submitSeeOther("/", "/logout", nil, "/")
	c.login("alice@example.com", "wonderland", false)
	r := c.post("/cart/add", url.Values{"_csrf": {before}, "sku": {"mug"}})
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("a token from before login: status %d, want 403", r.StatusCode)
	}
}

func TestEveryFormCarriesTheToken(t *testing.T) {
	c := newServer(t, "memory").client(t)
	c.login("alice@example.com", "wonderland", false)
	c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}}, "/")
	form := regexp.MustCompile(`(?s)<form method="post"[^>]*>(.*?)</form>`)
	for _, path := range []string{"/", "/login", "/cart", "/checkout/1", "/devices", "/debug"} {
		page := c.get(path).body
		forms := form.FindAllStringSubmatch(page, -1)
		if path != "/login" && len(forms) == 0 {
			t.Errorf("%s has no form", path)
		}
		for _, f := range forms {
			if !strings.Contains(f[1], `name="_csrf"`) {
				t.Errorf("a form of %s lacks the _csrf field: %.200s", path, f[0])
			}
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	c := newServer(t, "memory").client(t)
	r := c.get("/")
	csp := r.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`<script nonce="([^"]+)">`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("the page's script has no nonce")
	}
	nonce := html.UnescapeString(m[1]) // html/template escapes "+"
	if !strings.Contains(csp, "'nonce-"+nonce+"'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q does not allow exactly the nonce %q", csp, nonce)
	}
	if strings.Contains(r.body, "style=") || strings.Contains(r.body, "<style") {
		t.Error("the page has inline styles, which the CSP forbids")
	}
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Cache-Control":          "no-store",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// Errors carry the headers too.
	if r := c.post("/cart/add", url.Values{}, "Sec-Fetch-Site", "cross-site"); r.Header.Get("Content-Security-Policy") == "" || r.StatusCode != http.StatusForbidden {
		t.Errorf("refused POST: status %d, CSP %q", r.StatusCode, r.Header.Get("Content-Security-Policy"))
	}
}

func TestStaticFilesNeedNoSession(t *testing.T) {
	c := newServer(t, "memory").client(t)
	c.login("alice@example.com", "wonderland", true)
	r := c.get("/static/style.css")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("GET /static/style.css: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if len(r.Cookies()) != 0 || r.Header.Get("Vary") != "" {
		t.Errorf("a static file touched the session: Set-Cookie %v, Vary %q", r.Cookies(), r.Header.Get("Vary"))
	}
}

func TestHugeBodiesAreRefused(t *testing.T) {
	srv := newServer(t, "memory")
	for _, loggedIn := range []bool{false, true} {
		c := srv.client(t)
		form := url.Values{"sku": {"mug"}, "pad": {strings.Repeat("x", 100<<10)}}
		if loggedIn {
			c.login("alice@example.com", "wonderland", false)
			form.Set("_csrf", c.token("/"))
		}
		r := c.post("/cart/add", form, "Sec-Fetch-Site", "same-origin")
		if r.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("logged in %v: a 100 KB form: status %d, want 413", loggedIn, r.StatusCode)
		}
		if st := c.state(); len(st.Cart) != 0 {
			t.Errorf("logged in %v: a 100 KB form changed the cart: %v", loggedIn, st.Cart)
		}
	}
}
