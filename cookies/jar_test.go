package cookies

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame/seal"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testKeyring(t testing.TB, ids ...byte) *seal.Keyring {
	t.Helper()
	secrets := make([][]byte, len(ids))
	for i, id := range ids {
		secrets[i] = bytes.Repeat([]byte{id}, 32)
	}
	kr, err := seal.NewKeyring(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// testJar returns a Jar whose clock reads *now.
func testJar(kr *seal.Keyring, o Options, now *time.Time) *Jar {
	j := NewJar(kr, o)
	j.now = func() time.Time { return *now }
	return j
}

// jarMode bundles a Jar's setter and getter for one sealing mode.
type jarMode struct {
	name string
	set  func(j *Jar, w http.ResponseWriter, name, value string) error
	get  func(j *Jar, w http.ResponseWriter, r *http.Request, name string) (string, bool)
}

var jarModes = []jarMode{
	{"signed", (*Jar).SetSigned, (*Jar).GetSigned},
	{"encrypted", (*Jar).SetEncrypted, (*Jar).GetEncrypted},
}

// cookieRequest returns a request with one Cookie header holding pairs.
func cookieRequest(pairs ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	if len(pairs) > 0 {
		r.Header.Set("Cookie", strings.Join(pairs, "; "))
	}
	return r
}

// setValue runs set and returns the one cookie it wrote.
func setValue(t *testing.T, set func(w http.ResponseWriter) error) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := set(rec); err != nil {
		t.Fatal(err)
	}
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("got %d cookies written, want 1", len(cs))
	}
	return cs[0]
}

func TestJarRoundTrip(t *testing.T) {
	now := t0
	j := testJar(testKeyring(t, 1), Options{MaxAge: time.Hour}, &now)
	values := []string{"", "42", "user:42|admin", "café ☕; a,b \"q\" \\", "\x00\xff binary", strings.Repeat("x", 2000)}
	for _, m := range jarModes {
		for _, v := range values {
			c := setValue(t, func(w http.ResponseWriter) error { return m.set(j, w, "__Host-c", v) })
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 3600 {
				t.Errorf("%s: got cookie %q, want the secure defaults and Max-Age=3600", m.name, c)
			}
			rec := httptest.NewRecorder()
			got, ok := m.get(j, rec, cookieRequest("__Host-c="+c.Value), "__Host-c")
			if !ok || got != v {
				t.Errorf("%s %.20q: got (%.20q, %v), want the value back", m.name, v, got, ok)
			}
			if n := len(rec.Header().Values("Set-Cookie")); n != 0 {
				t.Errorf("%s: got %d cookies re-issued for a current value, want none", m.name, n)
			}
		}
	}
}

func TestJarSignedIsReadableEncryptedIsNot(t *testing.T) {
	now := t0
	j := testJar(testKeyring(t, 1), Options{}, &now)
	s := setValue(t, func(w http.ResponseWriter) error { return j.SetSigned(w, "c", "user-42") })
	raw, _ := base64.RawURLEncoding.DecodeString(s.Value)
	if !bytes.Contains(raw, []byte("user-42")) {
		t.Errorf("signed: got %q, want the value readable", raw)
	}
	e := setValue(t, func(w http.ResponseWriter) error { return j.SetEncrypted(w, "c", "user-42") })
	raw, _ = base64.RawURLEncoding.DecodeString(e.Value)
	if bytes.Contains(raw, []byte("user")) {
		t.Errorf("encrypted: got %q, want the value hidden", raw)
	}
}

