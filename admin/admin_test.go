package admin

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/cookiestore"
	"github.com/sesamego/sesame/seal"
	"github.com/sesamego/sesame/store"
)

func TestNewRefusesBadOptions(t *testing.T) {
	m, err := sesame.New(sesame.Config{})
	if err != nil {
		t.Fatal(err)
	}
	allow := func(*http.Request) (string, bool) { return "root", true }
	tests := []struct {
		name string
		m    *sesame.Manager
		o    Options
		want string
	}{
		{"no manager", nil, Options{Authorize: allow}, "session manager"},
		{"no Authorize: nobody gets in by default", m, Options{}, "Authorize is required"},
		{"a relative path", m, Options{Authorize: allow, Path: "admin"}, "must start with a slash"},
		{"a path with a pattern", m, Options{Authorize: allow, Path: "/{x}"}, "only letters"},
		{"a path that is not clean", m, Options{Authorize: allow, Path: "/a/../b"}, "not a clean path"},
		{"showing every value", m, Options{Authorize: allow, ShowValues: []string{"*"}}, "every value"},
		{"showing a reserved key", m, Options{Authorize: allow, ShowValues: []string{"__csrf"}}, "reserved"},
		{"a star inside a key", m, Options{Authorize: allow, ShowValues: []string{"a*b"}}, "may only end"},
		{"a negative page size", m, Options{Authorize: allow, PageSize: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.m, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, %v; want an error saying %q", h, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "admin: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
	if _, err := New(m, Options{Authorize: allow, Path: "/ops/sessions/"}); err != nil {
		t.Errorf("New with a valid path: %v", err)
	}
}

// adminPages are the dashboard's pages for a fixture where bob is logged in.
func adminPages(f *fixture) []string {
	pages := []string{"/admin/", "/admin/sessions", "/admin/users", "/admin/users?q=bob", "/admin/users?q=b", "/admin/admin.css"}
	for _, h := range f.hashesOf("bob") {
		pages = append(pages, "/admin/sessions/"+h)
	}
	return pages
}

func TestUnauthorizedRequestsAreRefused(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	bob := f.client("").login("bob", true)
	admin := f.client("").login("alice", false)
	token := admin.token() // a valid token, of alice's session
	hash := f.hashesOf("bob")[0]

	guest := f.client("")
	for name, c := range map[string]*client{"a guest": guest, "bob, who is not an administrator": bob} {
		for _, p := range adminPages(f) {
			if code, body := c.send("GET", p, nil, nil); code != http.StatusForbidden || strings.Contains(body, "bob") {
				t.Errorf("%s: GET %s = %d, want 403 revealing nothing\n%s", name, p, code, body)
			}
		}
		for _, a := range []struct{ path, user string }{{"/admin/sessions/" + hash + "/revoke", ""}, {"/admin/users/logout", "bob"}} {
			form := url.Values{"_csrf": {token}, "user": {a.user}}
			if code, _ := c.send("POST", a.path, form, nil); code != http.StatusForbidden {
				t.Errorf("%s: POST %s = %d, want 403", name, a.path, code)
			}
		}
	}
	if !f.live(hash) || bob.whoami() != "bob" {
		t.Fatal("a refused request ended bob's session")
	}
	if n := strings.Count(f.logs.String(), "request refused: not authorized"); n < 10 {
		t.Errorf("%d refusals logged, want every one:\n%s", n, f.logs)
	}
	if f.revocations != nil {
		t.Errorf("OnRevoke called for refused requests: %+v", f.revocations)
	}
}

func TestAuthorizeMustNameTheOperator(t *testing.T) {
	f := newFixture(t, fixtureOptions{admin: func(o *Options) {
		o.Authorize = func(*http.Request) (string, bool) { return "", true }
	}})
	if code, _ := f.client("").send("GET", "/admin/", nil, nil); code != http.StatusForbidden {
		t.Errorf("GET /admin/ with an unnamed operator = %d, want 403 (actions are logged with who did them)", code)
	}
}

func TestCrossSiteActionIsRefused(t *testing.T) {
	// The session middleware's own origin check is off, so that the
	// dashboard's check is the one tested.
	f := newFixture(t, fixtureOptions{crossOrigin: sesame.CrossOriginConfig{Disable: true}})
	f.client("").login("bob", false)
	admin := f.client("").login("alice", false)
	hash := f.hashesOf("bob")[0]
	revoke := "/admin/sessions/" + hash + "/revoke"
	token := admin.token()

	tests := []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"a cross-site form with a valid token", url.Values{"_csrf": {token}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"a form from a sibling site", url.Values{"_csrf": {token}}, http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"an old browser posting from another origin", url.Values{"_csrf": {token}}, http.Header{"Origin": {"https://evil.example"}}},
		{"no token", url.Values{}, nil},
		{"a forged token", url.Values{"_csrf": {strings.Repeat("A", len(token))}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _ := admin.send("POST", revoke, tt.form, tt.header); code != http.StatusForbidden {
				t.Errorf("POST = %d, want 403", code)
			}
			if !f.live(hash) {
				t.Fatal("the refused action revoked the session")
			}
		})
	}
	if !strings.Contains(f.logs.String(), "action refused by CSRF protection") || !strings.Contains(f.logs.String(), "who=alice") {
		t.Errorf("the refusals are not logged with who sent them:\n%s", f.logs)
	}
	// The same request from the app's own origin goes through.
	code, _ := admin.send("POST", revoke, url.Values{"_csrf": {token}}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if code != http.StatusSeeOther || f.live(hash) {
		t.Errorf("a same-origin revoke = %d (live afterwards: %v), want 303 and the session gone", code, f.live(hash))
	}
}

// valueScan loads every page as alice and returns them concatenated.
func valueScan(t *testing.T, f *fixture, admin *client) string {
	t.Helper()
	var all strings.Builder
	for _, p := range adminPages(f) {
		all.WriteString(admin.get(p))
	}
	return all.String()
}

func TestValuesAppearOnlyWhenOptedIn(t *testing.T) {
	tests := []struct {
		name      string
		show      []string
		wantTheme bool
	}{
		{"no value opted in", nil, false},
		{"the theme opted in", []string{"theme"}, true},
		{"a prefix opted in", []string{"cart.*", "th*"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{admin: func(o *Options) { o.ShowValues = tt.show }})
			f.client("").login("bob", true)
			admin := f.client("").login("alice", false)
			html := valueScan(t, f, admin)
			if strings.Contains(html, plantedSecret) {
				t.Error("the planted secret value appears on a page")
			}
			if got := strings.Contains(html, plantedTheme); got != tt.wantTheme {
				t.Errorf("the theme value appears: %v, want %v", got, tt.wantTheme)
			}
			// The keys are listed with their sizes, values or not.
			page := admin.get("/admin/sessions/" + f.hashesOf("bob")[0])
			for _, k := range []string{">secret<", ">theme<", ">cart.bagel<", ">__csrf<", ">__remember<"} {
				if !strings.Contains(page, k) {
					t.Errorf("the session page does not list the key %s", k)
				}
			}
			// sesame's own values (the CSRF secret, the remember-me
			// selector) never appear.
			rec, _, _ := f.st.Load(t.Context(), f.hashesOf("bob")[0])
			for _, k := range []string{"__csrf", "__remember"} {
				v := strings.Trim(string(rec.Values[k]), `"`)
				if v == "" || strings.Contains(html, v) {
					t.Errorf("sesame's %s value %q appears on a page (or is empty)", k, v)
				}
			}
		})
	}
}

func TestSessionIDsNeverAppear(t *testing.T) {
	for _, st := range []struct {
		name string
		st   func(t *testing.T) store.Store
	}{
		{"memstore", func(*testing.T) store.Store { return nil }},
		{"filestore", func(t *testing.T) store.Store { return newFileStore(t) }},
	} {
		t.Run(st.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{store: st.st(t)})
			f.client("").login("bob", true)
			f.client("").login("bob", false)
			f.client("").login("carol", false)
			admin := f.client("").login("alice", false)
			html := valueScan(t, f, admin)
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.ids) != 4 {
				t.Fatalf("%d session IDs recorded, want 4", len(f.ids))
			}
			for _, id := range f.ids {
				if id == "" || strings.Contains(html, id) {
					t.Errorf("session ID %q appears on a page (or is empty)", id)
				}
			}
			// The pages show hash prefixes: the one of bob's session is there.
			if h := f.hashesOf("bob")[0]; !strings.Contains(html, h[:12]+"…") {
				t.Errorf("bob's session %s… is not shown", h[:12])
			}
		})
	}
}

