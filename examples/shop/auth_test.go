package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestLoginRegeneratesTheSession(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		srv := newServer(t, store)
		c := srv.client(t)
		c.page("/login")
		if c.cookie("sid") != nil {
			t.Fatal("the login page started a session: browsing must not")
		}
		// A guest's first change starts a session (here: its flash).
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}, "back": {"/"}}, "/")
		before := c.cookie("sid")
		if before == nil {
			t.Fatal("no sid cookie after adding to the cart")
		}
		c.login("alice@example.com", "wonderland", false)
		after := c.cookie("sid")
		if after == nil || after.Value == before.Value {
			t.Fatalf("sid after login = %v, want a new ID (before: %v)", after, before)
		}

		home := c.page("/")
		if !strings.Contains(home, "Welcome back!") || !strings.Contains(home, "alice@example.com") {
			t.Errorf("home after login lacks the flash or the user:\n%.2000s", home)
		}
		if got := c.state().user(); got != "alice@example.com" {
			t.Errorf("user = %q, want alice@example.com", got)
		}

		// The ID from before login is dead: it shows nobody.
		old := srv.client(t)
		old.setCookie("sid", before.Value)
		if got := old.state().user(); got != "" {
			t.Errorf("pre-login session ID shows user %q, want none", got)
		}
	})
}

func TestWelcomeFlashShowsOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServer(t, store).client(t)
		c.login("bob@example.com", "builder", false)
		if home := c.page("/"); !strings.Contains(home, `id="flash-success" role="status">Welcome back!<`) {
			t.Fatalf("first page after login lacks the flash:\n%.1500s", home)
		}
		if home := c.page("/"); strings.Contains(home, "Welcome back!") {
			t.Error("the flash is shown again on the second page")
		}
	})
}

func TestFailedLogin(t *testing.T) {
	tests := []struct {
		name            string
		email, password string
		wantOld         string
	}{
		{"a wrong password keeps the email", "alice@example.com", "open sesame", "alice@example.com"},
		{"an unknown email is kept too", "carol@example.com", "carols-secret", "carol@example.com"},
		{"a password with a typo fails", "bob@example.com", "builder!", "bob@example.com"},
		{"empty fields fail", "", "", ""},
	}
	forEachStore(t, func(t *testing.T, store string) {
		srv := newServer(t, store)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := srv.client(t)
				sid := func() string { return c.cookie("sid").Value }
				// A guest with a session (started by adding to the cart).
				c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}, "back": {"/"}}, "/")
				before := sid()
				c.submitSeeOther("/login", "/login", url.Values{"email": {tt.email}, "password": {tt.password}, "remember": {"1"}}, "/login")
				if sid() != before {
					t.Error("a failed login changed the session ID")
				}
				page := c.page("/login")
				if !strings.Contains(page, "Invalid credentials") {
					t.Errorf("login page lacks the error:\n%.1500s", page)
				}
				if want := `name="email" id="email" value="` + tt.wantOld + `"`; !strings.Contains(page, want) {
					t.Errorf("login page does not keep the email: want %s in\n%.2500s", want, page)
				}
				if tt.password != "" && strings.Contains(page, tt.password) {
					t.Errorf("login page shows the password %q", tt.password)
				}
				if !strings.Contains(page, `<input type="password" name="password" id="password" autocomplete="current-password" required>`) {
					t.Error("the password field is not empty")
				}
				if c.cookie("remember") != nil {
					t.Error("a failed login issued a remember-me cookie")
				}
				if st := c.state(); st.user() != "" {
					t.Errorf("user = %q after a failed login", st.user())
				}
				if page := c.page("/login"); strings.Contains(page, "Invalid credentials") || strings.Contains(page, `value="`+tt.wantOld+`" autocomplete`) && tt.wantOld != "" {
					t.Error("the error or the old email is still there on the next page")
				}
			})
		}
	})
}

func TestLoginPageRedirectsWhenLoggedIn(t *testing.T) {
	c := newServer(t, "memory").client(t)
	c.login("alice@example.com", "wonderland", false)
	if r := c.get("/login"); r.StatusCode != http.StatusSeeOther || r.location() != "/" {
		t.Errorf("GET /login when logged in: %d to %q, want 303 to /", r.StatusCode, r.location())
	}
}

