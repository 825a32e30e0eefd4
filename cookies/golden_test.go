package cookies

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestSetCookieGolden compares the Set-Cookie lines of typical uses with
// testdata/set-cookie.golden. Run `go test ./cookies -run Golden -update`
// after an intended change, and review the diff.
func TestSetCookieGolden(t *testing.T) {
	now := t0
	jar := testJar(testKeyring(t, 1), Options{MaxAge: 30 * Day}, &now)
	rotated := testJar(testKeyring(t, 2, 1), Options{MaxAge: 30 * Day}, &now)
	set := func(name, value string, o Options) func(w http.ResponseWriter) error {
		return func(w http.ResponseWriter) error { return write(w, o.Cookie(name, encodeValue(value)), now) }
	}
	cases := []struct {
		name string
		run  func(w http.ResponseWriter) error
	}{
		{"the secure defaults", set("id", "abc", Options{})},
		{"a theme preference readable by JavaScript for a year", set("theme", "dark", Options{ScriptReadable: true, MaxAge: Year})},
		{"a Max-Age of two years (clamped to 400 days)", set("theme", "dark", Options{ScriptReadable: true, MaxAge: 2 * Year})},
		{"a value that needs encoding", set("greeting", `héllo, "world"; 100%`, Options{})},
		{"strict, for a path and a domain", set("pref", "1", Options{SameSite: http.SameSiteStrictMode, Path: "/app", Domain: "example.com"})},
		{"a partitioned third-party cookie", set("__Host-embed", "1", Options{SameSite: http.SameSiteNoneMode, Partitioned: true})},
		{"local development over HTTP", set("dev", "1", Options{AllowInsecureHTTP: true})},
		{"an Expires in a week", set("promo", "spring", Options{Expires: t0.Add(7 * Day)})},
		{"an Expires in five years (clamped to 400 days)", set("promo", "far", Options{Expires: t0.AddDate(5, 0, 0)})},
		{"the browser's SameSite default", set("legacy", "1", Options{SameSite: http.SameSiteDefaultMode})},
		{"clearing a cookie", func(w http.ResponseWriter) error {
			return write(w, clearCookie("theme", Options{ScriptReadable: true}), now)
		}},
		{"a signed remember-me cookie", func(w http.ResponseWriter) error { return jar.SetSigned(w, "__Host-remember", "user:42") }},
		{"a jar clearing its cookie", jar.clearFunc("__Host-remember")},
		{"re-issuing an old-key value under the new key, 29 days left", func(w http.ResponseWriter) error {
			now = t0.Add(-Day)
			rec := httptest.NewRecorder()
			err := jar.SetSigned(rec, "__Host-remember", "user:42")
			now = t0
			if err != nil {
				return err
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.AddCookie(rec.Result().Cookies()[0])
			if _, ok := rotated.GetSigned(w, r, "__Host-remember"); !ok {
				return fmt.Errorf("old-key value did not open")
			}
			return nil
		}},
		{"a chunked value replacing a longer one", func(w http.ResponseWriter) error {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Cookie", "big=chunks-3; big.1=x; big.2=y; big.3=z")
			return SetChunked(w, r, "big", strings.Repeat("0123456789", 500), Options{}, 4)
		}},
	}

	var b strings.Builder
	for _, c := range cases {
		rec := httptest.NewRecorder()
		if err := c.run(rec); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fmt.Fprintf(&b, "# %s\n", c.name)
		for _, line := range rec.Header().Values("Set-Cookie") {
			fmt.Fprintf(&b, "Set-Cookie: %s\n", line)
		}
		b.WriteString("\n")
	}

	path := filepath.Join("testdata", "set-cookie.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s line %d:\ngot  %q\nwant %q\n(run with -update if the change is intended)", path, i+1, g, w)
			}
		}
	}
}

func (j *Jar) clearFunc(name string) func(w http.ResponseWriter) error {
	return func(w http.ResponseWriter) error { return j.Clear(w, name) }
}
