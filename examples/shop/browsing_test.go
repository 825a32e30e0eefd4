package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/sesamego/sesame/store"
)

// records counts the records in the app's store.
func (s *server) records(t *testing.T) int {
	t.Helper()
	l, ok := s.app.cfg.Store.(store.Lister)
	if !ok {
		t.Fatalf("the %T store cannot list its records", s.app.cfg.Store)
	}
	n := 0
	if err := l.List(context.Background(), func(store.Entry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBrowsingCreatesNoSession: 100 anonymous page views, from several
// browsers and on every page a guest can open, leave no record in the
// store; the first change (adding to the cart) makes one.
func TestBrowsingCreatesNoSession(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		srv := newServer(t, store)
		paths := []string{"/", "/cart", "/login", "/state", "/api/state", "/checkout", "/checkout/1",
			"/devices", "/orders", "/login?for=devices", "/no-such-page", "/orders/SO-1001"}
		views := 0
		for views < 100 {
			c := srv.client(t) // a crawler with cookies, then without
			for _, p := range paths {
				if views == 100 {
					break
				}
				r := c.get(p)
				if r.StatusCode >= 500 {
					t.Fatalf("GET %s: %d", p, r.StatusCode)
				}
				views++
			}
			if ck := c.cookie("sid"); ck != nil {
				t.Fatalf("browsing set a session cookie: %v", ck)
			}
		}
		if n := srv.records(t); n != 0 {
			t.Fatalf("%d anonymous page views left %d records in the store, want 0", views, n)
		}

		c := srv.client(t)
		c.page("/")
		r := c.post("/cart/add", url.Values{"sku": {"mug"}, "back": {"/"}}, "Sec-Fetch-Site", "same-origin")
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("a guest's add to the cart, without a token: %d, want 303", r.StatusCode)
		}
		if !c.state().Stored || srv.records(t) != 1 {
			t.Errorf("after adding to the cart: stored %v, %d records; want a session", c.state().Stored, srv.records(t))
		}
	})
}

// TestGuestFormsAreProtectedByTheirOrigin: a guest's forms carry no token
// (there is no session to keep it in), so the origin check is what refuses
// a forged request; with a session and a user, the token is required too
// (TestEveryPostNeedsTheToken).
func TestGuestFormsAreProtectedByTheirOrigin(t *testing.T) {
	srv := newServer(t, "memory")
	tests := []struct {
		name   string
		header []string
		want   int
	}{
		{"from this origin", []string{"Sec-Fetch-Site", "same-origin"}, http.StatusSeeOther},
		{"a cross-site form", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"a sibling site", []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{"another origin", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		for _, route := range []struct {
			path string
			form url.Values
		}{
			{"/cart/add", url.Values{"sku": {"mug"}}},
			{"/preferences", url.Values{"theme": {"dark"}}},
			{"/login", url.Values{"email": {"alice@example.com"}, "password": {"wonderland"}}},
		} {
			t.Run(tt.name+route.path, func(t *testing.T) {
				c := srv.client(t)
				if page := c.page("/"); csrfField.MatchString(page) {
					t.Error("a guest's page carries a CSRF token: it would need a session")
				}
				r := c.post(route.path, route.form, tt.header...)
				if r.StatusCode != tt.want {
					t.Errorf("status %d, want %d", r.StatusCode, tt.want)
				}
				if tt.want == http.StatusForbidden {
					if st := c.state(); st.user() != "" || len(st.Cart) != 0 || st.Theme != "light" {
						t.Errorf("a refused request changed something: %+v", st)
					}
				}
			})
		}
	}
}