func TestJarRejects(t *testing.T) {
	now := t0
	kr := testKeyring(t, 1)
	j := testJar(kr, Options{MaxAge: time.Hour}, &now)
	foreign := testJar(testKeyring(t, 9), Options{MaxAge: time.Hour}, &now)
	for i, m := range jarModes {
		other := jarModes[1-i]
		good := setValue(t, func(w http.ResponseWriter) error { return m.set(j, w, "c", "user:42") }).Value
		otherName := setValue(t, func(w http.ResponseWriter) error { return m.set(j, w, "d", "user:42") }).Value
		otherKey := setValue(t, func(w http.ResponseWriter) error { return m.set(foreign, w, "c", "user:42") }).Value
		otherMode := setValue(t, func(w http.ResponseWriter) error { return other.set(j, w, "c", "user:42") }).Value
		flip := func(s string, i int) string {
			c := byte('A')
			if s[i] == 'A' {
				c = 'B'
			}
			return s[:i] + string(c) + s[i+1:]
		}
		tests := []struct {
			name  string
			value string
			now   time.Time
		}{
			{"a value with its first character changed", flip(good, 0), t0},
			{"a value with a middle character changed", flip(good, len(good)/2), t0},
			{"a value with its last character changed", flip(good, len(good)-1), t0},
			{"a truncated value", good[:len(good)-4], t0},
			{"an extended value", good + "AAAA", t0},
			{"a value sealed for another cookie name", otherName, t0},
			{"a value sealed with another keyring", otherKey, t0},
			{"a value of the other mode", otherMode, t0},
			{"the plain text", "user:42", t0},
			{"an empty value", "", t0},
			{"the value at its expiry", good, t0.Add(time.Hour)},
			{"the value a day after its expiry", good, t0.Add(24 * time.Hour)},
		}
		for _, tt := range tests {
			t.Run(m.name+" "+tt.name, func(t *testing.T) {
				now = tt.now
				defer func() { now = t0 }()
				rec := httptest.NewRecorder()
				r := cookieRequest("c=" + tt.value)
				if got, ok := m.get(j, rec, r, "c"); ok || got != "" {
					t.Errorf("got (%q, %v), want not present", got, ok)
				}
				getJSON := GetSignedJSON[string]
				if m.name == "encrypted" {
					getJSON = GetEncryptedJSON[string]
				}
				if got := getJSON(j, rec, r, "c", "default"); got != "default" {
					t.Errorf("JSON getter: got %q, want the default", got)
				}
				if n := len(rec.Header().Values("Set-Cookie")); n != 0 {
					t.Errorf("got %d cookies written, want none", n)
				}
			})
		}
	}
}

func TestJarSealExpiryFollowsTheCookie(t *testing.T) {
	now := t0
	kr := testKeyring(t, 1)
	tests := []struct {
		name string
		o    Options
		want time.Time // the seal's expiry; zero for none
	}{
		{"a session cookie has no expiry", Options{}, time.Time{}},
		{"MaxAge sets the expiry", Options{MaxAge: 2 * time.Hour}, t0.Add(2 * time.Hour)},
		{"a sub-second MaxAge rounds up like the cookie", Options{MaxAge: 1500 * time.Millisecond}, t0.Add(2 * time.Second)},
		{"MaxAge is clamped to 400 days", Options{MaxAge: 3 * Year}, t0.Add(MaxLifetime)},
		{"Expires sets the expiry", Options{Expires: t0.Add(48 * time.Hour)}, t0.Add(48 * time.Hour)},
		{"Expires is clamped to 400 days", Options{Expires: t0.AddDate(3, 0, 0)}, t0.Add(MaxLifetime)},
		{"MaxAge wins over Expires, as in browsers", Options{MaxAge: time.Hour, Expires: t0.Add(48 * time.Hour)}, t0.Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := testJar(kr, tt.o, &now)
			c := setValue(t, func(w http.ResponseWriter) error { return j.SetSigned(w, "c", "v") })
			_, info, err := kr.VerifyAt("c", c.Value, t0)
			if err != nil || !info.Expires.Equal(tt.want) {
				t.Errorf("got seal expiry (%v, %v), want %v", info.Expires, err, tt.want)
			}
		})
	}
}

func TestJarReissuesOldKeyValues(t *testing.T) {
	now := t0
	oldJar := testJar(testKeyring(t, 1), Options{MaxAge: 10 * time.Hour, Path: "/", Domain: "example.com"}, &now)
	rotated := testJar(testKeyring(t, 2, 1), oldJar.Options(), &now)
	newOnly := testJar(testKeyring(t, 2), oldJar.Options(), &now)

	for _, m := range jarModes {
		t.Run(m.name, func(t *testing.T) {
			now = t0
			oldValue := setValue(t, func(w http.ResponseWriter) error { return m.set(oldJar, w, "remember", "user:42") }).Value

			now = t0.Add(4 * time.Hour) // 6 hours left
			rec := httptest.NewRecorder()
			got, ok := m.get(rotated, rec, cookieRequest("remember="+oldValue), "remember")
			if !ok || got != "user:42" {
				t.Fatalf("got (%q, %v), want the old-key value to open", got, ok)
			}
			cs := rec.Result().Cookies()
			if len(cs) != 1 || cs[0].Name != "remember" {
				t.Fatalf("got %d cookies re-issued (%v), want 1", len(cs), cs)
			}
			re := cs[0]
			if re.MaxAge != 6*3600 || re.Domain != "example.com" || !re.Secure || !re.HttpOnly {
				t.Errorf("got %q, want the jar's attributes and the 6 hours left, not a fresh 10", re)
			}
			// The re-issued value opens once the old key is gone, and
			// expires when the original would have.
			if got, ok := m.get(newOnly, nil, cookieRequest("remember="+re.Value), "remember"); !ok || got != "user:42" {
				t.Errorf("re-issued value under the new key only: got (%q, %v), want it to open", got, ok)
			}
			now = t0.Add(10 * time.Hour)
			if _, ok := m.get(newOnly, nil, cookieRequest("remember="+re.Value), "remember"); ok {
				t.Error("re-issued value after the original expiry: got present, want expired")
			}
			now = t0.Add(4 * time.Hour)
			if _, ok := m.get(newOnly, nil, cookieRequest("remember="+oldValue), "remember"); ok {
				t.Error("old value once the old key is removed: got present, want not present")
			}
			// A nil writer opens without re-issuing.
			if got, ok := m.get(rotated, nil, cookieRequest("remember="+oldValue), "remember"); !ok || got != "user:42" {
				t.Errorf("nil writer: got (%q, %v), want the value", got, ok)
			}
		})
	}
}

