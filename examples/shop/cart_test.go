package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestGuestCart(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServer(t, store).client(t)
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"bagel"}, "qty": {"2"}, "back": {"/"}}, "/")
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}, "back": {"/cart"}}, "/cart")
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"bagel"}, "qty": {"3"}}, "/")

		ck := c.cookie("cart")
		if ck == nil || ck.Value != "bagel:5|mug:1" {
			t.Fatalf("cart cookie = %v, want bagel:5|mug:1", ck)
		}
		if st := c.state(); fmt.Sprint(st.Cart) != "map[bagel:5 mug:1]" {
			t.Errorf("state cart = %v", st.Cart)
		}
		page := c.page("/cart")
		for _, want := range []string{`id="qty-bagel">5<`, `id="qty-mug">1<`, `id="cart-total">€24.50<`, `data-guest="true">6<`, "can lose one",
			// Unit prices in the price column, line totals in their own.
			`id="price-bagel">€2.50<`, `id="total-bagel">€12.50<`, `id="price-mug">€12.00<`, `id="total-mug">€12.00<`, ">Unit price<", ">Line total<"} {
			if !strings.Contains(page, want) {
				t.Errorf("cart page lacks %s", want)
			}
		}

		c.submitSeeOther("/cart", "/cart/remove", url.Values{"sku": {"bagel"}}, "/cart")
		if ck := c.cookie("cart"); ck == nil || ck.Value != "mug:1" {
			t.Errorf("cart cookie after removing bagel = %v, want mug:1", ck)
		}
		c.submitSeeOther("/cart", "/cart/remove", url.Values{"sku": {"mug"}}, "/cart")
		if ck := c.cookie("cart"); ck != nil {
			t.Errorf("cart cookie after emptying the cart = %v, want deleted", ck)
		}
		if page := c.page("/cart"); !strings.Contains(page, `id="cart-empty"`) {
			t.Error("the empty cart page does not say so")
		}
	})
}

// TestEmptyCartSaysSoOnce: checking out an empty cart goes to the cart page,
// which says it is empty once (not also in a flash).
func TestEmptyCartSaysSoOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		for _, loggedIn := range []bool{false, true} {
			c := newServer(t, store).client(t)
			if loggedIn {
				c.login("alice@example.com", "wonderland", false)
				c.page("/")
			}
			for _, path := range []string{"/checkout", "/checkout/1", "/checkout/3"} {
				r := c.get(path)
				if r.StatusCode == http.StatusSeeOther && r.location() != "/cart" {
					r = c.get(r.location())
				}
				if r.StatusCode != http.StatusSeeOther || r.location() != "/cart" {
					t.Fatalf("logged in %v: GET %s with an empty cart: %d to %q, want 303 to /cart", loggedIn, path, r.StatusCode, r.location())
				}
				page := c.page("/cart")
				if n := strings.Count(strings.ToLower(page), "your cart is empty"); n != 1 {
					t.Errorf("logged in %v: after %s the cart page says the cart is empty %d times, want once", loggedIn, path, n)
				}
			}
		}
	})
}

func TestNotFoundPage(t *testing.T) {
	c := newServer(t, "memory").client(t)
	for _, path := range []string{"/nope", "/checkout/9", "/orders/SO-1", "/static-not"} {
		r := c.get(path)
		if r.StatusCode != http.StatusNotFound || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s, want a 404 page", path, r.StatusCode, r.Header.Get("Content-Type"))
			continue
		}
		for _, want := range []string{`<link rel="stylesheet" href="/static/style.css">`, "Page not found", `id="back-home" href="/"`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("GET %s: the 404 page lacks %s", path, want)
			}
		}
	}
}

func TestStatePageHasAWayBack(t *testing.T) {
	c := newServer(t, "memory").client(t)
	c.login("alice@example.com", "wonderland", false)
	c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}, "qty": {"2"}}, "/")
	home := c.page("/")
	if !strings.Contains(home, `<a href="/state" id="state-link">Your session</a>`) || strings.Contains(home, `href="/api/state">`) {
		t.Error("the menu does not link the session page, or links the raw JSON")
	}
	page := c.page("/state")
	for _, want := range []string{`id="state-user">alice@example.com<`, "2 × Open Sesame mug", `id="back-home" href="/"`, `href="/api/state"`, `&#34;user&#34;: &#34;alice@example.com&#34;`} {
		if !strings.Contains(page, want) {
			t.Errorf("the session page lacks %s", want)
		}
	}
}

func TestGuestCartCookieIsScriptReadable(t *testing.T) {
	c := newServer(t, "memory").client(t)
	r := c.submit("/", "/cart/add", url.Values{"sku": {"tahini"}})
	ck := responseCookie(r, "cart")
	if ck == nil || ck.HttpOnly || ck.MaxAge != 30*24*3600 {
		t.Errorf("cart cookie = %v, want readable by scripts, 30 days", ck)
	}
}

