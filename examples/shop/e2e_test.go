package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium, headless. Without it they skip,
// or fail under SESAME_REQUIRE_SERVICES=1 (as in CI).

var screenshot = flag.Bool("screenshot", false, "save docs/screenshot.png (also SESAME_SCREENSHOT=1)")

// browser starts a headless chromium for the test and returns a tab's
// context, which ends with the test or after two minutes.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("SESAME_REQUIRE_SERVICES") == "1" {
			t.Fatalf("chromium not found and SESAME_REQUIRE_SERVICES=1: %v", err)
		}
		t.Skip("chromium not found: install it (apt-get install -y chromium) to run the browser tests, and set SESAME_REQUIRE_SERVICES=1 to require them")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// do runs actions and fails the test on error.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitUntil polls a JavaScript condition until it holds. Unlike
// chromedp.Poll it survives navigations, which is what it waits for.
func waitUntil(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	html, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	t.Fatalf("timed out waiting for %s (last error: %v); the page says:\n%.1500s", cond, last, html)
}

// clickAndLoad clicks a button that submits a form and waits for the next
// page, on which cond holds. The old page is marked so that cond is never
// checked against it.
func clickAndLoad(t *testing.T, ctx context.Context, id, cond string) {
	t.Helper()
	do(t, ctx, "marking the page", chromedp.Evaluate[chromedp.Void]("window.shopOldPage = true"))
	do(t, ctx, "clicking #"+id, chromedp.Click(chromedp.ID(id)))
	waitUntil(t, ctx, "!window.shopOldPage && document.readyState === 'complete' && ("+cond+")")
}

// flash is the JavaScript for the success flash's text.
const flash = `(document.getElementById("flash-success") || {}).textContent`

// browserCookies returns the browser's cookies for the server, by name.
func browserCookies(t *testing.T, ctx context.Context, url string) map[string]*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		t.Fatalf("reading the browser's cookies: %v", err)
	}
	m := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		m[c.Name] = c
	}
	return m
}

// logIn logs alice in through the login form.
func logIn(t *testing.T, ctx context.Context, base string, remember bool) {
	t.Helper()
	logInAs(t, ctx, base, "alice@example.com", "wonderland", remember)
}

