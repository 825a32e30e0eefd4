package cookiestore

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/internal/flat"
	"github.com/sesamego/sesame/seal"
	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

func testKeys(t testing.TB) *seal.Keyring {
	k, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := seal.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// browser drives a cookie Store the way one browser would: each call is a
// request carrying the browser's cookies for that session key, and the
// response's Set-Cookie lines update them. Calls are serialised, as a
// browser applies responses one at a time; this is the only way a cookie
// store sees "concurrent" changes, and why it cannot merge real ones.
type browser struct {
	s    *Store
	mu   sync.Mutex
	jars map[string][]*http.Cookie // session key -> cookies
}

var _ store.Store = (*browser)(nil)

func (b *browser) do(key string, fn func(ctx context.Context, st store.Store) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	for _, c := range b.jars[key] {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	err := fn(context.Background(), b.s.ForRequest(rec, r))
	jar := map[string]*http.Cookie{}
	for _, c := range b.jars[key] {
		jar[c.Name] = c
	}
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(jar, c.Name)
		} else {
			jar[c.Name] = c
		}
	}
	b.jars[key] = nil
	for _, c := range jar {
		b.jars[key] = append(b.jars[key], &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return err
}

func (b *browser) Load(ctx context.Context, key string) (rec store.Record, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return rec, false, err
	}
	err = b.do(key, func(c context.Context, st store.Store) error {
		rec, ok, err = st.Load(c, key)
		return err
	})
	return rec, ok, err
}

func (b *browser) Apply(ctx context.Context, key string, ch store.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.do(key, func(c context.Context, st store.Store) error { return st.Apply(c, key, ch) })
}

func (b *browser) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.do(key, func(c context.Context, st store.Store) error { return st.Delete(c, key) })
}

func TestConformance(t *testing.T) {
	var max int
	storetest.RunWith(t, func(t *testing.T) store.Store {
		s, err := New(Options{Keys: testKeys(t)})
		if err != nil {
			t.Fatal(err)
		}
		max = s.MaxRecordSize()
		return &browser{s: s, jars: map[string][]*http.Cookie{}}
	}, storetest.Options{MaxRecordSize: 14000})
	if max != 14000 {
		t.Errorf("default MaxRecordSize = %d, want 14000", max)
	}
}

// app is a sesame app on the cookie store.
func newApp(t *testing.T, o Options) (*httptest.Server, *http.Client, *sesame.Manager) {
	t.Helper()
	if o.Keys == nil {
		o.Keys = testKeys(t)
	}
	cs, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sesame.New(sesame.Config{Store: cs})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		for k, v := range r.URL.Query() {
			s.Put(k, v[0])
		}
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		v, _ := sesame.Get[string](sesame.From(r), r.URL.Query().Get("k"))
		io.WriteString(w, v)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		s.Regenerate()
		s.SetUser("alice")
		s.Put("user", "alice")
	})
	mux.HandleFunc("/logout-others", func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.LogoutOtherDevices(r); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) { sesame.From(r).Destroy() })
	srv := httptest.NewTLSServer(m.Handler(mux))
	t.Cleanup(srv.Close)
	return srv, newClient(srv), m
}

func newClient(srv *httptest.Server) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *srv.Client()
	c.Jar = jar
	return &c
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestSessionRoundTripInCookies(t *testing.T) {
	srv, c, _ := newApp(t, Options{})
	get(t, c, srv.URL+"/put?color=blue")
	if got := get(t, c, srv.URL+"/get?k=color"); got != "blue" {
		t.Fatalf("color = %q, want blue", got)
	}
	u, _ := url.Parse(srv.URL)
	names := map[string]string{}
	for _, ck := range c.Jar.Cookies(u) {
		names[ck.Name] = ck.Value
	}
	if names["__Host-sdata"] == "" || names["__Host-sid"] == "" {
		t.Fatalf("cookies %v, want __Host-sid and __Host-sdata", names)
	}
	if strings.Contains(names["__Host-sdata"], "blue") {
		t.Error("session data readable in the cookie")
	}
}