func TestPagesRunNoScript(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.client("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0").login("bob", true)
	admin := f.client("").login("alice", false)
	inline := regexp.MustCompile(`(?i)<script|<style|\sstyle=|\son[a-z]+=|javascript:`)
	for _, p := range adminPages(f) {
		code, body := admin.send("GET", p, nil, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s = %d", p, code)
		}
		if m := inline.FindString(body); m != "" {
			t.Errorf("GET %s: %q in the page: a strict CSP would refuse it", p, m)
		}
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/admin/", nil)
	resp, err := admin.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Values("Content-Security-Policy"); !slices.Contains(got, csp) {
		t.Errorf("Content-Security-Policy = %q, want the dashboard's own %q among them", got, csp)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}

func TestRevokeEndsTheSessionAndItsToken(t *testing.T) {
	for _, st := range []struct {
		name string
		st   func(t *testing.T) store.Store
	}{
		{"memstore", func(*testing.T) store.Store { return nil }},
		{"filestore", func(t *testing.T) store.Store { return newFileStore(t) }},
	} {
		t.Run(st.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{store: st.st(t)})
			bob := f.client("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15").login("bob", true)
			phone := f.client("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36").login("bob", true)
			admin := f.client("").login("alice", false)

			page := admin.get("/admin/users?q=bob")
			for _, want := range []string{"Safari 17 on macOS", "Chrome 126 on Android 14", "remembered"} {
				if !strings.Contains(page, want) {
					t.Errorf("the users page does not show %q", want)
				}
			}
			hashes := f.hashesOf("bob")
			if len(hashes) != 2 {
				t.Fatalf("bob has %d sessions, want 2", len(hashes))
			}
			// Revoke the laptop's session (the phone's stays).
			laptop := ""
			for _, h := range hashes {
				rec, _, _ := f.st.Load(t.Context(), h)
				if strings.Contains(rec.UserAgent, "Macintosh") {
					laptop = h
				}
			}
			code, _ := admin.send("POST", "/admin/sessions/"+laptop+"/revoke",
				url.Values{"_csrf": {admin.token()}, "return": {"/admin/users?q=bob&done=logout&n=99"}}, nil)
			if code != http.StatusSeeOther {
				t.Fatalf("revoke = %d, want 303", code)
			}
			if got := bob.whoami(); got != "guest" {
				t.Errorf("after the revoke bob's laptop is %q, want a guest (its remember-me token must go too)", got)
			}
			if got := phone.whoami(); got != "bob" {
				t.Errorf("bob's phone is %q, want still bob", got)
			}
			destroyed := 0
			for _, m := range f.rec.history(time.Now()).Minutes {
				destroyed += m.destroyed
			}
			if destroyed != 1 {
				t.Errorf("the recorder counts %d sessions destroyed, want the revoked one (the manager sends no event for it)", destroyed)
			}
			page = admin.get("/admin/users?q=bob&done=revoked&s=" + laptop[:12] + "&t=1")
			if !strings.Contains(page, "Session "+laptop[:12]+"… revoked, with its remember-me token.") {
				t.Error("no notice of the revoke")
			}
			if strings.Contains(page, laptop[:12]) && strings.Count(page, laptop[:12]) > 1 {
				t.Error("the revoked session is still listed")
			}
			if !strings.Contains(f.logs.String(), `msg="admin: session revoked" who=alice session=`+laptop[:12]+" user=bob remember_tokens=1") {
				t.Errorf("the revoke is not logged with who did it:\n%s", f.logs)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.revocations) != 1 || f.revocations[0].Who != "alice" || f.revocations[0].UserID != "bob" ||
				!slices.Equal(f.revocations[0].Hashes, []string{laptop}) || f.revocations[0].Everywhere {
				t.Errorf("OnRevoke got %+v, want one revocation of bob's laptop by alice", f.revocations)
			}
		})
	}
}