func TestCartRejectsBadInput(t *testing.T) {
	tests := []struct {
		name      string
		form      url.Values
		wantFlash string
	}{
		{"an unknown SKU", url.Values{"sku": {"caviar"}}, "Unknown product"},
		{"a missing SKU", url.Values{"qty": {"1"}}, "Unknown product"},
		{"zero items", url.Values{"sku": {"mug"}, "qty": {"0"}}, "Invalid quantity"},
		{"a negative quantity", url.Values{"sku": {"mug"}, "qty": {"-3"}}, "Invalid quantity"},
		{"a hundred items", url.Values{"sku": {"mug"}, "qty": {"100"}}, "Invalid quantity"},
		{"a fraction", url.Values{"sku": {"mug"}, "qty": {"1.5"}}, "Invalid quantity"},
		{"a word", url.Values{"sku": {"mug"}, "qty": {"lots"}}, "Invalid quantity"},
	}
	forEachStore(t, func(t *testing.T, store string) {
		srv := newServer(t, store)
		for _, user := range []bool{false, true} {
			t.Run(fmt.Sprintf("logged in %v", user), func(t *testing.T) {
				c := srv.client(t)
				if user {
					c.login("alice@example.com", "wonderland", false)
				}
				for _, tt := range tests {
					c.submitSeeOther("/", "/cart/add", tt.form, "/")
					st := c.state()
					if got := fmt.Sprint(st.Flash["error"]); !strings.HasPrefix(got, tt.wantFlash) {
						t.Errorf("%s: error flash %q, want %q…", tt.name, got, tt.wantFlash)
					}
					if len(st.Cart) != 0 {
						t.Errorf("%s: cart = %v, want empty", tt.name, st.Cart)
					}
				}
				c.submitSeeOther("/", "/cart/remove", url.Values{"sku": {"nope"}}, "/cart")
				if got := c.state().Flash["error"]; got != "Unknown product" {
					t.Errorf("removing an unknown SKU: flash %v", got)
				}
			})
		}
	})
}

func TestCartBackIsNeverElsewhere(t *testing.T) {
	c := newServer(t, "memory").client(t)
	for _, back := range []string{"https://evil.example/", "//evil.example", "/devices", ""} {
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}, "back": {back}}, "/")
	}
}

func TestUserCartInSession(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServer(t, store).client(t)
		c.login("bob@example.com", "builder", false)
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"cookies"}, "qty": {"4"}}, "/")
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"cookies"}, "qty": {"1"}}, "/")
		if c.cookie("cart") != nil {
			t.Error("a logged-in user's add wrote the cart cookie")
		}
		if st := c.state(); fmt.Sprint(st.Cart) != "map[cookies:5]" {
			t.Errorf("cart = %v, want cookies:5", st.Cart)
		}
		page := c.page("/cart")
		if !strings.Contains(page, `id="qty-cookies">5<`) || !strings.Contains(page, "none is lost") {
			t.Error("cart page does not show the session cart")
		}
		c.submitSeeOther("/cart", "/cart/remove", url.Values{"sku": {"cookies"}}, "/cart")
		if st := c.state(); len(st.Cart) != 0 {
			t.Errorf("cart after remove = %v", st.Cart)
		}
	})
}

func TestGuestCartMergesAtLogin(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServer(t, store).client(t)
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"bagel"}, "qty": {"2"}}, "/")
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}}, "/")
		c.login("alice@example.com", "wonderland", false)
		if ck := c.cookie("cart"); ck != nil {
			t.Errorf("cart cookie after login = %v, want cleared", ck)
		}
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"bagel"}, "qty": {"1"}}, "/")
		if st := c.state(); fmt.Sprint(st.Cart) != "map[bagel:3 mug:1]" {
			t.Errorf("cart after login = %v, want bagel:3 mug:1", st.Cart)
		}
	})
}

func TestForgedGuestCartCookieIsCleaned(t *testing.T) {
	c := newServer(t, "memory").client(t)
	c.setCookie("cart", "mug:2|caviar:1|bagel:-1|tahini:1e3|bagel:7|mug:9")
	if st := c.state(); fmt.Sprint(st.Cart) != "map[bagel:7 mug:2]" {
		t.Errorf("cart from a forged cookie = %v, want bagel:7 mug:2", st.Cart)
	}
}

// TestConcurrentAddsFromOneSession is the reason the user cart is one
// session key per SKU incremented with Session.Increment: 50 adds at once
// from one logged-in session (many tabs) all count.
func TestConcurrentAddsFromOneSession(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServerWith(t, store, serverOptions{slowLoad: 20 * time.Millisecond}).client(t)
		c.login("alice@example.com", "wonderland", false)
		token := c.token("/")
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan string, n)
		for range n {
			wg.Go(func() {
				r := c.post("/cart/add", url.Values{"_csrf": {token}, "sku": {"bagel"}, "qty": {"1"}})
				if r.StatusCode != http.StatusSeeOther {
					errs <- fmt.Sprintf("status %d: %.200s", r.StatusCode, r.body)
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		if got := c.state().Cart["bagel"]; got != n {
			t.Errorf("after %d concurrent adds of 1: %d bagels", n, got)
		}
	})
}
