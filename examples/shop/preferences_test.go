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
		// The shop is in English only: a language field is ignored.
		r := c.submit("/", "/preferences", url.Values{"theme": {"dark"}, "language": {"fr"}})
		if r.StatusCode != http.StatusSeeOther || r.location() != "/" {
			t.Fatalf("POST /preferences: %d to %q", r.StatusCode, r.location())
		}
		ck := responseCookie(r, "theme")
		if ck == nil || ck.Value != "dark" {
			t.Fatalf("theme cookie = %v, want dark", ck)
		}
		if ck.HttpOnly || ck.MaxAge != 365*24*3600 || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("theme: HttpOnly %v, Max-Age %d, SameSite %v; want readable by scripts, one year, Lax", ck.HttpOnly, ck.MaxAge, ck.SameSite)
		}
		if ck := responseCookie(r, "language"); ck != nil {
			t.Errorf("a language cookie was set: %v", ck)
		}
		home := c.page("/")
		for _, want := range []string{`<html lang="en" data-theme="dark">`, "Preferences saved", "Hello, guest!", `<option value="dark" selected>`} {
			if !strings.Contains(home, want) {
				t.Errorf("home lacks %s", want)
			}
		}
		if strings.Contains(home, `name="language"`) {
			t.Error("home still offers a language")
		}
		if st := c.state(); st.Theme != "dark" {
			t.Errorf("state theme %q", st.Theme)
		}
	})
}

// TestTheInterfaceIsInEnglishWhateverTheCookie: the language option is gone
// (it translated the greeting only); an old language cookie changes nothing.
func TestTheInterfaceIsInEnglishWhateverTheCookie(t *testing.T) {
	srv := newServer(t, "memory")
	for _, lang := range []string{"fr", "de", "es"} {
		c := srv.client(t)
		c.setCookie("language", lang)
		for _, path := range []string{"/", "/cart", "/login", "/state"} {
			page := c.page(path)
			if !strings.Contains(page, `<html lang="en"`) {
				t.Errorf("language cookie %s: %s is not marked English", lang, path)
			}
			for _, foreign := range []string{"Bonjour", "visiteur", "Hallo", "Hola"} {
				if strings.Contains(page, foreign) {
					t.Errorf("language cookie %s: %s says %q", lang, path, foreign)
				}
			}
		}
		if home := c.page("/"); !strings.Contains(home, "Hello, guest!") {
			t.Errorf("language cookie %s: the home page does not say Hello", lang)
		}
	}
}

func TestPreferencesRejectUnknownValues(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
	}{
		{"an unknown theme", url.Values{"theme": {"neon"}}},
		{"nothing", url.Values{}},
		{"a cookie injection attempt", url.Values{"theme": {"dark; Domain=evil.example"}}},
	}
	srv := newServer(t, "memory")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := srv.client(t)
			r := c.submit("/", "/preferences", tt.form)
			if responseCookie(r, "theme") != nil {
				t.Error("a preference cookie was set")
			}
			if got := c.state().Flash["error"]; got != "Unknown theme" {
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

// startSession makes c's first change (adding a bagel to the cart), which
// starts its session.
func (c *client) startSession() {
	c.t.Helper()
	c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"bagel"}, "back": {"/"}}, "/")
	if c.cookie("sid") == nil {
		c.t.Fatal("adding to the cart started no session")
	}
}

func TestPageViews(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServer(t, store).client(t)
		// A guest who only browses has no session, so nothing counts.
		for _, path := range []string{"/", "/cart", "/login"} {
			c.page(path)
		}
		if st := c.state(); st.PageViews != 0 || st.Stored {
			t.Fatalf("after browsing: page_views = %d, stored %v; want 0 and no session", st.PageViews, st.Stored)
		}
		c.startSession()
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
		c.startSession()
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
		c.page("/")
		if st := c.state(); len(st.Recent) != 0 {
			t.Errorf("a guest without a session has recent pages: %v", st.Recent)
		}
		c.startSession()
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