func TestRevokeOfAnEndedSession(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	admin := f.client("").login("alice", false)
	gone := store.Key("no such session")
	code, _ := admin.send("POST", "/admin/sessions/"+gone+"/revoke", url.Values{"_csrf": {admin.token()}}, nil)
	if code != http.StatusSeeOther {
		t.Fatalf("revoking a missing session = %d, want 303 back with a notice", code)
	}
	if !strings.Contains(admin.get("/admin/sessions?done=gone&s="+gone[:12]), "had already ended") {
		t.Error("no notice that the session had already ended")
	}
	if code, _ := admin.send("POST", "/admin/sessions/not-a-hash/revoke", url.Values{"_csrf": {admin.token()}}, nil); code != http.StatusNotFound {
		t.Errorf("revoking a malformed hash = %d, want 404", code)
	}
	if code, _ := admin.send("GET", "/admin/sessions/"+gone, nil, nil); code != http.StatusNotFound {
		t.Errorf("the page of a missing session = %d, want 404", code)
	}
}

func TestLogoutEverywhere(t *testing.T) {
	f := newFixture(t, fixtureOptions{store: newFileStore(t)})
	laptop := f.client("").login("bob", true)
	phone := f.client("").login("bob", true)
	carol := f.client("").login("carol", true)
	admin := f.client("").login("alice", false)
	hashes := f.hashesOf("bob")

	code, _ := admin.send("POST", "/admin/users/logout", url.Values{"_csrf": {admin.token()}, "user": {"bob"}}, nil)
	if code != http.StatusSeeOther {
		t.Fatalf("log out everywhere = %d, want 303", code)
	}
	for name, c := range map[string]*client{"laptop": laptop, "phone": phone} {
		if got := c.whoami(); got != "guest" {
			t.Errorf("bob's %s is %q after log out everywhere, want a guest", name, got)
		}
	}
	if got := carol.whoami(); got != "carol" {
		t.Errorf("carol is %q, want still carol", got)
	}
	if !strings.Contains(admin.get("/admin/users?q=bob&done=logout&n=2&t=2"), "Logged out everywhere: 2 sessions and 2 remember-me tokens revoked.") {
		t.Error("no notice of what was revoked")
	}
	if !strings.Contains(f.logs.String(), `msg="admin: user logged out everywhere" who=alice user=bob sessions=2 remember_tokens=2`) {
		t.Errorf("the action is not logged with who did it:\n%s", f.logs)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.revocations) != 1 || !f.revocations[0].Everywhere || f.revocations[0].Tokens != 2 {
		t.Fatalf("OnRevoke got %+v", f.revocations)
	}
	got := slices.Sorted(slices.Values(f.revocations[0].Hashes))
	if !slices.Equal(got, slices.Sorted(slices.Values(hashes))) {
		t.Errorf("OnRevoke hashes = %v, want bob's %v", got, hashes)
	}
}