func TestJarReissuesASessionCookieAsASessionCookie(t *testing.T) {
	now := t0
	oldJar := testJar(testKeyring(t, 1), Options{}, &now)
	rotated := testJar(testKeyring(t, 2, 1), Options{}, &now)
	v := setValue(t, func(w http.ResponseWriter) error { return oldJar.SetEncrypted(w, "c", "v") }).Value
	rec := httptest.NewRecorder()
	if _, ok := rotated.GetEncrypted(rec, cookieRequest("c="+v), "c"); !ok {
		t.Fatal("got not present, want the value")
	}
	line := rec.Header().Get("Set-Cookie")
	if line == "" || strings.Contains(line, "Max-Age") || strings.Contains(line, "Expires") {
		t.Errorf("got %q, want a re-issued cookie without Max-Age or Expires", line)
	}
}

func TestJarDuplicateNames(t *testing.T) {
	now := t0
	kr := testKeyring(t, 1)
	j := testJar(kr, Options{MaxAge: time.Hour}, &now)
	attacker := testJar(testKeyring(t, 66), Options{MaxAge: time.Hour}, &now)
	for _, m := range jarModes {
		value := func(j *Jar, name, v string) string {
			return setValue(t, func(w http.ResponseWriter) error { return m.set(j, w, name, v) }).Value
		}
		genuine := value(j, "c", "user:42")
		genuine2 := value(j, "c", "user:7")
		tossed := value(attacker, "c", "user:666")
		otherName := value(j, "other", "user:1")
		now = t0.Add(-2 * time.Hour)
		expired := value(j, "c", "user:old")
		now = t0

		tests := []struct {
			name    string
			pairs   []string
			want    string
			wantOK  bool
			headers int // how many Cookie header lines to spread the pairs over
		}{
			{"a tossed cookie before the genuine one does not shadow it", []string{"c=" + tossed, "c=" + genuine}, "user:42", true, 1},
			{"a tossed cookie after the genuine one is ignored", []string{"c=" + genuine, "c=" + tossed}, "user:42", true, 1},
			{"garbage before the genuine one is skipped", []string{"c=garbage", "c=", "c=" + genuine}, "user:42", true, 1},
			{"a value sealed for another name is skipped", []string{"c=" + otherName, "c=" + genuine}, "user:42", true, 1},
			{"an expired value is skipped", []string{"c=" + expired, "c=" + genuine}, "user:42", true, 1},
			{"of two genuine values, the first wins", []string{"c=" + genuine2, "c=" + genuine}, "user:7", true, 1},
			{"candidates across header lines are all tried", []string{"c=" + tossed, "x=1", "c=" + genuine}, "user:42", true, 3},
			{"only tossed values are not present", []string{"c=" + tossed, "c=" + expired}, "", false, 1},
		}
		for _, tt := range tests {
			t.Run(m.name+" "+tt.name, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				if tt.headers == 1 {
					r.Header.Set("Cookie", strings.Join(tt.pairs, "; "))
				} else {
					for _, p := range tt.pairs {
						r.Header.Add("Cookie", p)
					}
				}
				if got, ok := m.get(j, nil, r, "c"); got != tt.want || ok != tt.wantOK {
					t.Errorf("got (%q, %v), want (%q, %v)", got, ok, tt.want, tt.wantOK)
				}
			})
		}
	}
}

type prefs struct {
	Theme string `json:"theme"`
	Lang  string `json:"lang"`
}

