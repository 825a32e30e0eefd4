package cookies_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sesamego/sesame/cookies"
)

// requestWith returns a request carrying the given Cookie header lines.
func requestWith(lines ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	for _, l := range lines {
		r.Header.Add("Cookie", l)
	}
	return r
}

// nextRequest plays the browser: it returns a request carrying the cookies
// that rec set (and did not delete), in the order they were set.
func nextRequest(rec *httptest.ResponseRecorder) *http.Request {
	var pairs []string
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge >= 0 {
			pairs = append(pairs, c.Name+"="+c.Value)
		}
	}
	return requestWith(strings.Join(pairs, "; "))
}

func TestSetGetRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		value    string
		wantWire string // the value as sent
	}{
		{"a safe value is sent as it is", "dark", "dark"},
		{"the empty value", "", ""},
		{"spaces are percent-encoded", "hello world", "hello%20world"},
		{"a percent sign is encoded", "50%", "50%25"},
		{"an existing escape is encoded, not kept", "%41", "%2541"},
		{"separators are encoded", `a;b,c"d\e`, "a%3Bb%2Cc%22d%5Ce"},
		{"control characters are encoded", "a\r\nb\x00", "a%0D%0Ab%00"},
		{"UTF-8 is encoded byte by byte", "café ☕", "caf%C3%A9%20%E2%98%95"},
		{"JSON is readable by JavaScript", `{"theme":"dark"}`, "{%22theme%22:%22dark%22}"},
		{"invalid UTF-8 survives", "\xff\xfe", "%FF%FE"},
		{"cookie octets are kept", "a=b&c+d/e?f:g@h", "a=b&c+d/e?f:g@h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := cookies.Set(rec, "c", tt.value, cookies.Options{}); err != nil {
				t.Fatal(err)
			}
			line := rec.Header().Get("Set-Cookie")
			if want := "c=" + tt.wantWire + "; Path=/; HttpOnly; Secure; SameSite=Lax"; line != want {
				t.Errorf("got Set-Cookie %q, want %q", line, want)
			}
			// JavaScript's decodeURIComponent agrees with Go's PathUnescape on
			// these escapes.
			if js, err := url.PathUnescape(tt.wantWire); err != nil || js != tt.value {
				t.Errorf("decodeURIComponent would read (%q, %v), want %q", js, err, tt.value)
			}
			got, ok := cookies.Get(nextRequest(rec), "c")
			if !ok || got != tt.value {
				t.Errorf("Get: got (%q, %v), want %q", got, ok, tt.value)
			}
		})
	}
}