func TestLogout(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		srv := newServer(t, store)
		c := srv.client(t)
		c.submitSeeOther("/", "/preferences", url.Values{"theme": {"dark"}}, "/")
		c.login("alice@example.com", "wonderland", true)
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}, "qty": {"2"}}, "/")
		sid, rem := c.cookie("sid").Value, c.cookie("remember").Value

		r := c.submit("/", "/logout", nil)
		if r.StatusCode != http.StatusSeeOther || r.location() != "/" {
			t.Fatalf("POST /logout: %d to %q, want 303 to /", r.StatusCode, r.location())
		}
		if ck := responseCookie(r, "remember"); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("logout's remember Set-Cookie = %v, want a deletion", ck)
		}
		if responseCookie(r, "theme") != nil {
			t.Error("logout touched the theme cookie")
		}
		if c.cookie("remember") != nil {
			t.Error("remember cookie still in the jar")
		}
		if got := c.cookie("theme"); got == nil || got.Value != "dark" {
			t.Errorf("theme cookie after logout = %v, want dark", got)
		}
		if got := c.cookie("sid"); got == nil || got.Value == sid {
			t.Errorf("sid after logout = %v, want a new ID", got)
		}
		home := c.page("/")
		if !strings.Contains(home, "Successfully logged out") {
			t.Errorf("home after logout lacks the flash:\n%.1500s", home)
		}
		if !strings.Contains(home, `data-theme="dark"`) {
			t.Error("home after logout lost the theme")
		}
		st := c.state()
		if st.user() != "" || len(st.Cart) != 0 {
			t.Errorf("after logout: user %q, cart %v; want none and empty", st.user(), st.Cart)
		}

		// A copy of the pre-logout cookies logs nobody in: the session ID
		// is dead and the remember-me token revoked.
		thief := srv.client(t)
		thief.setCookie("sid", sid)
		if got := thief.state().user(); got != "" {
			t.Errorf("pre-logout session cookie shows user %q", got)
		}
		thief = srv.client(t)
		thief.setCookie("remember", rem)
		if got := thief.state().user(); got != "" {
			t.Errorf("pre-logout remember cookie logs in %q", got)
		}
	})
}

func TestRememberMe(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		srv := newServer(t, store)

		c := srv.client(t)
		c.login("alice@example.com", "wonderland", true)
		rem := c.cookie("remember")
		if rem == nil {
			t.Fatal("no remember cookie after logging in with remember me")
		}
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"tahini"}}, "/")
		c.deleteCookie("sid") // the browser was closed

		r := c.get("/api/state")
		if ck := responseCookie(r, "sid"); ck == nil || ck.Value == "" {
			t.Error("re-login from the remember cookie set no new session cookie")
		}
		if ck := responseCookie(r, "remember"); ck == nil || ck.Value == rem.Value {
			t.Errorf("the remember-me token was not rotated: %v", ck)
		}
		if st := c.state(); st.user() != "alice@example.com" {
			t.Errorf("after the session cookie was deleted: user %q, want alice@example.com", st.user())
		}

		// Without remember me, closing the browser logs out.
		c2 := srv.client(t)
		c2.login("bob@example.com", "builder", false)
		if c2.cookie("remember") != nil {
			t.Error("remember cookie without remember me")
		}
		c2.deleteCookie("sid")
		if got := c2.state().user(); got != "" {
			t.Errorf("without remember me and without the session cookie: user %q", got)
		}
	})
}

func TestCookieAttributes(t *testing.T) {
	c := newServer(t, "memory").client(t)
	c.page("/")
	r := c.submit("/login", "/login", url.Values{"email": {"alice@example.com"}, "password": {"wonderland"}, "remember": {"on"}})
	tests := []struct {
		name         string
		wantHTTPOnly bool
	}{
		{"sid", true},
		{"remember", true},
	}
	for _, tt := range tests {
		ck := responseCookie(r, tt.name)
		if ck == nil {
			t.Errorf("login response sets no %s cookie", tt.name)
			continue
		}
		if ck.HttpOnly != tt.wantHTTPOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
			t.Errorf("%s: HttpOnly %v SameSite %v Path %q, want HttpOnly %v, Lax, /", tt.name, ck.HttpOnly, ck.SameSite, ck.Path, tt.wantHTTPOnly)
		}
		if ck.Secure {
			t.Errorf("%s is Secure in dev mode over plain HTTP", tt.name)
		}
	}
	if ck := responseCookie(r, "sid"); ck != nil && (ck.MaxAge != 0 || !ck.Expires.IsZero()) {
		t.Errorf("sid has Max-Age %d / Expires %v, want a browser-session cookie", ck.MaxAge, ck.Expires)
	}
	if ck := responseCookie(r, "remember"); ck != nil && ck.MaxAge != 30*24*3600 {
		t.Errorf("remember Max-Age = %d, want 30 days", ck.MaxAge)
	}
}