func TestLargeSessionIsChunkedAndTooLargeIsRefused(t *testing.T) {
	srv, c, _ := newApp(t, Options{})
	big := storetest.RandomJSON(9000) // incompressible, needs 3+ cookies
	v := strings.Trim(string(big), `"`)
	get(t, c, srv.URL+"/put?big="+url.QueryEscape(v))
	if got := get(t, c, srv.URL+"/get?k=big"); got != v {
		t.Fatalf("big value did not round-trip through chunks (got %d bytes)", len(got))
	}
	u, _ := url.Parse(srv.URL)
	chunks := 0
	for _, ck := range c.Jar.Cookies(u) {
		if strings.HasPrefix(ck.Name, "__Host-sdata.") {
			chunks++
		}
	}
	if chunks < 3 {
		t.Errorf("%d chunk cookies, want at least 3", chunks)
	}
	huge := strings.Repeat("x", 20000)
	resp, err := c.Get(srv.URL + "/put?huge=" + huge)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Error("a session over the limit was accepted")
	}
	if got := get(t, c, srv.URL+"/get?k=big"); got != v {
		t.Error("the session was lost after a refused oversized write")
	}
}

func TestTamperedCookieGivesEmptySession(t *testing.T) {
	srv, c, _ := newApp(t, Options{})
	get(t, c, srv.URL+"/put?color=blue")
	u, _ := url.Parse(srv.URL)
	var cks []*http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "__Host-sdata" {
			b := []byte(ck.Value)
			b[len(b)/2] ^= 1
			ck.Value = string(b)
		}
		cks = append(cks, ck)
	}
	c2 := newClient(srv)
	c2.Jar.SetCookies(u, cks)
	if got := get(t, c2, srv.URL+"/get?k=color"); got != "" {
		t.Errorf("tampered cookie read %q", got)
	}
}

func TestCopiedCookieSurvivesLogoutWithoutEpochs(t *testing.T) {
	// The documented limitation: a copy taken before logout still works.
	srv, c, _ := newApp(t, Options{})
	get(t, c, srv.URL+"/login")
	u, _ := url.Parse(srv.URL)
	thief := newClient(srv)
	thief.Jar.SetCookies(u, c.Jar.Cookies(u))
	get(t, c, srv.URL+"/logout")
	if got := get(t, c, srv.URL+"/get?k=user"); got != "" {
		t.Errorf("logged-out browser still sees %q", got)
	}
	if got := get(t, thief, srv.URL+"/get?k=user"); got != "alice" {
		t.Errorf("copied cookie gave %q; the limitation test expects the copy to still work", got)
	}
}

func TestEpochLogsOutOtherCookieSessions(t *testing.T) {
	srv, c, _ := newApp(t, Options{Epochs: NewMemoryEpochs()})
	get(t, c, srv.URL+"/login")
	other := newClient(srv)
	get(t, other, srv.URL+"/login")
	u, _ := url.Parse(srv.URL)
	thief := newClient(srv)
	thief.Jar.SetCookies(u, other.Jar.Cookies(u))

	get(t, c, srv.URL+"/logout-others")
	if got := get(t, c, srv.URL+"/get?k=user"); got != "alice" {
		t.Errorf("the current session was logged out too (user %q)", got)
	}
	for name, cl := range map[string]*http.Client{"other device": other, "copied cookie": thief} {
		if got := get(t, cl, srv.URL+"/get?k=user"); got != "" {
			t.Errorf("%s still logged in as %q after logout-others", name, got)
		}
	}
}

func TestTheStoreItselfHasNoRequest(t *testing.T) {
	s, _ := New(Options{Keys: testKeys(t)})
	ctx, key := context.Background(), storetest.NewKey()
	tests := []struct {
		name string
		call func(key string) error
	}{
		{"Load", func(key string) error { _, _, err := s.Load(ctx, key); return err }},
		{"Apply", func(key string) error {
			return s.Apply(ctx, key, store.Change{Create: true, Expires: time.Now().Add(time.Hour)})
		}},
		{"Delete", func(key string) error { return s.Delete(ctx, key) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(key); !errors.Is(err, ErrNoRequest) {
				t.Errorf("got %v, want ErrNoRequest", err)
			}
			if err := tt.call("not a key"); !errors.Is(err, store.ErrMalformedKey) {
				t.Errorf("got %v for a malformed key, want store.ErrMalformedKey", err)
			}
		})
	}
}

