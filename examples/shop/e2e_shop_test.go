package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The browser tests of the shop's pages: browsing without a session, the
// 404 and session pages, the checkout to its confirmation and the order
// history, and a device logged out from another one.

// lightBackground is the light theme's body background (style.css --bg).
const lightBackground = "rgb(250, 247, 242)"

// text is the JavaScript for an element's text, "" when it is missing.
func text(id string) string {
	return `((document.getElementById("` + id + `") || {}).textContent || "")`
}

// TestBrowserGuestBrowsesWithoutASession: a guest opens pages, the 404 page
// and the session page (from the menu) and goes back from them: the
// browser gets no session cookie and the store no record, until the guest
// adds to the cart.
func TestBrowserGuestBrowsesWithoutASession(t *testing.T) {
	ctx := browser(t)
	srv := newServer(t, "file")
	base := srv.URL

	for _, path := range []string{"/", "/cart", "/login", "/checkout"} {
		do(t, ctx, "opening "+path, chromedp.Navigate(base+path))
	}
	// The 404 page is a page of the shop, styled, with a way back.
	do(t, ctx, "opening a missing page", chromedp.Navigate(base+"/no-such-page"))
	if got := eval[string](t, ctx, `document.querySelector("#not-found h1").textContent`); got != "Page not found" {
		t.Errorf("404 page heading = %q", got)
	}
	if got := eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`); got != lightBackground {
		t.Errorf("404 page background = %q, want the stylesheet's %s", got, lightBackground)
	}
	do(t, ctx, "marking the page", chromedp.Evaluate[chromedp.Void]("window.shopOldPage = true"))
	do(t, ctx, "going back to the shop", chromedp.Click(chromedp.ID("back-home")))
	waitUntil(t, ctx, `!window.shopOldPage && document.getElementById("add-bagel") !== null`)

	// The menu's "Your session" is a page, with a way back.
	do(t, ctx, "marking the page", chromedp.Evaluate[chromedp.Void]("window.shopOldPage = true"))
	do(t, ctx, "opening Your session", chromedp.Click(chromedp.ID("state-link")))
	waitUntil(t, ctx, `!window.shopOldPage && document.getElementById("state") !== null`)
	if got := eval[string](t, ctx, text("no-session")); got == "" {
		t.Error("the session page does not say the guest has no session")
	}
	if got := eval[string](t, ctx, text("state-json")); !strings.Contains(got, `"stored": false`) {
		t.Errorf("the session page's JSON = %q", got)
	}
	do(t, ctx, "marking the page", chromedp.Evaluate[chromedp.Void]("window.shopOldPage = true"))
	do(t, ctx, "going back", chromedp.Click(chromedp.ID("back-home")))
	waitUntil(t, ctx, `!window.shopOldPage && document.getElementById("add-bagel") !== null`)

	if c := browserCookies(t, ctx, base)["sid"]; c != nil {
		t.Errorf("browsing gave the browser a session cookie: %+v", c)
	}
	if n := srv.records(t); n != 0 {
		t.Fatalf("browsing left %d records in the store, want 0", n)
	}
	// The forms of a guest carry no token, and work.
	clickAndLoad(t, ctx, "add-bagel", flash+`.startsWith("Added 1 × Sesame bagel")`)
	if browserCookies(t, ctx, base)["sid"] == nil || srv.records(t) != 1 {
		t.Errorf("adding to the cart: sid cookie %v, %d records; want a session", browserCookies(t, ctx, base)["sid"] != nil, srv.records(t))
	}
}

// TestBrowserCheckout: a logged-in user fills the cart (unit prices and
// line totals), checks out with express delivery (the total includes its
// fee, and the delivery is named for people), sees the confirmation with
// its order number and total, finds it in the order history, and the empty
// cart says so once.
func TestBrowserCheckout(t *testing.T) {
	ctx := browser(t)
	srv := newServer(t, "file")
	base := srv.URL
	logIn(t, ctx, base, false)
	clickAndLoad(t, ctx, "add-bagel", flash+`.startsWith("Added 1")`)
	do(t, ctx, "choosing 2 mugs", chromedp.Evaluate[chromedp.Void](`document.getElementById("add-mug").form.qty.value = "2"`))
	clickAndLoad(t, ctx, "add-mug", flash+`.startsWith("Added 2")`)

	do(t, ctx, "opening the cart", chromedp.Navigate(base+"/cart"))
	for id, want := range map[string]string{"price-mug": "€12.00", "total-mug": "€24.00", "price-bagel": "€2.50", "total-bagel": "€2.50", "cart-total": "€26.50"} {
		if got := eval[string](t, ctx, text(id)); got != want {
			t.Errorf("cart #%s = %q, want %q", id, got, want)
		}
	}

	do(t, ctx, "opening the checkout", chromedp.Navigate(base+"/checkout"))
	waitUntil(t, ctx, `document.getElementById("name") !== null`)
	do(t, ctx, "filling the address",
		chromedp.SendKeys(chromedp.ID("name"), "Alice Liddell"),
		chromedp.SendKeys(chromedp.ID("address"), "1 Rabbit Hole"),
	)
	clickAndLoad(t, ctx, "next", `document.getElementById("delivery-express") !== null`)
	do(t, ctx, "choosing express delivery", chromedp.Click(chromedp.ID("delivery-express")))
	clickAndLoad(t, ctx, "next", `document.getElementById("payment-card") !== null`)
	for id, want := range map[string]string{"subtotal": "€26.50", "delivery-label": "Express delivery (next day)", "delivery-fee": "€4.90", "checkout-total": "€31.40"} {
		if got := eval[string](t, ctx, text(id)); got != want {
			t.Errorf("step 3 #%s = %q, want %q", id, got, want)
		}
	}
	do(t, ctx, "choosing card", chromedp.Click(chromedp.ID("payment-card")))
	clickAndLoad(t, ctx, "next", `document.getElementById("order-number") !== null`)
	number := eval[string](t, ctx, text("order-number"))
	if !strings.HasPrefix(number, "SO-") || eval[string](t, ctx, text("order-total")) != "€31.40" {
		t.Errorf("confirmation: order %q, total %q; want SO-… and €31.40", number, eval[string](t, ctx, text("order-total")))
	}
	if got := eval[string](t, ctx, `location.pathname`); got != "/orders/"+number {
		t.Errorf("the confirmation is at %s", got)
	}
	if got := eval[string](t, ctx, text("cart-badge")); got != "0" {
		t.Errorf("cart badge after the order = %q, want 0", got)
	}

	do(t, ctx, "marking the page", chromedp.Evaluate[chromedp.Void]("window.shopOldPage = true"))
	do(t, ctx, "opening the order history", chromedp.Click(chromedp.ID("orders-link")))
	waitUntil(t, ctx, `!window.shopOldPage && document.getElementById("orders") !== null`)
	rows := eval[string](t, ctx, `Array.from(document.querySelectorAll(".order-row")).map(r => r.innerText).join("\n")`)
	if !strings.Contains(rows, number) || !strings.Contains(rows, "€31.40") || !strings.Contains(rows, "Express delivery") {
		t.Errorf("order history = %q, want %s with its total and delivery", rows, number)
	}

	// An empty cart: checking out lands on the cart, which says it once.
	do(t, ctx, "checking out an empty cart", chromedp.Navigate(base+"/checkout"))
	waitUntil(t, ctx, `location.pathname === "/cart" && document.readyState === "complete"`)
	if n := eval[int](t, ctx, `(document.querySelector("main").innerText.toLowerCase().match(/your cart is empty/g) || []).length`); n != 1 {
		t.Errorf("the empty cart says so %d times, want once", n)
	}
}

// TestBrowserLoggedOutFromAnotherDevice: alice is logged in in Chromium;
// from another device (a Go client) she logs out the other devices. The
// browser's next page says why it is a guest now, once.
func TestBrowserLoggedOutFromAnotherDevice(t *testing.T) {
	ctx := browser(t)
	srv := newServer(t, "file")
	base := srv.URL
	logIn(t, ctx, base, true)

	phone := srv.client(t)
	phone.login("alice@example.com", "wonderland", false)
	phone.submitSeeOther("/devices", "/devices/logout-others", url.Values{}, "/devices")

	do(t, ctx, "opening the cart", chromedp.Navigate(base+"/cart"))
	got := eval[string](t, ctx, text("flash-warning"))
	if !strings.Contains(got, "Log out all other devices") {
		t.Errorf("the logged-out browser's next page says %q, want why it was logged out", got)
	}
	if !eval[bool](t, ctx, `document.getElementById("login-link") !== null`) {
		t.Error("the logged-out browser is still logged in (the remember-me token should be revoked too)")
	}
	do(t, ctx, "reloading", chromedp.Reload())
	if got := eval[string](t, ctx, text("flash-warning")); got != "" {
		t.Errorf("the warning is shown again: %q", got)
	}
}