func TestJarJSON(t *testing.T) {
	now := t0
	j := testJar(testKeyring(t, 1), Options{}, &now)
	def := prefs{Theme: "light", Lang: "en"}
	want := prefs{Theme: "dark", Lang: "fr"}

	s := setValue(t, func(w http.ResponseWriter) error { return j.SetSignedJSON(w, "prefs", want) })
	if got := GetSignedJSON(j, nil, cookieRequest("prefs="+s.Value), "prefs", def); got != want {
		t.Errorf("signed: got %+v, want %+v", got, want)
	}
	e := setValue(t, func(w http.ResponseWriter) error { return j.SetEncryptedJSON(w, "prefs", want) })
	if got := GetEncryptedJSON(j, nil, cookieRequest("prefs="+e.Value), "prefs", def); got != want {
		t.Errorf("encrypted: got %+v, want %+v", got, want)
	}

	if got := GetSignedJSON(j, nil, cookieRequest(), "prefs", def); got != def {
		t.Errorf("missing: got %+v, want the default", got)
	}
	n := setValue(t, func(w http.ResponseWriter) error { return j.SetSignedJSON(w, "prefs", 42) })
	if got := GetSignedJSON(j, nil, cookieRequest("prefs="+n.Value), "prefs", def); got != def {
		t.Errorf("a number where prefs are expected: got %+v, want the default", got)
	}
	if got := GetEncryptedJSON(j, nil, cookieRequest("prefs="+s.Value), "prefs", def); got != def {
		t.Errorf("a signed value read as encrypted: got %+v, want the default", got)
	}

	rec := httptest.NewRecorder()
	if err := j.SetSignedJSON(rec, "prefs", make(chan int)); err == nil || !strings.Contains(err.Error(), `cookies: cookie "prefs": encoding JSON`) {
		t.Errorf("unencodable: got %v, want an encoding error", err)
	}
	if err := j.SetEncryptedJSON(rec, "prefs", func() {}); err == nil {
		t.Error("unencodable: got no error, want one")
	}
	if n := len(rec.Header().Values("Set-Cookie")); n != 0 {
		t.Errorf("got %d cookies written after errors, want none", n)
	}
}

func TestJarSetErrors(t *testing.T) {
	now := t0
	j := testJar(testKeyring(t, 1), Options{}, &now)
	hostWithDomain := j.WithOptions(Options{Domain: "example.com"})
	for _, m := range jarModes {
		tests := []struct {
			name    string
			jar     *Jar
			cookie  string
			value   string
			wantErr error
		}{
			{"a value whose sealed form exceeds 4096 bytes", j, "c", strings.Repeat("x", 3100), ErrTooLarge},
			{"a value far beyond any cookie", j, "c", strings.Repeat("x", 100_000), ErrTooLarge},
			{"an invalid name", j, "a b", "v", ErrInvalidName},
			{"an empty name", j, "", "v", ErrInvalidName},
			{"a __Host- name with a Domain", hostWithDomain, "__Host-c", "v", ErrInvalidAttribute},
		}
		for _, tt := range tests {
			t.Run(m.name+" "+tt.name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				err := m.set(tt.jar, rec, tt.cookie, tt.value)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("got %v, want an error wrapping %v", err, tt.wantErr)
				}
				if n := len(rec.Header().Values("Set-Cookie")); n != 0 {
					t.Errorf("got %d cookies written, want none", n)
				}
			})
		}
	}
}

func TestJarClear(t *testing.T) {
	now := t0
	j := testJar(testKeyring(t, 1), Options{Path: "/app", MaxAge: time.Hour}, &now)
	rec := httptest.NewRecorder()
	if err := j.Clear(rec, "c"); err != nil {
		t.Fatal(err)
	}
	want := "c=; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
	if got := rec.Header().Get("Set-Cookie"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestJarWithOptions(t *testing.T) {
	now := t0
	j := testJar(testKeyring(t, 1), Options{}, &now)
	j2 := j.WithOptions(Options{ScriptReadable: true})
	if j.Options().ScriptReadable || !j2.Options().ScriptReadable {
		t.Errorf("got %+v and %+v, want only the copy changed", j.Options(), j2.Options())
	}
	c := setValue(t, func(w http.ResponseWriter) error { return j2.SetSigned(w, "c", "v") })
	if got, ok := j.GetSigned(nil, cookieRequest("c="+c.Value), "c"); !ok || got != "v" {
		t.Errorf("got (%q, %v), want the copy to share the keyring", got, ok)
	}
}

func TestNewJarPanicsWithoutKeys(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "nil keyring") {
			t.Errorf("got panic %v, want one about the nil keyring", r)
		}
	}()
	NewJar(nil, Options{})
}

