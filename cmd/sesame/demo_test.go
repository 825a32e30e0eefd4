package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sesamego/sesame/internal/redistest"
)

// TestSessionsOfTheDemoApp runs the real demo app (examples/shop) on its
// default file store, SQLite, PostgreSQL and Redis, logs alice in with a browser-like client, and then
// uses the CLI on the same store to list, show and prune the sessions the app
// created.
func TestSessionsOfTheDemoApp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the demo app")
	}
	bin := buildDemo(t)
	t.Run("file", func(t *testing.T) { // the demo's default store
		dir := filepath.Join(t.TempDir(), "sessions")
		demoSession(t, bin, "file:"+dir, "file:"+dir, nil)
	})
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "shop.db")
		demoSession(t, bin, "sqlite:"+path, "sqlite:"+path, func(hash string) {
			expireSQL(t, "sqlite", path, hash, "?")
		})
	})
	t.Run("postgres", func(t *testing.T) {
		admin := pingSQL(t, "pgx", envOr(postgresEnv, defaultPostgres), postgresEnv)
		dbname := uniqueName("demo")
		if _, err := admin.Exec("CREATE DATABASE " + dbname); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Exec("DROP DATABASE " + dbname + " WITH (FORCE)") })
		u, _ := url.Parse(envOr(postgresEnv, defaultPostgres))
		u.Path = "/" + dbname
		dsn := u.String()
		demoSession(t, bin, dsn, dsn, func(hash string) { expireSQL(t, "pgx", dsn, hash, "$1") })
	})
	t.Run("redis", func(t *testing.T) {
		addr := redistest.Addr(t)
		// Database 11 is this test's own; the demo uses the default prefix.
		c := redis.NewClient(&redis.Options{Addr: addr, DB: 11})
		defer c.Close()
		c.FlushDB(context.Background())
		t.Cleanup(func() { c.FlushDB(context.Background()) })
		u := "redis://" + addr + "/11"
		demoSession(t, bin, u, u, nil)
	})
}

// buildDemo builds examples/shop into a temporary directory.
func buildDemo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shop")
	// The demo compiles the SQL and Redis stores only when asked to.
	args := []string{"build", "-tags", "sql,redis", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "../../examples/shop")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the demo: %v\n%s", err, out)
	}
	return bin
}

