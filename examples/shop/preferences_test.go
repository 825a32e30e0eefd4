package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPreferences(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServer(t, store).client(t)
		r := c.submit("/", "/preferences", url.Values{"theme": {"dark"}, "language": {"fr"}})
		if r.StatusCode != http.StatusSeeOther || r.location() != "/" {
			t.Fatalf("POST /preferences: %d to %q", r.StatusCode, r.location())
		}
		for name, want := range map[string]string{"theme": "dark", "language": "fr"} {
			ck := responseCookie(r, name)
			if ck == nil || ck.Value != want {
				t.Errorf("%s cookie = %v, want %s", name, ck, want)
				continue
			}
			if ck.HttpOnly || ck.MaxAge != 365*24*3600 || ck.SameSite != http.SameSiteLaxMode {
				t.Errorf("%s: HttpOnly %v, Max-Age %d, SameSite %v; want readable by scripts, one year, Lax", name, ck.HttpOnly, ck.MaxAge, ck.SameSite)
			}
		}
		home := c.page("/")
		for _, want := range []string{`<html lang="fr" data-theme="dark">`, "Preferences saved", "Bonjour", `<option value="dark" selected>`} {
			if !strings.Contains(home, want) {
				t.Errorf("home lacks %s", want)
			}
		}
		if st := c.state(); st.Theme != "dark" || st.Language != "fr" {
			t.Errorf("state theme %q language %q", st.Theme, st.Language)
		}
	})
}

func TestPreferencesRejectUnknownValues(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
	}{
		{"an unknown theme", url.Values{"theme": {"neon"}, "language": {"en"}}},
		{"an unknown language", url.Values{"theme": {"dark"}, "language": {"tlh"}}},
		{"nothing", url.Values{}},
		{"a cookie injection attempt", url.Values{"theme": {"dark; Domain=evil.example"}, "language": {"en"}}},
	}
	srv := newServer(t, "memory")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := srv.client(t)
			r := c.submit("/", "/preferences", tt.form)
			if responseCookie(r, "theme") != nil || responseCookie(r, "language") != nil {
				t.Error("a preference cookie was set")
			}
			if got := c.state().Flash["error"]; got != "Unknown theme or language" {
				t.Errorf("flash = %v", got)
			}
		})
	}
}

func TestForgedPreferenceCookiesAreIgnored(t *testing.T) {
	c := newServer(t, "memory").client(t)
	c.setCookie("theme", `dark><script>alert(1)</script>`)
	c.setCookie("language", "xx")
	if home := c.page("/"); !strings.Contains(home, `<html lang="en" data-theme="light">`) {
		t.Error("forged preference cookies were used")
	}
}

func TestAnalyticsCookies(t *testing.T) {
	srv := newServer(t, "memory")
	c := srv.client(t)
	start := srv.clock.now()

	r := c.get("/")
	first := responseCookie(r, "first_visit")
	if first == nil || first.Value != start.Format(time.RFC3339) || first.HttpOnly {
		t.Fatalf("first_visit = %v, want %s, readable by scripts", first, start.Format(time.RFC3339))
	}
	if v := responseCookie(r, "visits"); v == nil || !v.HttpOnly || v.Value == "1" {
		t.Errorf("visits = %v, want a signed HttpOnly cookie", v)
	}
	if got := c.state().Visits; got != 1 {
		t.Errorf("visits after the first page = %d, want 1", got)
	}

	steps := []struct {
		after      time.Duration
		wantVisits int
	}{
		{time.Minute, 1},
		{29 * time.Minute, 1},
		{31 * time.Minute, 2},
		{time.Second, 2},
		{24 * time.Hour, 3},
	}
	for _, s := range steps {
		srv.clock.advance(s.after)
		r := c.get("/")
		if got := c.state().Visits; got != s.wantVisits {
			t.Errorf("after %v: %d visits, want %d", s.after, got, s.wantVisits)
		}
		if responseCookie(r, "first_visit") != nil {
			t.Error("first_visit was set again")
		}
		if last := responseCookie(r, "last_visit"); last == nil || last.Value != srv.clock.now().Format(time.RFC3339) {
			t.Errorf("last_visit = %v, want now", last)
		}
	}
	if ck := c.cookie("first_visit"); ck == nil || ck.Value != start.Format(time.RFC3339) {
		t.Errorf("first_visit changed to %v", ck)
	}

	// The visits cookie is signed: a forged count is ignored and counting
	// starts again.
	c.setCookie("visits", "1000")
	if got := c.state().Visits; got != 0 {
		t.Errorf("a forged visits cookie reads as %d, want 0 (not present)", got)
	}
	c.get("/")
	if got := c.state().Visits; got != 1 {
		t.Errorf("visits after a forged cookie = %d, want 1", got)
	}
}

func TestPageViews(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServer(t, store).client(t)
		for i, path := range []string{"/", "/cart", "/login", "/"} {
			c.page(path)
			if got := c.state().PageViews; got != int64(i+1) {
				t.Fatalf("after %d pages: page_views = %d", i+1, got)
			}
		}
		c.get("/api/state")
		c.get("/static/style.css")
		if got := c.state().PageViews; got != 4 {
			t.Errorf("page_views = %d after the API and a static file, want still 4", got)
		}
	})
}

// TestConcurrentPageViews loads 50 pages at once in one session: the
// page_views increments are applied by the store, so none is lost.
func TestConcurrentPageViews(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServerWith(t, store, serverOptions{slowLoad: 20 * time.Millisecond}).client(t)
		c.page("/")
		before := c.state().PageViews
		const n = 50
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if r := c.get("/"); r.StatusCode != http.StatusOK {
					t.Errorf("GET /: status %d", r.StatusCode)
				}
			})
		}
		wg.Wait()
		if got := c.state().PageViews; got != before+n {
			t.Errorf("page_views = %d after %d concurrent pages, want %d", got, n, before+n)
		}
	})
}

// TestRecentPages: the session keeps the last five pages viewed, appended
// with Push, newest first, also when pages load at once in several tabs.
func TestRecentPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServer(t, store).client(t)
		for _, path := range []string{"/", "/cart", "/login", "/", "/cart", "/login", "/cart"} {
			c.page(path)
		}
		var got []string
		for _, p := range c.state().Recent {
			got = append(got, p.Path)
		}
		if want := []string{"/cart", "/login", "/cart", "/", "/login"}; !slices.Equal(got, want) {
			t.Errorf("recent pages = %v, want %v", got, want)
		}
		if body := c.get("/").body; !strings.Contains(body, `id="recent"`) || !strings.Contains(body, `href="/login"`) {
			t.Errorf("the page does not show the recently viewed pages")
		}
	})
}
