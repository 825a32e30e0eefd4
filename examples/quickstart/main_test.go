package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestQuickStart runs the Quick start as a browser would: visits count,
// login keeps the name under a new session ID, a cross-site login is
// refused, logout forgets the name.
func TestQuickStart(t *testing.T) {
	h, err := newHandler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var lastBody string
	post := func(path string, form url.Values, site string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		lastBody = string(b)
		return resp.StatusCode
	}
	get("/")
	body := get("/")
	if !strings.Contains(body, "Hello stranger, this is visit 2.") {
		t.Fatalf("second visit: %q", body)
	}
	token := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if token == nil {
		t.Fatalf("no CSRF field in %q", body)
	}
	u, _ := url.Parse(srv.URL)
	before := jar.Cookies(u)
	if code := post("/login", url.Values{"name": {"Mallory"}, "_csrf": {token[1]}}, "cross-site"); code != http.StatusForbidden {
		t.Errorf("a cross-site login answered %d, want 403", code)
	}
	if code := post("/login", url.Values{"name": {"Ada"}}, "same-origin"); code != http.StatusForbidden {
		t.Errorf("a login without the form token answered %d, want 403", code)
	}
	if code := post("/login", url.Values{"name": {"Ada"}, "_csrf": {token[1]}}, "same-origin"); code != http.StatusOK {
		t.Errorf("login answered %d, want 200 after the redirect", code)
	}
	if !strings.Contains(lastBody, "<b>Welcome!</b>") || !strings.Contains(lastBody, "Hello Ada") {
		t.Errorf("after login the page says %q, want the welcome flash and the name", lastBody)
	}
	if body := get("/"); strings.Contains(body, "Welcome!") {
		t.Errorf("the flash is shown twice")
	}
	if got := get("/whoami"); got != "Ada\n" {
		t.Errorf("after login: %q, want Ada", got)
	}
	if after := jar.Cookies(u); len(before) == 0 || len(after) == 0 || before[0].Value == after[0].Value {
		t.Errorf("the session ID did not change at login: %v then %v", before, after)
	}
	body = get("/")
	token = regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if code := post("/logout", url.Values{"_csrf": {token[1]}}, "same-origin"); code != http.StatusOK {
		t.Errorf("logout answered %d", code)
	}
	if got := get("/whoami"); got != "stranger\n" {
		t.Errorf("after logout: %q, want stranger", got)
	}
}
