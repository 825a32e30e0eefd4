package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests of the admin dashboard (package admin, at /admin/).

// secondBrowser returns a tab in a browser context of its own (its own
// cookies), as a second browser on another computer.
func secondBrowser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	other, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	do(t, other, "opening a second browser context")
	return other
}

// TestBrowserAdminRevokesASession: bob is logged in, with remember me, in a
// browser of his own. alice, an administrator, opens the dashboard from the
// shop's menu, finds bob's session on the users page and revokes it. bob's
// next page is a guest's, and tells him an administrator signed him out.
func TestBrowserAdminRevokesASession(t *testing.T) {
	ctx := browser(t)
	srv := newServer(t, "file")
	base := srv.URL
	bob := secondBrowser(t, ctx)
	logInAs(t, bob, base, "bob@example.com", "builder", true)
	logInAs(t, ctx, base, "alice@example.com", "wonderland", false)

	do(t, ctx, "marking the page", chromedp.Evaluate[chromedp.Void]("window.shopOldPage = true"))
	do(t, ctx, "opening the dashboard", chromedp.Click(chromedp.ID("admin-link")))
	waitUntil(t, ctx, `!window.shopOldPage && document.getElementById("live-total") !== null`)
	if got := eval[string](t, ctx, text("live-total")); got != "2" {
		t.Errorf("live sessions = %q, want 2 (alice's and bob's)", got)
	}
	// The dashboard's stylesheet and charts work under the shop's CSP (and
	// the dashboard's own, stricter one): styled header, coloured bars.
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector("header.top")).backgroundColor`); got != "rgb(29, 35, 48)" {
		t.Errorf("the dashboard's header background = %q, want its stylesheet's rgb(29, 35, 48)", got)
	}
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector("rect.bar.created")).fill`); got != "rgb(47, 111, 221)" {
		t.Errorf("the created-sessions chart's bar fill = %q, want rgb(47, 111, 221)", got)
	}

	do(t, ctx, "marking the page", chromedp.Evaluate[chromedp.Void]("window.shopOldPage = true"))
	do(t, ctx, "opening the users page", chromedp.Click(chromedp.ID("nav-users")))
	waitUntil(t, ctx, `!window.shopOldPage && document.getElementById("q") !== null`)
	do(t, ctx, "searching for bob", chromedp.SendKeys(chromedp.ID("q"), "2"))
	clickAndLoad(t, ctx, "search", `document.getElementById("user-sessions") !== null`)
	rows := eval[int](t, ctx, `document.querySelectorAll("tr.user-session").length`)
	device := eval[string](t, ctx, `document.querySelector("tr.user-session .device").textContent`)
	if rows != 1 || !strings.HasPrefix(device, "Headless Chrome") || !strings.HasSuffix(device, "on Linux") {
		t.Errorf("bob's sessions: %d rows, device %q; want 1, Headless Chrome on Linux", rows, device)
	}
	if !eval[bool](t, ctx, `document.querySelector("tr.user-session").textContent.includes("remembered")`) {
		t.Error("bob's session is not flagged as remembered")
	}

	do(t, ctx, "marking the page", chromedp.Evaluate[chromedp.Void]("window.shopOldPage = true"))
	do(t, ctx, "revoking bob's session", chromedp.Click(chromedp.CSS("tr.user-session button.revoke")))
	waitUntil(t, ctx, `!window.shopOldPage && document.getElementById("notice") !== null`)
	if got := eval[string](t, ctx, text("notice")); !strings.Contains(got, "revoked, with its remember-me token") {
		t.Errorf("notice after the revoke = %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("tr.user-session").length`); n != 0 {
		t.Errorf("bob still has %d sessions listed after the revoke", n)
	}

	do(t, bob, "bob opens the cart", chromedp.Navigate(base+"/cart"))
	if got := eval[string](t, bob, text("flash-warning")); got != signedOutAdminMessage {
		t.Errorf("bob's next page warns %q, want %q", got, signedOutAdminMessage)
	}
	if !eval[bool](t, bob, `document.getElementById("login-link") !== null`) {
		t.Error("bob is still logged in after the revoke (his remember-me token must be revoked too)")
	}
	do(t, bob, "bob reloads", chromedp.Reload())
	if got := eval[string](t, bob, text("flash-warning")); got != "" {
		t.Errorf("the warning is shown again: %q", got)
	}
}

// uaTransport sets a User-Agent on every request.
type uaTransport struct {
	next http.RoundTripper
	ua   string
}

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(r)
}

// TestScreenshotAdmin saves docs/admin.png: the dashboard's overview after
// a few users logged in from several devices, one session was used from
// another browser (an anomaly), and one request carried a large cookie. It
// runs only with SESAME_SCREENSHOT=1 or -screenshot (make screenshot).
func TestScreenshotAdmin(t *testing.T) {
	if !*screenshot && os.Getenv("SESAME_SCREENSHOT") != "1" {
		t.Skip("set SESAME_SCREENSHOT=1 (or run make screenshot) to regenerate docs/admin.png")
	}
	ctx := browser(t)
	srv := newServerWith(t, "file", serverOptions{config: func(cfg *appConfig) {
		cfg.Now = time.Now
		cfg.StoreName = "files in data/sessions"
	}})
	devices := []struct{ email, password, ua string }{
		{"bob@example.com", "builder", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"},
		{"bob@example.com", "builder", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"},
		{"alice@example.com", "wonderland", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.56"},
		{"bob@example.com", "builder", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36"},
	}
	var clients []*client
	for _, d := range devices {
		c := srv.client(t)
		c.hc.Transport = uaTransport{c.hc.Transport, d.ua}
		c.login(d.email, d.password, true)
		c.page("/")
		clients = append(clients, c)
	}
	// Guests who added to their cart: anonymous sessions.
	for range 3 {
		g := srv.client(t)
		g.submit("/", "/cart/add", map[string][]string{"sku": {"bagel"}, "qty": {"1"}})
	}
	// bob's iPhone session used from another browser: an anomaly.
	thief := srv.client(t)
	thief.setCookie("sid", clients[1].cookie("sid").Value)
	thief.page("/cart")
	// A request with a cookie near the 4 KB limit.
	big := srv.client(t)
	big.setCookie("tracking", strings.Repeat("x", 3700))
	big.page("/")

	do(t, ctx, "sizing the window", chromedp.EmulateViewport(1280, 900))
	logInAs(t, ctx, srv.URL, "alice@example.com", "wonderland", false)
	do(t, ctx, "opening the dashboard", chromedp.Navigate(srv.URL+"/admin/"))
	waitUntil(t, ctx, `document.getElementById("live-total") !== null`)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join("..", "..", "docs", "admin.png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
}