// logInAs fills and sends the login form as the given user.
func logInAs(t *testing.T, ctx context.Context, base, email, password string, remember bool) {
	t.Helper()
	do(t, ctx, "opening the login page",
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	if remember {
		do(t, ctx, "ticking remember me", chromedp.Click(chromedp.ID("remember")))
	}
	clickAndLoad(t, ctx, "login-submit", flash+` === "Welcome back!"`)
}

// TestBrowser walks the demo in headless Chromium: login with remember me,
// the flash shown once, the cart, the theme, which cookies scripts can see,
// remember me after the session cookie is gone, and logout.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	srv := newServer(t, "file")
	base := srv.URL

	logIn(t, ctx, base, true)
	if got := eval[string](t, ctx, `document.getElementById("user").textContent`); got != "alice@example.com" {
		t.Errorf("logged in as %q", got)
	}
	views := eval[int](t, ctx, `+document.getElementById("page-views").textContent`)
	do(t, ctx, "reloading", chromedp.Reload())
	if eval[bool](t, ctx, `document.getElementById("flash-success") !== null`) {
		t.Error("the welcome flash is shown again after a reload")
	}
	if got := eval[int](t, ctx, `+document.getElementById("page-views").textContent`); got != views+1 {
		t.Errorf("page views after a reload = %d, want %d", got, views+1)
	}

	clickAndLoad(t, ctx, "add-bagel", flash+`.startsWith("Added 1 × Sesame bagel")`)
	if got := eval[string](t, ctx, `document.getElementById("cart-badge").textContent`); got != "1" {
		t.Errorf("cart badge = %q, want 1", got)
	}

	// The theme: saved in a cookie and applied by the page (the stylesheet
	// loaded under the CSP gives the dark background).
	do(t, ctx, "choosing the dark theme", chromedp.SetValue(chromedp.ID("theme"), "dark"))
	clickAndLoad(t, ctx, "save-preferences", flash+` === "Preferences saved"`)
	if got := eval[string](t, ctx, `document.documentElement.dataset.theme`); got != "dark" {
		t.Errorf("data-theme = %q, want dark", got)
	}
	if got := eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`); got != "rgb(27, 25, 23)" {
		t.Errorf("body background = %q, want the dark theme's rgb(27, 25, 23)", got)
	}

	// HttpOnly cookies are in the browser but invisible to scripts.
	jar := browserCookies(t, ctx, base)
	for _, name := range []string{"sid", "remember", "visits"} {
		if c := jar[name]; c == nil || !c.HTTPOnly {
			t.Errorf("browser cookie %s = %+v, want present and HttpOnly", name, c)
		}
	}
	if c := jar["theme"]; c == nil || c.HTTPOnly {
		t.Errorf("browser cookie theme = %+v, want present and readable", c)
	}
	docCookie := eval[string](t, ctx, `document.cookie`)
	for _, hidden := range []string{"sid=", "remember=", "visits="} {
		if strings.Contains(docCookie, hidden) {
			t.Errorf("document.cookie shows the HttpOnly cookie %s: %q", hidden, docCookie)
		}
	}
	if !strings.Contains(docCookie, "theme=dark") {
		t.Errorf("document.cookie = %q, want theme=dark in it", docCookie)
	}
	// The page's own (nonce'd) script ran and shows the same.
	if got := eval[string](t, ctx, `document.getElementById("js-cookies").textContent`); got != docCookie {
		t.Errorf("the page's script shows %q, want document.cookie %q", got, docCookie)
	}

	// The browser is closed: the session cookie is gone, remember me logs
	// back in.
	if _, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: "sid", URL: base}); err != nil {
		t.Fatal(err)
	}
	if browserCookies(t, ctx, base)["sid"] != nil {
		t.Fatal("sid survived its deletion")
	}
	do(t, ctx, "opening the home page", chromedp.Navigate(base+"/"))
	if got := eval[string](t, ctx, `(document.getElementById("user") || {}).textContent`); got != "alice@example.com" {
		t.Errorf("after the session cookie was deleted: user %q, want alice@example.com (remember me)", got)
	}

	clickAndLoad(t, ctx, "logout", flash+` === "Successfully logged out"`)
	if !eval[bool](t, ctx, `document.getElementById("login-link") !== null`) {
		t.Error("no login link after logout")
	}
	jar = browserCookies(t, ctx, base)
	if jar["remember"] != nil {
		t.Error("the remember cookie survived logout")
	}
	if c := jar["theme"]; c == nil || c.Value != "dark" {
		t.Errorf("theme cookie after logout = %+v, want dark", c)
	}
	if got := eval[string](t, ctx, `document.documentElement.dataset.theme`); got != "dark" {
		t.Errorf("data-theme after logout = %q, want dark", got)
	}
}

// TestScreenshot saves docs/screenshot.png: the home page, logged in, just
// after adding to the cart (with its flash message). It runs only with SESAME_SCREENSHOT=1 or
// -screenshot (make screenshot).
func TestScreenshot(t *testing.T) {
	if !*screenshot && os.Getenv("SESAME_SCREENSHOT") != "1" {
		t.Skip("set SESAME_SCREENSHOT=1 (or run make screenshot) to regenerate docs/screenshot.png")
	}
	ctx := browser(t)
	srv := newServerWith(t, "file", serverOptions{config: func(cfg *appConfig) { cfg.Now = time.Now }})
	do(t, ctx, "sizing the window", chromedp.EmulateViewport(1280, 900))
	logIn(t, ctx, srv.URL, true)
	clickAndLoad(t, ctx, "add-bagel", flash+`.startsWith("Added")`)
	do(t, ctx, "choosing 2 mugs", chromedp.Evaluate[chromedp.Void](`document.getElementById("add-mug").form.qty.value = "2"`))
	clickAndLoad(t, ctx, "add-mug", flash+`.startsWith("Added 2")`)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join("..", "..", "docs", "screenshot.png")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
}

// TestBrowserLoginWhilePolling logs in while the page polls /api/state every
// 50 ms, as a dashboard does: polls sent with the pre-login cookie are
// answered after the login set the new one, and must not undo it. The user
// stays logged in 20 times out of 20.
func TestBrowserLoginWhilePolling(t *testing.T) {
	ctx := browser(t)
	// Every store load waits 20 ms before it reads, as on a busy database:
	// a poll sent while the login is in flight is read after the login has
	// committed.
	srv := newServerWith(t, "file", serverOptions{queueLoad: 20 * time.Millisecond})
	base := srv.URL
	const script = `(async () => {
  const form = document.getElementById("login-form");
  form.email.value = "alice@example.com";
  form.password.value = "wonderland";
  let polls = 0, pending = [];
  const poll = setInterval(() => {
    polls++;
    pending.push(fetch("/api/state", {cache: "no-store"}).then(r => r.text()).catch(() => ""));
  }, 50);
  await new Promise(r => setTimeout(r, 120));
  const res = await fetch("/login", {method: "POST", body: new FormData(form)});
  await new Promise(r => setTimeout(r, 300));
  clearInterval(poll);
  await Promise.all(pending);
  const st = await (await fetch("/api/state", {cache: "no-store"})).json();
  return JSON.stringify({status: res.status, user: st.user, polls: polls});
})()`
	type result struct {
		Status int     `json:"status"`
		User   *string `json:"user"`
		Polls  int     `json:"polls"`
	}
	ok := 0
	for trial := range 20 {
		if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "opening the login page", chromedp.Navigate(base+"/login"))
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		var r result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("trial %d: %v: %s", trial, err, out)
		}
		if r.Status != 200 || r.Polls < 5 {
			t.Fatalf("trial %d: login answered %d after %d polls", trial, r.Status, r.Polls)
		}
		if r.User != nil && *r.User == "alice@example.com" {
			ok++
		} else {
			t.Errorf("trial %d: logged out right after logging in (user %v, %d polls)", trial, r.User, r.Polls)
		}
	}
	t.Logf("logged in %d times out of 20 while polling every 50 ms", ok)
}
