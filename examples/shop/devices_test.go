package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var deviceRow = regexp.MustCompile(`<tr class="device">`)

func TestDevices(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		srv := newServer(t, store)
		laptop, phone := srv.client(t), srv.client(t)
		laptop.login("alice@example.com", "wonderland", false)
		phone.login("alice@example.com", "wonderland", true)
		bob := srv.client(t)
		bob.login("bob@example.com", "builder", false)

		page := laptop.page("/devices")
		if n := len(deviceRow.FindAllString(page, -1)); n != 2 {
			t.Fatalf("devices page lists %d sessions, want 2:\n%.3000s", n, page)
		}
		for _, want := range []string{"Go HTTP client", "127.0.0.1", "just now", "this device"} {
			if !strings.Contains(page, want) {
				t.Errorf("devices page lacks %q", want)
			}
		}
		if n := strings.Count(page, "this device"); n != 1 {
			t.Errorf("%d sessions marked as this device, want 1", n)
		}

		r := laptop.submit("/devices", "/devices/logout-others", nil)
		if r.StatusCode != http.StatusSeeOther || r.location() != "/devices" {
			t.Fatalf("POST /devices/logout-others: %d to %q", r.StatusCode, r.location())
		}
		page = laptop.page("/devices")
		if n := len(deviceRow.FindAllString(page, -1)); n != 1 {
			t.Errorf("after logging out the others: %d sessions listed, want 1", n)
		}
		if !strings.Contains(page, "Logged out 1 other session") {
			t.Error("no flash after logging out the others")
		}
		// The phone's session is gone, and so is its remember-me token,
		// which would otherwise log it straight back in. Its next request
		// says why, once.
		st := phone.state()
		if got := st.user(); got != "" {
			t.Errorf("the other device is still logged in as %q", got)
		}
		if st.Flash["warning"] != signedOutMessage {
			t.Errorf("the other device's next request: flash %v, want the signed-out warning", st.Flash)
		}
		if st := phone.state(); len(st.Flash) != 0 {
			t.Errorf("the warning is shown again: %v", st.Flash)
		}
		phone.deleteCookie("sid")
		if got := phone.state().user(); got != "" {
			t.Errorf("the other device's remember cookie logged it back in as %q", got)
		}
		if got := laptop.state().user(); got != "alice@example.com" {
			t.Errorf("this device was logged out too: user %q", got)
		}
		if got := bob.state().user(); got != "bob@example.com" {
			t.Errorf("another user was logged out: user %q", got)
		}
	})
}

func TestSignedOutDevicePageSaysWhy(t *testing.T) {
	srv := newServer(t, "memory")
	laptop, phone := srv.client(t), srv.client(t)
	laptop.login("alice@example.com", "wonderland", false)
	phone.login("alice@example.com", "wonderland", false)
	phone.page("/") // the welcome flash
	laptop.submit("/devices", "/devices/logout-others", nil)
	page := phone.page("/cart")
	if !strings.Contains(page, `id="flash-warning" role="alert">You were logged out: your account chose`) {
		t.Errorf("the signed-out device's next page does not say why:\n%.2000s", page)
	}
	if page := phone.page("/cart"); strings.Contains(page, "You were logged out") {
		t.Error("the warning is shown on the second page too")
	}
	// A plain logout is not "another device".
	c := srv.client(t)
	c.login("bob@example.com", "builder", false)
	c.submitSeeOther("/", "/logout", nil, "/")
	if page := c.page("/"); strings.Contains(page, "You were logged out: your account") {
		t.Error("a plain logout got the other-device warning")
	}
}

func TestSignedOutSessionsAreBounded(t *testing.T) {
	s := newSignedOutSessions(time.Hour)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.add(t0, signedOutByOtherDevice, "old")
	for i := range maxSignedOut {
		s.add(t0.Add(time.Minute), signedOutByOtherDevice, strconv.Itoa(i))
	}
	if len(s.byHash) > maxSignedOut || s.take("old") != 0 {
		t.Errorf("%d entries, and the oldest kept; want at most %d, without the oldest", len(s.byHash), maxSignedOut)
	}
	s.add(t0.Add(3*time.Hour), signedOutByAdmin, "new")
	if len(s.byHash) != 1 || s.take("new") != signedOutByAdmin || s.take("new") != 0 {
		t.Errorf("expired entries are kept, who signed out is lost, or an entry is taken twice: %d entries", len(s.byHash))
	}
}

func TestLogoutOthersKeepsThisBrowsersRememberMe(t *testing.T) {
	srv := newServer(t, "memory")
	c, other := srv.client(t), srv.client(t)
	c.login("bob@example.com", "builder", true)
	other.login("bob@example.com", "builder", true)
	old := c.cookie("remember").Value
	c.submit("/devices", "/devices/logout-others", nil)
	ck := c.cookie("remember")
	if ck == nil || ck.Value == old {
		t.Fatalf("remember cookie after logout-others = %v, want a new token", ck)
	}
	c.deleteCookie("sid")
	if got := c.state().user(); got != "bob@example.com" {
		t.Errorf("this browser's new remember-me token logs in %q, want bob@example.com", got)
	}
}

func TestDevicesNeedLogin(t *testing.T) {
	c := newServer(t, "memory").client(t)
	if r := c.get("/devices"); r.StatusCode != http.StatusSeeOther || r.location() != "/login?for=devices" {
		t.Errorf("GET /devices as a guest: %d to %q, want 303 to /login?for=devices", r.StatusCode, r.location())
	}
	if page := c.page("/login?for=devices"); !strings.Contains(page, `id="login-reason">Log in to see your devices.<`) {
		t.Error("the login page does not say why it is shown")
	}
	// Logging in from there goes to the devices page.
	c.submitSeeOther("/login?for=devices", "/login", url.Values{"email": {"bob@example.com"}, "password": {"builder"}, "for": {"devices"}}, "/devices")
	c.submitSeeOther("/", "/logout", nil, "/")
	c.submitSeeOther("/", "/devices/logout-others", nil, "/login")
}

func TestBrowserName(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome on Linux"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36", "Headless Chrome on Linux"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0", "Firefox on macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iOS"},
		{"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome on Android"},
		{"curl/8.5.0", "curl"},
		{"Go-http-client/1.1", "Go HTTP client"},
		{"", "Unknown browser"},
		{"SomethingElse/1.0", "Unknown browser"},
	}
	for _, tt := range tests {
		if got := browserName(tt.ua); got != tt.want {
			t.Errorf("browserName(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}