// FuzzGetSigned checks that no Cookie header makes GetSigned panic, and that
// nothing but the seeded genuine values opens.
func FuzzGetSigned(f *testing.F) {
	now := t0
	var seeds []string
	for _, ids := range [][]byte{{1, 2}, {2}} {
		j := testJar(testKeyring(f, ids...), Options{MaxAge: time.Hour}, &now)
		rec := httptest.NewRecorder()
		if err := j.SetSigned(rec, "c", "user:42"); err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, rec.Result().Cookies()[0].Value)
	}
	fuzzJarGet(f, jarModes[0], seeds)
}

// FuzzGetEncrypted is FuzzGetSigned for encrypted cookies. Its seeds are
// constants, made like FuzzGetSigned's: encryption picks a random nonce, and
// every fuzzing worker must agree on which values are genuine.
func FuzzGetEncrypted(f *testing.F) {
	fuzzJarGet(f, jarModes[1], []string{
		"EgaIzvvQ8JDNBnhv4FFJuEQtLtKa5-4I1VAxw-x89ft6sP8U1Pe5kzYUok5SoAobBCbGDhItQGXT",
		"EonjGPzQ8JDNBrayW7IJMxW9P3as9_E9_J42JmsOELUGN9Qh2IGPFTGu8M4sV-tF3JZdzIKzKS19",
	})
}

func fuzzJarGet(f *testing.F, m jarMode, seeds []string) {
	now := t0
	j := testJar(testKeyring(f, 1, 2), Options{MaxAge: time.Hour}, &now)
	genuine := map[string]bool{}
	for _, v := range seeds {
		if got, ok := m.get(j, nil, cookieRequest("c="+v), "c"); !ok || got != "user:42" {
			f.Fatalf("seed %q: got (%q, %v), want user:42", v, got, ok)
		}
		genuine[v] = true
		f.Add("c=" + v)
		f.Add("c=x; c=" + v)
	}
	f.Add("c=")
	f.Add("c=" + strings.Repeat("A", 5000))
	f.Add(`c="quoted"; c=%00`)
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", header)
		rec := httptest.NewRecorder()
		got, ok := m.get(j, rec, r, "c")
		if !ok {
			if got != "" {
				t.Fatalf("got %q with ok=false", got)
			}
			return
		}
		if got != "user:42" {
			t.Fatalf("got %q from %q, want only the genuine value to open", got, header)
		}
		found := false
		for _, v := range Values(r, "c") {
			found = found || genuine[v]
		}
		if !found {
			t.Fatalf("got a value from %q, which holds no genuine cookie", header)
		}
	})
}

// TestJarRotationOverHTTP makes real round trips through a client with a
// cookie jar: cookies set under an old key survive a rotation and the later
// removal of that key, because reading them re-issues them.
func TestJarRotationOverHTTP(t *testing.T) {
	now := t0
	o := Options{MaxAge: time.Hour}
	var current atomic.Pointer[Jar]
	current.Store(testJar(testKeyring(t, 1), o, &now))

	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		j := current.Load()
		if err := j.SetSigned(w, "__Host-user", "42"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if err := j.SetEncrypted(w, "__Host-secret", "s3cr3t"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		j := current.Load()
		user, ok1 := j.GetSigned(w, r, "__Host-user")
		secret, ok2 := j.GetEncrypted(w, r, "__Host-secret")
		fmt.Fprintf(w, "%s %v %s %v", user, ok1, secret, ok2)
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got %d %q %v", path, resp.StatusCode, b, err)
		}
		return string(b)
	}

	get("/set")
	if got := get("/get"); got != "42 true s3cr3t true" {
		t.Fatalf("before rotation: got %q", got)
	}
	current.Store(testJar(testKeyring(t, 2, 1), o, &now)) // rotate
	if got := get("/get"); got != "42 true s3cr3t true" {
		t.Fatalf("after rotation: got %q, want the old-key cookies to open", got)
	}
	current.Store(testJar(testKeyring(t, 2), o, &now)) // retire the old key
	if got := get("/get"); got != "42 true s3cr3t true" {
		t.Errorf("after the old key is removed: got %q, want the re-issued cookies to open", got)
	}
	current.Store(testJar(testKeyring(t, 3), o, &now)) // a keyring that never saw them
	if got := get("/get"); got != " false  false" {
		t.Errorf("under unrelated keys: got %q, want nothing present", got)
	}
}