// TestUserSearchSeesNewLogins: on a file store the dashboard looks users up
// in its index; a login after the index was built is still found, because
// the recorder saw it. Without a recorder the store itself is asked.
func TestUserSearchSeesNewLogins(t *testing.T) {
	for _, tt := range []struct {
		name       string
		noRecorder bool
		wantSource string
	}{
		{"with a recorder", false, "the dashboard’s index"},
		{"without a recorder", true, "the store’s user index"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{store: newFileStore(t), noRecorder: tt.noRecorder,
				admin: func(o *Options) { o.RefreshInterval = 1 << 62 }})
			f.client("").login("bob", false)
			admin := f.client("").login("alice", false)
			if page := admin.get("/admin/users?q=bob"); strings.Count(page, `class="user-session"`) != 1 || !strings.Contains(page, tt.wantSource) {
				t.Fatalf("bob's first session is not listed from %s", tt.wantSource)
			}
			f.client("").login("bob", false) // after the index was built
			page := admin.get("/admin/users?q=bob")
			if n := strings.Count(page, `class="user-session"`); n != 2 {
				t.Errorf("%d of bob's sessions listed after a second login, want 2", n)
			}
			if !strings.Contains(page, "the store’s user index") {
				t.Error("the stale index was used for bob")
			}
			f.dash.idx.wait()
			if page := admin.get("/admin/users?q=bob"); strings.Count(page, `class="user-session"`) != 2 || !strings.Contains(page, tt.wantSource) {
				t.Errorf("after the rebuild, bob's sessions are not both listed from %s", tt.wantSource)
			}
		})
	}
}