// TestNestedManagersFindTheirOwnRequestStore: two managers on two cookie
// stores serve one request, and the handler calls the outer manager with the
// inner one's request. The outer manager still finds its own request's store:
// "log out other devices" spares the current device's outer session.
func TestNestedManagersFindTheirOwnRequestStore(t *testing.T) {
	newManager := func(name string) *sesame.Manager {
		cs, err := New(Options{Keys: testKeys(t), Name: name + "-data", Epochs: NewMemoryEpochs()})
		if err != nil {
			t.Fatal(err)
		}
		m, err := sesame.New(sesame.Config{Store: cs, Cookie: sesame.CookieConfig{Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	outer, inner := newManager("outer"), newManager("inner")
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := outer.Session(r)
		s.Regenerate()
		s.SetUser("alice")
		s.Put("user", "alice")
		inner.Session(r).Put("theme", "dark")
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		user, _ := sesame.Get[string](outer.Session(r), "user")
		theme, _ := sesame.Get[string](inner.Session(r), "theme")
		io.WriteString(w, user+","+theme)
	})
	mux.HandleFunc("/logout-others", func(w http.ResponseWriter, r *http.Request) {
		if _, err := outer.LogoutOtherDevices(r); err != nil { // r is the inner manager's request
			http.Error(w, err.Error(), 500)
		}
	})
	srv := httptest.NewTLSServer(outer.Handler(inner.Handler(mux)))
	t.Cleanup(srv.Close)
	c := newClient(srv)
	get(t, c, srv.URL+"/login")
	if got := get(t, c, srv.URL+"/get"); got != "alice,dark" {
		t.Fatalf("got %q, want both sessions' values: alice,dark", got)
	}
	get(t, c, srv.URL+"/logout-others")
	if got := get(t, c, srv.URL+"/get"); got != "alice,dark" {
		t.Errorf("got %q after logging out the other devices, want this device still logged in: alice,dark", got)
	}
}

// binaryPayload returns the binary payload of a record under key.
func binaryPayload(key string, bound int64, rec store.Record) []byte {
	p := &payload{bound: bound, rec: flat.Encode(rec)}
	p.key, _ = decodeKey(key)
	return append(appendHeader(nil, p), p.rec...)
}

func FuzzDecode(f *testing.F) {
	rec := store.Record{Values: map[string][]byte{"n": []byte("41"), "name": []byte(`"gopher"`)},
		Created: time.Unix(1700000000, 0), Expires: time.Unix(1800000000, 0), UserID: "alice"}
	bin := binaryPayload(storetest.NewKey(), 1700000000e9, rec)
	f.Add([]byte{0, '{', '}'})
	f.Add([]byte{1, 0xff})
	f.Add(bin)
	f.Add(append([]byte{flagBinaryDeflate}, deflate(bin[1:])[1:]...))
	f.Add(legacyPayload(f, storetest.NewKey(), rec, false))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decode(b)
		if err != nil {
			return
		}
		// A payload that decodes reads without panicking, and encodes
		// back to one that decodes the same.
		got := p.rec.Record(false)
		again, err := decode(append(appendHeader(nil, p), p.rec...))
		if err != nil {
			t.Fatalf("re-encoded payload refused: %v", err)
		}
		if again.key != p.key || again.bound != p.bound || !maps.EqualFunc(again.rec.Record(true).Values, got.Values, bytes.Equal) {
			t.Fatal("re-encoded payload decodes differently")
		}
	})
}

// legacyPayload returns a payload as earlier versions wrote it: JSON, and
// deflated when deflated is true.
func legacyPayload(t testing.TB, key string, rec store.Record, deflated bool) []byte {
	body, err := json.Marshal(jsonPayload{Key: key, Created: rec.Created, LastSeen: rec.LastSeen, Expires: rec.Expires,
		UserID: rec.UserID, IP: rec.IP, UserAgent: rec.UserAgent, Values: rec.Values})
	if err != nil {
		t.Fatal(err)
	}
	if !deflated {
		return append([]byte{flagJSON}, body...)
	}
	var buf bytes.Buffer
	buf.WriteByte(flagJSONDeflate)
	zw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zw.Write(body)
	zw.Close()
	return buf.Bytes()
}

// Cookies written by earlier versions (JSON, plain or deflated) still open.
func TestLegacyPayloadsStillOpen(t *testing.T) {
	s := mustNew(t, Options{Keys: testKeys(t)})
	rec := store.Record{Values: map[string][]byte{"n": []byte("41"), "blob": bytes.Repeat([]byte("ab"), 300)},
		Created: time.Now().Add(-time.Minute), LastSeen: time.Now(), Expires: time.Now().Add(time.Hour),
		UserID: "alice", IP: "192.0.2.1", UserAgent: "test"}
	for _, deflated := range []bool{false, true} {
		key := storetest.NewKey()
		sealed, err := s.keys.Encrypt(s.name, legacyPayload(t, key, rec, deflated), rec.Expires)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		r.AddCookie(&http.Cookie{Name: s.name, Value: sealed})
		got, ok, err := s.ForRequest(httptest.NewRecorder(), r).Load(t.Context(), key)
		if err != nil || !ok {
			t.Fatalf("deflated %v: got %v, %v, want the record", deflated, ok, err)
		}
		if !maps.EqualFunc(got.Values, rec.Values, bytes.Equal) || got.UserID != "alice" || got.UserAgent != "test" ||
			!got.Expires.Equal(rec.Expires) || !got.Created.Equal(rec.Created) {
			t.Errorf("deflated %v: got %+v, want %+v", deflated, got, rec)
		}
	}
}

