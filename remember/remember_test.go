package remember

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

type countingTokens struct {
	*MemoryStore
	lookups atomic.Int64
}

func (c *countingTokens) LookupToken(ctx context.Context, sel string) (store.Token, bool, error) {
	c.lookups.Add(1)
	return c.MemoryStore.LookupToken(ctx, sel)
}

type fixture struct {
	t      *testing.T
	m      *Manager
	tokens *countingTokens
	now    time.Time
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, tokens: &countingTokens{MemoryStore: NewMemoryStore()}, now: time.Now()}
	m, err := New(Config{Tokens: f.tokens, Logger: slogDiscard()})
	if err != nil {
		t.Fatal(err)
	}
	m.now = func() time.Time { return f.now }
	f.m = m
	return f
}

// issue returns the cookie value of a new token for user.
func (f *fixture) issue(user string) string {
	rec := httptest.NewRecorder()
	if err := f.m.Issue(context.Background(), rec, user); err != nil {
		f.t.Fatal(err)
	}
	return cookieValue(f.t, rec, f.m.name)
}

func cookieValue(t *testing.T, rec *httptest.ResponseRecorder, name string) string {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// auth presents cookie and returns the result and the new cookie value ("" if
// none was set).
func (f *fixture) auth(cookie string) (string, bool, string, *httptest.ResponseRecorder, error) {
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.AddCookie(&http.Cookie{Name: f.m.name, Value: cookie})
	rec := httptest.NewRecorder()
	user, ok, err := f.m.Authenticate(rec, r)
	return user, ok, cookieValue(f.t, rec, f.m.name), rec, err
}

func TestIssueStoresOnlyTheHash(t *testing.T) {
	f := newFixture(t)
	rec := httptest.NewRecorder()
	if err := f.m.Issue(context.Background(), rec, "alice"); err != nil {
		t.Fatal(err)
	}
	sc := rec.Header().Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "Secure", "SameSite=Lax", "Max-Age="} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	v := cookieValue(t, rec, "remember")
	sel, ver, ok := parse(v)
	if !ok {
		t.Fatalf("cookie %q does not parse", v)
	}
	tok, found, _ := f.tokens.LookupToken(context.Background(), sel)
	if !found {
		t.Fatal("token not stored")
	}
	if string(tok.Hash) == string(ver) || strings.Contains(string(tok.Hash), b64.EncodeToString(ver)) {
		t.Error("the store holds the verifier itself")
	}
	if string(tok.Hash) != string(hashVerifier(ver)) {
		t.Error("stored hash is not SHA-256 of the verifier")
	}
}

func TestUseRotatesTheToken(t *testing.T) {
	f := newFixture(t)
	c1 := f.issue("alice")
	user, ok, c2, _, err := f.auth(c1)
	if !ok || err != nil || user != "alice" {
		t.Fatalf("auth = %q %v %v", user, ok, err)
	}
	if c2 == "" || c2 == c1 {
		t.Fatalf("token not rotated: %q -> %q", c1, c2)
	}
	if user, ok, _, _, _ := f.auth(c2); !ok || user != "alice" {
		t.Errorf("rotated token rejected")
	}
}

func TestGraceWindowAndTheft(t *testing.T) {
	f := newFixture(t)
	stolen := f.issue("alice")
	other := f.issue("alice") // another device of the same user
	bob := f.issue("bob")
	_, _, fresh, _, _ := f.auth(stolen) // the victim uses it: rotated

	// A concurrent request with the old cookie, within the grace window.
	f.now = f.now.Add(10 * time.Second)
	if user, ok, set, _, err := f.auth(stolen); !ok || err != nil || user != "alice" || set != "" {
		t.Fatalf("old verifier within grace: %q %v %v (new cookie %q), want accepted without rotation", user, ok, err, set)
	}

	// The thief uses the copy later.
	f.now = f.now.Add(10 * time.Minute)
	_, ok, _, rec, err := f.auth(stolen)
	if ok || !errors.Is(err, ErrTheft) {
		t.Fatalf("old verifier after grace: ok=%v err=%v, want ErrTheft", ok, err)
	}
	if !strings.Contains(rec.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Error("the thief's cookie was not cleared")
	}
	for name, c := range map[string]string{"victim's fresh token": fresh, "other device": other} {
		if _, ok, _, _, _ := f.auth(c); ok {
			t.Errorf("%s still works after theft detection", name)
		}
	}
	if _, ok, _, _, _ := f.auth(bob); !ok {
		t.Error("another user's token was revoked")
	}
}

