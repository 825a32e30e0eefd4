package main

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
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
	want := []string{"cart", "checkout_step", "flash", "orders", "page_views", "recent", "stored", "theme", "user", "visits"}
	if got := slices.Sorted(maps.Keys(raw)); !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	for k, want := range map[string]string{"user": "null", "cart": "{}", "flash": "{}", "page_views": "0", "visits": "0", "checkout_step": "0", "theme": `"light"`, "stored": "false"} {
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

// TestNoMetricsByDefault: without -tags metrics there is no /metrics
// (metrics_test.go tests it with the tag).
func TestNoMetricsByDefault(t *testing.T) {
	met, h, err := newMetrics()
	if (met == nil) != (h == nil) || err != nil {
		t.Fatalf("newMetrics() = %v, %v, %v", met, h, err)
	}
	srv := newServerWith(t, "memory", serverOptions{config: func(cfg *appConfig) { cfg.Met, cfg.Metrics = met, h }})
	want := http.StatusNotFound
	if h != nil {
		want = http.StatusOK
	}
	if r := srv.client(t).get("/metrics"); r.StatusCode != want {
		t.Errorf("GET /metrics: %d, want %d", r.StatusCode, want)
	}
}

func TestDebugPage(t *testing.T) {
	c := newServer(t, "file").client(t)
	c.login("alice@example.com", "wonderland", true)
	c.page("/") // counted in page_views
	page := c.page("/debug")
	sid, rem := c.cookie("sid").Value, c.cookie("remember").Value
	if strings.Contains(page, sid) || strings.Contains(page, rem) {
		t.Error("/debug shows the session or remember-me cookie's value")
	}
	for _, want := range []string{"<code>sid</code>", "<code>remember</code>", "<code>page_views</code>", "hidden: a credential", "user ID <code>1</code>"} {
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

// flakyStore is a memstore that fails every Load and Apply while down is
// set, like a database that went away.
type flakyStore struct {
	*memstore.Store
	down *atomic.Bool
}

var errDown = errors.New("connection refused")

func (s flakyStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	if s.down.Load() {
		return store.Record{}, false, errDown
	}
	return s.Store.Load(ctx, key)
}

// LoadShared is what sesame calls on a memstore; it fails like Load.
func (s flakyStore) LoadShared(ctx context.Context, key string) (store.Record, bool, error) {
	if s.down.Load() {
		return store.Record{}, false, errDown
	}
	return s.Store.LoadShared(ctx, key)
}

func (s flakyStore) Apply(ctx context.Context, key string, c store.Change) error {
	if s.down.Load() {
		return errDown
	}
	return s.Store.Apply(ctx, key, c)
}

// TestStoreDownFailsClosed: with the session store down, pages and forms
// answer 503 (nothing is shown as logged out, nothing written), and come
// back with the store.
func TestStoreDownFailsClosed(t *testing.T) {
	var down atomic.Bool
	srv := newServerWith(t, "memory", serverOptions{config: func(cfg *appConfig) {
		cfg.Store = flakyStore{cfg.Store.(*memstore.Store), &down}
	}})
	c := srv.client(t)
	c.login("alice@example.com", "wonderland", false)
	token := c.token("/")

	down.Store(true)
	for _, path := range []string{"/", "/cart", "/api/state", "/healthz"} {
		if r := c.get(path); r.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET %s with the store down: status %d, want 503", path, r.StatusCode)
		}
	}
	if r := c.post("/cart/add", url.Values{"_csrf": {token}, "sku": {"mug"}}); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST /cart/add with the store down: status %d, want 503", r.StatusCode)
	}

	down.Store(false)
	if st := c.state(); st.user() != "alice@example.com" || len(st.Cart) != 0 {
		t.Errorf("after the store came back: user %q, cart %v", st.user(), st.Cart)
	}
}