func TestCookieStoreSaysItCannotList(t *testing.T) {
	kr, err := seal.NewKeyring([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cookiestore.New(cookiestore.Options{Keys: kr, Epochs: cookiestore.NewMemoryEpochs()})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fixtureOptions{store: cs})
	bob := f.client("").login("bob", false)
	admin := f.client("").login("alice", false)
	for path, want := range map[string]string{
		"/admin/":          `id="client-side"`,
		"/admin/sessions":  `id="client-side"`,
		"/admin/users?q=b": `id="client-side"`,
	} {
		page := admin.get(path)
		if !strings.Contains(page, want) || strings.Contains(page, `id="no-user-sessions"`) || strings.Contains(page, `id="no-sessions"`) {
			t.Errorf("%s does not say the store cannot list (or shows an empty list)", path)
		}
	}
	if code, body := admin.send("GET", "/admin/sessions/"+store.Key("x"), nil, nil); code != http.StatusNotFound || !strings.Contains(body, "cookies") {
		t.Errorf("a session page on the cookie store = %d, want 404 saying why", code)
	}
	// Log out everywhere works, through the user's epoch.
	code, _ := admin.send("POST", "/admin/users/logout", url.Values{"_csrf": {admin.token()}, "user": {"bob"}}, nil)
	if code != http.StatusSeeOther || bob.whoami() != "guest" {
		t.Errorf("log out everywhere on the cookie store = %d, bob is %q; want 303 and a guest", code, bob.whoami())
	}
}

func TestStoreWithoutListingSaysSo(t *testing.T) {
	f := newFixture(t, fixtureOptions{store: onlyStore{s: newFileStore(t)}})
	f.client("").login("bob", false)
	admin := f.client("").login("alice", false)
	for path, want := range map[string]string{
		"/admin/":            `id="no-list"`,
		"/admin/sessions":    `id="no-list"`,
		"/admin/users?q=bob": `id="no-lookup"`,
	} {
		if page := admin.get(path); !strings.Contains(page, want) {
			t.Errorf("%s does not say the store cannot list (%s)", path, want)
		}
	}
	if page := admin.get("/admin/users?q=bob"); strings.Contains(page, `id="logout-everywhere"`) {
		t.Error("the users page offers to log out everywhere, which the store cannot do")
	}
}

func TestOverviewCountsAndCharts(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.client("").login("bob", false)
	f.client("").login("carol", false)
	admin := f.client("").login("alice", false)
	page := admin.get("/admin/")
	for _, want := range []string{`id="live-total">3<`, `id="live-users">3<`, `id="live-anonymous">0<`, `<svg class="chart"`,
		"Sessions created per minute", `class="bar created"`, `id="store-ops"`, "answering", `id="no-anomalies"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
	// An anomaly: bob's session used from another network.
	hash := f.hashesOf("bob")[0]
	f.rec.Observe(t.Context(), sesame.Event{Kind: sesame.EventAnomaly, Hash: hash[:12], UserID: "bob", Reason: "ip", Path: "/cart"})
	page = admin.get("/admin/")
	if !strings.Contains(page, `id="anomalies"`) || !strings.Contains(page, hash[:12]+"…") {
		t.Error("the overview does not list the anomaly")
	}
	if !strings.Contains(admin.get("/admin/sessions/"+hash), `id="flag-anomaly"`) {
		t.Error("the session page does not flag the anomaly")
	}
	// Without a recorder the overview says what it needs.
	g := newFixture(t, fixtureOptions{noRecorder: true})
	if page := g.client("").login("alice", false).get("/admin/"); !strings.Contains(page, `id="no-recorder"`) || !strings.Contains(page, `id="live-total">1<`) {
		t.Error("without a recorder the overview does not count and say what is missing")
	}
}

func TestCookieWarnings(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	admin := f.client("").login("alice", false)
	if !strings.Contains(admin.get("/admin/"), `id="no-warnings"`) {
		t.Error("no warning yet, but the overview does not say none")
	}
	u, _ := url.Parse(f.srv.URL)
	admin.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "huge", Value: strings.Repeat("x", 3600)}})
	admin.get("/whoami")
	page := admin.get("/admin/")
	if !strings.Contains(page, `id="warnings"`) || !strings.Contains(page, "<code>huge</code>") || strings.Contains(page, strings.Repeat("x", 100)) {
		t.Error("the overview does not list the large cookie by name (and never its value)")
	}
}

func TestSessionsListPagesThroughEverySession(t *testing.T) {
	f := newFixture(t, fixtureOptions{admin: func(o *Options) { o.PageSize = 7 }})
	admin := f.client("").login("alice", false)
	want := fill(t, f.st, 30, 0)
	want = append(want, f.hashesOf("alice")...)
	f.dash.idx.invalidate()
	var got []string
	link := regexp.MustCompile(`href="/admin/sessions/([0-9a-f]{64})"`)
	next := regexp.MustCompile(`id="next-page" href="([^"]+)"`)
	path := "/admin/sessions"
	for pages := 0; path != ""; pages++ {
		if pages > 10 {
			t.Fatal("more pages than sessions")
		}
		page := admin.get(strings.ReplaceAll(path, "&amp;", "&"))
		for _, m := range link.FindAllStringSubmatch(page, -1) {
			got = append(got, m[1])
		}
		path = ""
		if m := next.FindStringSubmatch(page); m != nil {
			path = m[1]
		}
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d sessions, want %d", len(got), len(want))
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Error("the pages do not list every session exactly once")
	}
	if code, _ := admin.send("GET", "/admin/sessions?after=bogus", nil, nil); code != http.StatusBadRequest {
		t.Errorf("a malformed cursor = %d, want 400", code)
	}
}