func TestGet(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   string
		wantOK bool
	}{
		{"a missing cookie is not present", "other=1", "", false},
		{"no Cookie header is not present", "", "", false},
		{"an empty cookie is present", "c=", "", true},
		{"a value written by encodeURIComponent is decoded", "c=a%2Fb%20%E2%9C%93", "a/b ✓", true},
		{"lower-case escapes are decoded", "c=%c3%a9", "é", true},
		{"a plus stays a plus", "c=a+b", "a+b", true},
		{"a malformed escape is returned as it is", "c=100%", "100%", true},
		{"a truncated escape is returned as it is", "c=%4", "%4", true},
		{"a non-hex escape is returned as it is", "c=%zz", "%zz", true},
		{"the first of duplicates wins", "c=first; c=second", "first", true},
		{"a quoted value is unquoted", `c="dark"`, "dark", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *http.Request
			if tt.header == "" {
				r = requestWith()
			} else {
				r = requestWith(tt.header)
			}
			got, ok := cookies.Get(r, "c")
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("got (%q, %v), want (%q, %v)", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestSetRefusesWhatWriteRefuses(t *testing.T) {
	rec := httptest.NewRecorder()
	err := cookies.Set(rec, "__Host-theme", "dark", cookies.Options{Domain: "example.com"})
	if err == nil || len(rec.Header().Values("Set-Cookie")) != 0 {
		t.Errorf("got (%v, %q), want an error and nothing written", err, rec.Header().Values("Set-Cookie"))
	}
	// Encoding triples the size of some values; the limit applies to what
	// is sent.
	err = cookies.Set(rec, "c", strings.Repeat(" ", 1400), cookies.Options{})
	if err == nil || !strings.Contains(err.Error(), "4201 bytes") {
		t.Errorf("got %v, want a size error for 4201 encoded bytes", err)
	}
}

func TestClear(t *testing.T) {
	tests := []struct {
		name string
		o    cookies.Options
		want string
	}{
		{"the defaults", cookies.Options{},
			"theme=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Secure; SameSite=Lax"},
		{"the same Path and Domain as when set", cookies.Options{Path: "/app", Domain: "example.com", ScriptReadable: true},
			"theme=; Path=/app; Domain=example.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Secure; SameSite=Lax"},
		{"a MaxAge in the options is overridden", cookies.Options{MaxAge: 3600e9},
			"theme=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Secure; SameSite=Lax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := cookies.Clear(rec, "theme", tt.o); err != nil {
				t.Fatal(err)
			}
			if got := rec.Header().Get("Set-Cookie"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("the prefix rules apply", func(t *testing.T) {
		rec := httptest.NewRecorder()
		if err := cookies.Clear(rec, "__Host-id", cookies.Options{Path: "/app"}); err == nil {
			t.Error("got no error clearing a __Host- cookie with Path /app, want one")
		}
	})
}

func TestValues(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"no Cookie header gives nil", nil, nil},
		{"a missing name gives nil", []string{"a=1; b=2"}, nil},
		{"one value", []string{"a=1; c=x; b=2"}, []string{"x"}},
		{"duplicates in one header, in order", []string{"c=1; a=0; c=2; c=3"}, []string{"1", "2", "3"}},
		{"duplicates across HTTP/2-style header lines, in order", []string{"c=1", "a=0", "c=2", "c=3; c=4"}, []string{"1", "2", "3", "4"}},
		{"names are case-sensitive", []string{"C=1; c=2"}, []string{"2"}},
		{"values are not decoded", []string{"c=a%20b"}, []string{"a%20b"}},
		{"empty values count", []string{"c=; c=x"}, []string{"", "x"}},
		{"malformed pairs are skipped", []string{"c=a\x01b; c=ok; c=\"x; c=a\\b"}, []string{"ok"}},
		{"spaces inside a value are kept, as net/http reads them", []string{"c=a b"}, []string{"a b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cookies.Values(requestWith(tt.lines...), "c"); !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPlainCookiesOverHTTP makes real round trips through a client with a
// cookie jar, as a browser would.
func TestPlainCookiesOverHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		if err := cookies.Set(w, "theme", r.URL.Query().Get("v"), cookies.Options{ScriptReadable: true, MaxAge: 3600e9}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		v, ok := cookies.Get(r, "theme")
		if !ok {
			v = "<none>"
		}
		w.Write([]byte(v))
	})
	mux.HandleFunc("/clear", func(w http.ResponseWriter, r *http.Request) {
		if err := cookies.Clear(w, "theme", cookies.Options{ScriptReadable: true}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := srv.Client()
	client.Jar = jar

	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got status %d (%s)", path, resp.StatusCode, b)
		}
		return string(b)
	}
	get("/set?v=" + url.QueryEscape("dark; mode=50%"))
	if got := get("/get"); got != "dark; mode=50%" {
		t.Errorf("after set: got %q, want %q", got, "dark; mode=50%")
	}
	get("/clear")
	if got := get("/get"); got != "<none>" {
		t.Errorf("after clear: got %q, want the cookie gone", got)
	}
}

func FuzzValues(f *testing.F) {
	f.Add("c=1; c=2", "c")
	f.Add(`c="quoted"; d=%20`, "d")
	f.Add("c", "c")
	f.Add(";;=;c==;", "c")
	f.Fuzz(func(t *testing.T, header, name string) {
		r := requestWith(header)
		vs := cookies.Values(r, name)
		v, ok := cookies.Get(r, name)
		if ok != (len(vs) > 0) {
			t.Fatalf("Get says present=%v but Values found %d", ok, len(vs))
		}
		if ok && len(v) > len(vs[0]) {
			t.Fatalf("Get returned %q, longer than the raw value %q", v, vs[0])
		}
	})
}
