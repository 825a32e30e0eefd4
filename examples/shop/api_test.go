package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sesamego/sesame"
)

func TestAPIStateShape(t *testing.T) {
	c := newServer(t, "memory").client(t)
	r := c.get("/api/state")
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /api/state: %d, %s, %s", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
		t.Fatal(err)
	}
	want := []string{"cart", "checkout_step", "flash", "language", "orders", "page_views", "theme", "user", "visits"}
	if got := slices.Sorted(maps.Keys(raw)); !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	for k, want := range map[string]string{"user": "null", "cart": "{}", "flash": "{}", "page_views": "0", "visits": "0", "checkout_step": "0", "theme": `"light"`} {
		if got := string(raw[k]); got != want {
			t.Errorf("a new visitor's %s = %s, want %s", k, got, want)
		}
	}
	if len(r.Cookies()) != 0 {
		t.Errorf("the API set cookies for a new visitor: %v", r.Cookies())
	}
}

func TestAPIStateConsumesFlash(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServer(t, store).client(t)
		c.login("alice@example.com", "wonderland", false)
		st := c.state()
		if st.Flash["success"] != "Welcome back!" || st.user() != "alice@example.com" {
			t.Errorf("state after login: flash %v, user %q", st.Flash, st.user())
		}
		if st := c.state(); len(st.Flash) != 0 {
			t.Errorf("the flash is still there on the second read: %v", st.Flash)
		}
		if home := c.page("/"); strings.Contains(home, "Welcome back!") {
			t.Error("the page shows a flash the API consumed")
		}
	})
}

func TestHealthz(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServer(t, store).client(t)
		r := c.get("/healthz")
		if r.StatusCode != http.StatusOK || strings.TrimSpace(r.body) != "ok" || len(r.Cookies()) != 0 {
			t.Errorf("GET /healthz: %d %q, cookies %v", r.StatusCode, r.body, r.Cookies())
		}
	})
}

func TestMetricsHook(t *testing.T) {
	var events atomic.Int64
	srv := newServerWith(t, "memory", serverOptions{config: func(cfg *appConfig) {
		cfg.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("metrics here")) })
		cfg.OnEvent = func(sesame.Event) { events.Add(1) }
	}})
	c := srv.client(t)
	if r := c.get("/metrics"); r.StatusCode != http.StatusOK || r.body != "metrics here" {
		t.Errorf("GET /metrics: %d %q", r.StatusCode, r.body)
	}
	c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}}, "/")
	if events.Load() == 0 {
		t.Error("OnEvent saw no session event")
	}
	if r := newServer(t, "memory").client(t).get("/metrics"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without a handler: %d, want 404", r.StatusCode)
	}
}

func TestDebugPage(t *testing.T) {
	c := newServer(t, "sqlite").client(t)
	c.login("alice@example.com", "wonderland", true)
	page := c.page("/debug")
	sid, rem := c.cookie("sid").Value, c.cookie("remember").Value
	if strings.Contains(page, sid) || strings.Contains(page, rem) {
		t.Error("/debug shows the session or remember-me cookie's value")
	}
	for _, want := range []string{"<code>sid</code>", "<code>remember</code>", "<code>page_views</code>", "hidden: a credential", "user <code>1</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("/debug lacks %s", want)
		}
	}
	if strings.Contains(page, `id="cookie-warning"`) {
		t.Error("/debug warns about a small Cookie header")
	}
	c.setCookie("big", strings.Repeat("x", 1100))
	if page := c.page("/debug"); !strings.Contains(page, `id="cookie-warning"`) {
		t.Error("/debug does not warn about a Cookie header over 1 KB")
	}
}