// demoSession starts the demo on appStore, creates a logged-in and an
// anonymous session, and checks the CLI on cliStore. expire, when set, makes
// a session expired in the database, so prune has something to remove.
func demoSession(t *testing.T, bin, appStore, cliStore string, expire func(hash string)) {
	base := startDemo(t, bin, appStore)
	alice := newDemoBrowser(t, base)
	alice.login("alice@example.com", "wonderland", true)
	guest := newDemoBrowser(t, base)
	guest.get("/") // browsing alone stores nothing
	if all := listJSON(t, []string{"--store", cliStore}); len(all) != 1 {
		t.Fatalf("after a guest's page view, list found %d sessions, want alice's only: %+v", len(all), all)
	}
	guest.post("/cart/add", url.Values{"sku": {"mug"}}) // a change starts a session

	flags := []string{"--store", cliStore}
	all := listJSON(t, flags)
	if len(all) != 2 {
		t.Fatalf("list found %d sessions, want alice's and the guest's: %+v", len(all), all)
	}
	mine := listJSON(t, flags, "--user", "1")
	if len(mine) != 1 || mine[0].User != "1" || mine[0].UserAgent == "" {
		t.Fatalf("list --user 1 = %+v, want alice's one session with its user agent", mine)
	}
	r := realCmd(t, append([]string{"sessions", "show", "--json"}, append(flags, mine[0].Hash[:10])...)...)
	if r.code != 0 {
		t.Fatalf("show = %+v", r)
	}
	var shown session
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Hash != mine[0].Hash || shown.Values["page_views"] == nil {
		t.Errorf("show gave %+v, want alice's session with its page_views", shown)
	}
	r = realCmd(t, append([]string{"sessions", "show"}, append(flags, alice.sessionID())...)...)
	if r.code != 0 || !strings.Contains(r.stdout, mine[0].Hash) {
		t.Errorf("show by the cookie's session ID = %+v", r)
	}

	var guestHash string
	for _, s := range all {
		if s.User == "" {
			guestHash = s.Hash
		}
	}
	if expire != nil {
		expire(guestHash)
	}
	r = realCmd(t, append([]string{"sessions", "prune", "--json"}, flags...)...)
	if r.code != 0 {
		t.Fatalf("prune = %+v", r)
	}
	if expire != nil {
		var res struct{ Pruned int }
		json.Unmarshal([]byte(r.stdout), &res)
		if res.Pruned != 1 {
			t.Errorf("prune removed %d sessions (%s), want the expired guest's", res.Pruned, r.stdout)
		}
		if left := listJSON(t, flags); len(left) != 1 || left[0].Hash != mine[0].Hash {
			t.Errorf("after prune: %+v, want only alice's", left)
		}
	}
	// The app still knows alice after all this.
	if !strings.Contains(alice.get("/api/state"), "alice@example.com") {
		t.Error("alice was logged out by the CLI's reads")
	}

	// Deleting alice's sessions revokes her remember-me token too: the
	// cookie that would log her back in no longer does.
	r = realCmd(t, append([]string{"sessions", "delete", "--user", "1"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "revoked 1 remember-me token") {
		t.Fatalf("delete --user 1 = %+v, want its remember-me token revoked", r)
	}
	if !alice.hasCookie("remember") {
		t.Fatal("alice's browser has no remember cookie to try")
	}
	var st struct{ User *string }
	if err := json.Unmarshal([]byte(alice.get("/api/state")), &st); err != nil || st.User != nil {
		t.Errorf("after delete --user 1, alice's browser is user %v (%v), want a guest: remember me revived her", st.User, err)
	}
	if left := listJSON(t, flags, "--user", "1"); len(left) != 0 {
		t.Errorf("after delete --user 1: %d sessions of user 1, want none", len(left))
	}
}

// expireSQL moves a session's expiry into the past, as time would.
func expireSQL(t *testing.T, driver, dsn, hash, ph string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	past := time.Now().Add(-time.Hour)
	var arg any = past
	if driver == "sqlite" {
		arg = past.UnixMicro()
	}
	q := "UPDATE sesame_sessions SET expires = " + ph + " WHERE id = "
	if ph == "$1" {
		q += "$2"
	} else {
		q += "?"
	}
	if _, err := db.Exec(q, arg, hash); err != nil {
		t.Fatalf("expiring %s: %v", hash, err)
	}
}

// startDemo runs the demo on a free port and returns its base URL.
func startDemo(t *testing.T, bin, storeURL string) string {
	t.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-store", storeURL, "-data", t.TempDir())
	cmd.Env = append(os.Environ(), "SESAME_SECRETS=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case base := <-found:
		return base
	case <-time.After(60 * time.Second):
		t.Fatal("the demo did not say where it listens within 60 s")
		return ""
	}
}

var (
	listenRE = regexp.MustCompile(`listening on (http://\S+)`)
	csrfRE   = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
)

type demoBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newDemoBrowser(t *testing.T, base string) *demoBrowser {
	jar, _ := cookiejar.New(nil)
	return &demoBrowser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (b *demoBrowser) get(path string) string {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return string(body)
}

// post sends a form from the page at path, as a browser does: with the
// page's CSRF token when it has one (a guest's pages have none), and
// Sec-Fetch-Site saying it comes from the app's own origin. It returns the
// page the POST redirects to.
func (b *demoBrowser) post(path string, form url.Values) string {
	b.t.Helper()
	if m := csrfRE.FindStringSubmatch(b.get("/")); m != nil {
		form.Set("_csrf", m[1])
	}
	req, err := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
	return string(body)
}

func (b *demoBrowser) login(email, password string, remember bool) {
	b.t.Helper()
	form := url.Values{"email": {email}, "password": {password}}
	if remember {
		form.Set("remember", "1")
	}
	if !strings.Contains(b.post("/login", form), "Welcome back!") {
		b.t.Fatal("login did not land on a page saying Welcome back!")
	}
}

func (b *demoBrowser) hasCookie(name string) bool {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return true
		}
	}
	return false
}

func (b *demoBrowser) sessionID() string {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "sid" {
			return c.Value
		}
	}
	b.t.Fatal("no sid cookie")
	return ""
}