func TestDecodeRefusesMalformedPayloads(t *testing.T) {
	key := storetest.NewKey()
	bin := binaryPayload(key, 0, store.Record{Values: map[string][]byte{"a": []byte("1")}, Expires: time.Now().Add(time.Hour)})
	tests := []struct {
		name string
		b    []byte
	}{
		{"nothing", nil},
		{"an unknown flag", append([]byte{9}, bin[1:]...)},
		{"a header cut short", bin[:headerLen-1]},
		{"a corrupt deflate stream", []byte{flagBinaryDeflate, 0xff, 0x00}},
		{"JSON that is not an object", []byte{flagJSON, '[', ']'}},
		{"JSON with a malformed key", append([]byte{flagJSON}, `{"k":"NOTHEX"}`...)},
		{"a byte after the record", append(bytes.Clone(bin), 0)},
	}
	// Every truncation of a valid binary payload is refused: every length
	// is checked.
	for n := headerLen; n < len(bin); n++ {
		tests = append(tests, struct {
			name string
			b    []byte
		}{fmt.Sprintf("a payload cut at %d of %d bytes", n, len(bin)), bin[:n]})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decode(tt.b); err == nil {
				t.Error("decode accepted it")
			}
		})
	}
	if _, err := decode(bin); err != nil {
		t.Errorf("the valid payload: %v", err)
	}
}

// The data cookie of a small session is binary, not base64 inside JSON
// inside base64: the seed session of the benchmarks (two values) seals
// into under 200 bytes (364 with JSON).
func TestASmallSessionMakesASmallCookie(t *testing.T) {
	srv, c, _ := newApp(t, Options{})
	get(t, c, srv.URL+"/put?n=41&name=gopher")
	u, _ := url.Parse(srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "__Host-sdata" && len(ck.Value) > 200 {
			t.Errorf("got a %d-byte data cookie, want under 200", len(ck.Value))
		}
	}
}

func TestLocalWithoutEpochs(t *testing.T) {
	if !mustNew(t, Options{Keys: testKeys(t)}).Local() {
		t.Error("a store without epochs is not local")
	}
	if mustNew(t, Options{Keys: testKeys(t), Epochs: NewMemoryEpochs()}).Local() {
		t.Error("a store with epochs (maybe a database) is local")
	}
}

// A request without the data cookie costs no parsing and no allocation.
func TestARequestWithoutTheCookieCostsNothing(t *testing.T) {
	s := mustNew(t, Options{Keys: testKeys(t)})
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.Header.Set("Cookie", "__Host-sid=abc; theme=dark")
	rs := s.ForRequest(httptest.NewRecorder(), r)
	key := storetest.NewKey()
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok, err := rs.Load(context.Background(), key); ok || err != nil {
			t.Fatal(ok, err)
		}
	})
	if allocs != 0 {
		t.Errorf("got %v allocations per Load, want 0", allocs)
	}
}

func TestOldKeyCookieIsReissued(t *testing.T) {
	oldKey, _ := seal.GenerateKey()
	newKey, _ := seal.GenerateKey()
	oldRing, _ := seal.NewKeyring(oldKey)
	rotated, _ := seal.NewKeyring(newKey, oldKey)
	key := storetest.NewKey()
	b := &browser{s: mustNew(t, Options{Keys: oldRing}), jars: map[string][]*http.Cookie{}}
	if err := b.Apply(context.Background(), key, store.Change{Create: true, Set: map[string][]byte{"a": []byte("1")}, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	before := b.jars[key][0].Value
	b.s = mustNew(t, Options{Keys: rotated})
	rec, ok, err := b.Load(context.Background(), key)
	if err != nil || !ok || string(rec.Values["a"]) != "1" {
		t.Fatalf("old-key cookie did not load under the rotated keyring: %v %v", ok, err)
	}
	after := b.jars[key][0].Value
	if after == before {
		t.Fatal("old-key cookie was not re-issued")
	}
	if _, _, err := rotated.Decrypt(b.s.name, after); err != nil {
		t.Fatalf("re-issued cookie does not open: %v", err)
	}
	newOnly, _ := seal.NewKeyring(newKey)
	if _, info, err := newOnly.Decrypt(b.s.name, after); err != nil || info.Stale {
		t.Errorf("re-issued cookie is not sealed under the current key (err %v, stale %v)", err, info.Stale)
	}
}

func mustNew(t *testing.T, o Options) *Store {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
