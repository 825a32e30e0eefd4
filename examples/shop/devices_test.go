package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
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
		// which would otherwise log it straight back in.
		if got := phone.state().user(); got != "" {
			t.Errorf("the other device is still logged in as %q", got)
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
	if r := c.get("/devices"); r.StatusCode != http.StatusSeeOther || r.location() != "/login" {
		t.Errorf("GET /devices as a guest: %d to %q, want 303 to /login", r.StatusCode, r.location())
	}
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