func TestConcurrentUseIsNotTheft(t *testing.T) {
	f := newFixture(t)
	c := f.issue("alice")
	var wg sync.WaitGroup
	var fails atomic.Int64
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest("GET", "https://example.com/", nil)
			r.AddCookie(&http.Cookie{Name: "remember", Value: c})
			if _, ok, err := f.m.Authenticate(httptest.NewRecorder(), r); !ok || err != nil {
				fails.Add(1)
			}
		}()
	}
	wg.Wait()
	if fails.Load() != 0 {
		t.Errorf("%d of 10 concurrent uses of one cookie failed", fails.Load())
	}
}

func TestBadCookies(t *testing.T) {
	f := newFixture(t)
	good := f.issue("alice")
	tests := []struct{ name, value string }{
		{"empty", ""},
		{"no separator", strings.Replace(good, ":", "", 1)},
		{"short selector", good[1:]},
		{"long verifier", good + "A"},
		{"bad characters", strings.Repeat("!", len(good))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.tokens.lookups.Load()
			if _, ok, _, _, err := f.auth(tt.value); ok || err != nil {
				t.Errorf("got ok=%v err=%v, want rejected without error", ok, err)
			}
			if f.tokens.lookups.Load() != before {
				t.Error("a malformed cookie reached the store")
			}
		})
	}
	t.Run("unknown selector", func(t *testing.T) {
		other := newFixture(t).issue("mallory")
		if _, ok, _, _, _ := f.auth(other); ok {
			t.Error("a token from another store was accepted")
		}
	})
	t.Run("expired", func(t *testing.T) {
		c := f.issue("alice")
		f.now = f.now.Add(31 * 24 * time.Hour)
		if _, ok, _, _, _ := f.auth(c); ok {
			t.Error("an expired token was accepted")
		}
	})
}

func TestHandlerLogsBackIn(t *testing.T) {
	sessions, err := sesame.New(sesame.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tokens := NewMemoryStore()
	m, err := New(Config{Tokens: tokens, Sessions: sessions})
	if err != nil {
		t.Fatal(err)
	}
	var gotUser, gotID string
	h := sessions.Handler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		switch r.URL.Path {
		case "/login":
			if err := m.Login(w, r, "alice", true); err != nil {
				t.Error(err)
			}
		case "/logout":
			if err := m.Logout(w, r); err != nil {
				t.Error(err)
			}
		default:
			gotUser, gotID = s.UserID(), s.ID()
		}
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "https://example.com/login", nil))
	remember := cookieValue(t, rec, "remember")
	if remember == "" {
		t.Fatal("login with remember me set no cookie")
	}
	// The session cookie is gone (browser restart); only the remember cookie
	// comes back.
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.AddCookie(&http.Cookie{Name: "remember", Value: remember})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if gotUser != "alice" || gotID == "" {
		t.Fatalf("remember cookie did not log alice back in (user %q, id %q)", gotUser, gotID)
	}
	rotated := cookieValue(t, rec, "remember")
	if rotated == "" || rotated == remember {
		t.Error("the remember cookie was not rotated on use")
	}
	// Logout revokes it.
	r = httptest.NewRequest("POST", "https://example.com/logout", nil)
	r.AddCookie(&http.Cookie{Name: "remember", Value: rotated})
	h.ServeHTTP(httptest.NewRecorder(), r)
	gotUser = ""
	r = httptest.NewRequest("GET", "https://example.com/", nil)
	r.AddCookie(&http.Cookie{Name: "remember", Value: rotated})
	h.ServeHTTP(httptest.NewRecorder(), r)
	if gotUser != "" {
		t.Errorf("revoked token still logs in %q", gotUser)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(strings.Repeat("A", 22) + ":" + strings.Repeat("B", 43))
	f.Add("")
	f.Add(":")
	f.Fuzz(func(t *testing.T, v string) {
		sel, ver, ok := parse(v)
		if ok && (len(sel) != 22 || len(ver) != verifierBytes || sel+":"+b64.EncodeToString(ver) != v) {
			t.Fatalf("parse accepted non-canonical %q", v)
		}
	})
}

func TestMemoryStoreConformance(t *testing.T) {
	storetest.RunTokens(t, func(t *testing.T) store.TokenStore { return NewMemoryStore() })
}