// TestSecureCookiesOverTLS runs without dev mode, over HTTPS: the session
// cookie gets the __Host- prefix and every credential is Secure.
func TestSecureCookiesOverTLS(t *testing.T) {
	srv := newServerWith(t, "file", serverOptions{tls: true})
	c := srv.client(t)
	c.page("/")
	r := c.submit("/login", "/login", url.Values{"email": {"alice@example.com"}, "password": {"wonderland"}, "remember": {"1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login over TLS: %d", r.StatusCode)
	}
	if responseCookie(r, "sid") != nil {
		t.Error("a cookie called sid (without prefix) was set in Secure mode")
	}
	for _, name := range []string{"__Host-sid", "remember"} {
		ck := responseCookie(r, name)
		if ck == nil || !ck.Secure || !ck.HttpOnly {
			t.Errorf("%s = %v, want Secure and HttpOnly", name, ck)
		}
	}
	if got := c.state().user(); got != "alice@example.com" {
		t.Errorf("user over TLS = %q", got)
	}
	if r := c.get("/debug"); r.StatusCode != http.StatusNotFound {
		t.Errorf("/debug without dev mode: status %d, want 404", r.StatusCode)
	}
	if r := c.get("/"); !strings.Contains(r.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS header over TLS in production mode")
	}
}

func TestLoggingInAsAnotherUserClearsTheFirstOnesData(t *testing.T) {
	c := newServer(t, "memory").client(t)
	c.login("alice@example.com", "wonderland", false)
	c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}}, "/")
	// The login form is not shown to a logged-in user, but a POST can
	// still come (another tab).
	c.submitSeeOther("/", "/login", url.Values{"email": {"bob@example.com"}, "password": {"builder"}}, "/")
	if st := c.state(); st.user() != "bob@example.com" || len(st.Cart) != 0 {
		t.Errorf("after switching to bob: user %q, cart %v; want bob and an empty cart", st.user(), st.Cart)
	}
	c.submitSeeOther("/", "/login", url.Values{"email": {"bob@example.com"}, "password": {"builder"}}, "/")
	c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"bagel"}}, "/")
	c.submitSeeOther("/", "/login", url.Values{"email": {"bob@example.com"}, "password": {"builder"}}, "/")
	if st := c.state(); st.Cart["bagel"] != 1 {
		t.Errorf("logging in again as the same user lost the cart: %v", st.Cart)
	}
}

// TestLoginWithEveryFormEncoding: a form posted by a script as FormData is
// multipart, and logs in as well as an HTML form does.
func TestLoginWithEveryFormEncoding(t *testing.T) {
	srv := newServer(t, "memory")
	tests := []struct {
		name string
		body func() (io.Reader, string)
	}{
		{"urlencoded", func() (io.Reader, string) {
			v := url.Values{"email": {"alice@example.com"}, "password": {"wonderland"}}
			return strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
		}},
		{"multipart", func() (io.Reader, string) {
			var b bytes.Buffer
			w := multipart.NewWriter(&b)
			w.WriteField("email", "alice@example.com")
			w.WriteField("password", "wonderland")
			w.Close()
			return &b, w.FormDataContentType()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := srv.client(t)
			body, ct := tt.body()
			req, err := http.NewRequest("POST", srv.URL+"/login", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if r := c.do(req); r.StatusCode != http.StatusSeeOther || r.location() != "/" {
				t.Fatalf("POST /login: %d to %q, want 303 to /", r.StatusCode, r.location())
			}
			if got := c.state().user(); got != "alice@example.com" {
				t.Errorf("user %q, want alice@example.com", got)
			}
		})
	}
}
