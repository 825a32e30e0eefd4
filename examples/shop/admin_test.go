package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The admin dashboard at /admin/: alice is an administrator, bob is not.

func TestAdminIsForAdministratorsOnly(t *testing.T) {
	srv := newServer(t, "memory")
	guest, bob, alice := srv.client(t), srv.client(t), srv.client(t)
	bob.login("bob@example.com", "builder", false)
	alice.login("alice@example.com", "wonderland", false)
	for _, path := range []string{"/admin/", "/admin/sessions", "/admin/users?q=2", "/admin/admin.css"} {
		for name, c := range map[string]*client{"a guest": guest, "bob": bob} {
			if r := c.get(path); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s: GET %s = %d, want 403", name, path, r.StatusCode)
			}
		}
		if r := alice.get(path); r.StatusCode != http.StatusOK {
			t.Errorf("alice: GET %s = %d, want 200", path, r.StatusCode)
		}
	}
	if !strings.Contains(alice.page("/"), `id="admin-link"`) {
		t.Error("alice's pages do not link to the dashboard")
	}
	if strings.Contains(bob.page("/"), `id="admin-link"`) {
		t.Error("bob's pages link to the dashboard")
	}
	if !strings.Contains(alice.page("/admin/"), `id="who">alice@example.com<`) {
		t.Error("the dashboard does not name its operator")
	}
}

var revokeForm = regexp.MustCompile(`action="(/admin/sessions/[0-9a-f]{64}/revoke)"`)

// TestAdminRevokeTellsTheUserWhy: alice revokes bob's session; bob's next
// page is a guest's and says an administrator signed him out, once, and his
// remember-me cookie does not log him back in.
func TestAdminRevokeTellsTheUserWhy(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		srv := newServer(t, store)
		bob, alice := srv.client(t), srv.client(t)
		bob.login("bob@example.com", "builder", true)
		alice.login("alice@example.com", "wonderland", false)

		page := alice.page("/admin/users?q=2")
		m := revokeForm.FindStringSubmatch(page)
		if m == nil || !strings.Contains(page, "remembered") {
			t.Fatalf("the users page lists no remembered session of bob:\n%.3000s", page)
		}
		alice.submitSeeOther("/admin/users?q=2", m[1], url.Values{"return": {"/admin/users?q=2"}},
			"/admin/users?q=2&done=revoked&s="+m[1][len("/admin/sessions/"):][:12]+"&t=1")

		home := bob.page("/")
		if !strings.Contains(home, signedOutAdminMessage) || !strings.Contains(home, `id="login-link"`) {
			t.Errorf("bob's next page does not say an administrator signed him out, as a guest:\n%.2000s", home)
		}
		if strings.Contains(bob.page("/"), signedOutAdminMessage) {
			t.Error("the message is shown twice")
		}
		if got := bob.state().user(); got != "" {
			t.Errorf("bob is %q after the revoke, want a guest (his remember-me token must be revoked too)", got)
		}
	})
}

// TestAdminShowsOnlyOptedInValues: the session page shows the cart, not the
// checkout's name and address.
func TestAdminShowsOnlyOptedInValues(t *testing.T) {
	srv := newServer(t, "memory")
	bob, alice := srv.client(t), srv.client(t)
	bob.login("bob@example.com", "builder", false)
	bob.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}, "qty": {"3"}}, "/")
	bob.submit("/checkout/1", "/checkout/1", url.Values{"name": {"Robert Builder"}, "address": {"7 Secret Lane"}})
	alice.login("alice@example.com", "wonderland", false)

	m := revokeForm.FindStringSubmatch(alice.page("/admin/users?q=2"))
	if m == nil {
		t.Fatal("no session of bob listed")
	}
	page := alice.page(strings.TrimSuffix(m[1], "/revoke"))
	for _, hidden := range []string{"Robert Builder", "7 Secret Lane"} {
		if strings.Contains(page, hidden) {
			t.Errorf("the session page shows %q, which the shop did not opt in", hidden)
		}
	}
	for _, shown := range []string{"<code>cart.mug</code>", `<pre class="value">3</pre>`, "<code>checkout.name</code>"} {
		if !strings.Contains(page, shown) {
			t.Errorf("the session page lacks %s", shown)
		}
	}
}