func TestRevokeOthersKeepsThisBrowser(t *testing.T) {
	f := newFixture(t)
	mine := f.issue("alice")
	other := f.issue("alice")
	bob := f.issue("bob")
	r := httptest.NewRequest("POST", "https://example.com/devices/logout-others", nil)
	r.AddCookie(&http.Cookie{Name: "remember", Value: mine})
	rec := httptest.NewRecorder()
	n, err := f.m.RevokeOthers(rec, r, "alice")
	if err != nil || n != 2 {
		t.Fatalf("RevokeOthers = %d, %v; want 2 deleted", n, err)
	}
	fresh := cookieValue(t, rec, "remember")
	if fresh == "" {
		t.Fatal("this browser got no new token")
	}
	if _, ok, _, _, _ := f.auth(fresh); !ok {
		t.Error("this browser's new token does not log in")
	}
	for name, c := range map[string]string{"the other browser": other, "this browser's old token": mine} {
		if _, ok, _, _, _ := f.auth(c); ok {
			t.Errorf("%s still logs in", name)
		}
	}
	if _, ok, _, _, _ := f.auth(bob); !ok {
		t.Error("another user's token was revoked")
	}
}

// TestSessionRecordsItsToken: the stored session names the selector of the
// token that goes with it (SessionKey), after a login with remember me and
// after Handler logged the user back in; a login without remember me and a
// logout leave none; RevokeSelector then revokes that browser's token alone.
func TestSessionRecordsItsToken(t *testing.T) {
	st := memstore.New()
	sessions, err := sesame.New(sesame.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	tokens := NewMemoryStore()
	m, err := New(Config{Tokens: tokens, Sessions: sessions})
	if err != nil {
		t.Fatal(err)
	}
	var hash string
	h := sessions.Handler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		switch r.URL.Path {
		case "/login":
			err = m.Login(w, r, "alice", true)
		case "/login-once":
			err = m.Login(w, r, "alice", false)
		case "/logout":
			err = m.Logout(w, r)
		}
		if err != nil {
			t.Error(err)
		}
		sesame.From(r).Put("seen", true) // so that every session is stored
		hash = sesame.From(r).Hash()
	})))
	send := func(path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "https://example.com"+path, nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	recorded := func() (string, bool) {
		rec, ok, err := st.Load(context.Background(), hash)
		if err != nil || !ok {
			t.Fatalf("loading the session: %v, %v", ok, err)
		}
		v, ok := rec.Values[SessionKey]
		return strings.Trim(string(v), `"`), ok
	}
	selectorOf := func(cookie string) string { sel, _, _ := strings.Cut(cookie, ":"); return sel }

	rec := send("/login")
	token := cookieValue(t, rec, "remember")
	if sel, ok := recorded(); !ok || sel != selectorOf(token) {
		t.Errorf("after a login with remember me the session records %q, want the token's selector %q", sel, selectorOf(token))
	}
	// A browser restart: only the remember cookie comes back.
	rec = send("/", &http.Cookie{Name: "remember", Value: token})
	if sel, ok := recorded(); !ok || sel != selectorOf(token) {
		t.Errorf("after Handler logged back in the session records %q, want %q", sel, selectorOf(token))
	}
	rotated := cookieValue(t, rec, "remember")
	var sid *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessions.CookieName() {
			sid = c
		}
	}
	send("/logout", sid, &http.Cookie{Name: "remember", Value: rotated})
	if sel, ok := recorded(); ok {
		t.Errorf("after logout the session still records %q", sel)
	}
	send("/login-once")
	if sel, ok := recorded(); ok {
		t.Errorf("after a login without remember me the session records %q", sel)
	}

	// RevokeSelector ends one browser's token, not the user's others.
	one, other := issueFor(t, m, "alice"), issueFor(t, m, "alice")
	if err := m.RevokeSelector(context.Background(), selectorOf(one)); err != nil {
		t.Fatal(err)
	}
	for c, want := range map[string]bool{one: false, other: true} {
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		r.AddCookie(&http.Cookie{Name: "remember", Value: c})
		if _, ok, err := m.Authenticate(httptest.NewRecorder(), r); ok != want || err != nil {
			t.Errorf("token %.6s… logs in: %v (%v), want %v", c, ok, err, want)
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 22) + "=", strings.Repeat("*", 22)} {
		if err := m.RevokeSelector(context.Background(), bad); err == nil {
			t.Errorf("RevokeSelector(%q) = nil, want an error", bad)
		}
	}
}

// issueFor returns the cookie value of a new token of user.
func issueFor(t *testing.T, m *Manager, user string) string {
	rec := httptest.NewRecorder()
	if err := m.Issue(context.Background(), rec, user); err != nil {
		t.Fatal(err)
	}
	return cookieValue(t, rec, m.name)
}