func TestReturnToStaysInTheDashboard(t *testing.T) {
	h := &handler{o: Options{Path: "/admin"}}
	tests := []struct{ ret, want string }{
		{"", "/admin/sessions"},
		{"/admin/users?q=bob", "/admin/users?q=bob"},
		{"/admin/users?q=bob&done=revoked&s=abc", "/admin/users?q=bob"},
		{"https://evil.example/admin/", "/admin/sessions"},
		{"//evil.example/admin/", "/admin/sessions"},
		{"/\\evil.example", "/admin/sessions"},
		{"/administrator", "/admin/sessions"},
		{"/shop", "/admin/sessions"},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest("POST", "/", strings.NewReader(url.Values{"return": {tt.ret}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if got := h.returnTo(r, "/sessions"); got != tt.want {
			t.Errorf("returnTo(%q) = %q, want %q", tt.ret, got, tt.want)
		}
	}
}

func TestOutsideTheSessionMiddleware(t *testing.T) {
	m, _ := sesame.New(sesame.Config{})
	h, err := New(m, Options{Authorize: func(*http.Request) (string, bool) { return "root", true }})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptestRecorder(h, "GET", "/admin/")
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "session middleware") {
		t.Errorf("outside the middleware: %d %q, want 500 saying why", rec.Code, rec.Body)
	}
	if rec := httptestRecorder(h, "GET", "/elsewhere"); rec.Code != http.StatusNotFound {
		t.Errorf("a path outside the dashboard = %d, want 404", rec.Code)
	}
}
