package cookies_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/cookies"
)

// secure returns a valid cookie with the secure defaults, changed by edit.
func secure(name, value string, edit func(c *http.Cookie)) *http.Cookie {
	c := cookies.Options{}.Cookie(name, value)
	if edit != nil {
		edit(c)
	}
	return c
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", 1025)
	tests := []struct {
		name    string
		cookie  *http.Cookie
		wantErr error  // nil for valid
		wantMsg string // part of the message
	}{
		// Valid cookies.
		{"the secure defaults are valid", secure("id", "abc", nil), nil, ""},
		{"an empty value is valid", secure("id", "", nil), nil, ""},
		{"every cookie octet is a valid value", secure("id", cookieOctets(), nil), nil, ""},
		{"name and value of exactly 4096 bytes are valid", secure("id", strings.Repeat("v", 4094), nil), nil, ""},
		{"a __Host- cookie with Secure, Path / and no Domain is valid", secure("__Host-id", "v", nil), nil, ""},
		{"a __Secure- cookie with a Domain is valid", secure("__Secure-id", "v", func(c *http.Cookie) { c.Domain = "example.com" }), nil, ""},
		{"SameSite=None with Secure is valid", secure("id", "v", func(c *http.Cookie) { c.SameSite = http.SameSiteNoneMode }), nil, ""},
		{"Partitioned with Secure is valid", secure("id", "v", func(c *http.Cookie) { c.Partitioned = true }), nil, ""},
		{"a leading-dot Domain is valid", secure("id", "v", func(c *http.Cookie) { c.Domain = ".example.com" }), nil, ""},
		{"an IPv4 Domain is valid", secure("id", "v", func(c *http.Cookie) { c.Domain = "127.0.0.1" }), nil, ""},
		{"a Path of 1024 bytes is valid", secure("id", "v", func(c *http.Cookie) { c.Path = "/" + long[:1023] }), nil, ""},
		{"an empty Path is valid", secure("id", "v", func(c *http.Cookie) { c.Path = "" }), nil, ""},
		{"insecure Lax without prefix is valid", secure("id", "v", func(c *http.Cookie) { c.Secure = false }), nil, ""},
		{"a Max-Age over 400 days is valid (Write clamps it)", secure("id", "v", func(c *http.Cookie) { c.MaxAge = 1e9 }), nil, ""},

		// Names.
		{"a nil cookie is invalid", nil, cookies.ErrInvalidName, "nil cookie"},
		{"an empty name is invalid", secure("", "v", nil), cookies.ErrInvalidName, `cookie name ""`},
		{"a name with a space is invalid", secure("my id", "v", nil), cookies.ErrInvalidName, `"my id"`},
		{"a name with = is invalid", secure("a=b", "v", nil), cookies.ErrInvalidName, "not an HTTP token"},
		{"a name with a semicolon is invalid", secure("a;b", "v", nil), cookies.ErrInvalidName, "not an HTTP token"},
		{"a non-ASCII name is invalid", secure("café", "v", nil), cookies.ErrInvalidName, "not an HTTP token"},

		// Size.
		{"name and value of 4097 bytes are too large", secure("id", strings.Repeat("v", 4095), nil), cookies.ErrTooLarge, `cookie "id" is 4097 bytes`},
		{"a 5000-byte value is too large", secure("session", strings.Repeat("v", 5000), nil), cookies.ErrTooLarge, `cookie "session" is 5007 bytes (name and value), over the 4096-byte limit`},

		// Values net/http would change.
		{"a space in the value is refused", secure("id", "a b", nil), cookies.ErrInvalidValue, `value byte ' ' at offset 1`},
		{"a comma in the value is refused", secure("id", "a,b", nil), cookies.ErrInvalidValue, `','`},
		{"a double quote in the value is refused", secure("id", `a"b`, nil), cookies.ErrInvalidValue, `'"'`},
		{"a semicolon in the value is refused", secure("id", "a;b", nil), cookies.ErrInvalidValue, `';'`},
		{"a backslash in the value is refused", secure("id", `a\b`, nil), cookies.ErrInvalidValue, `'\\'`},
		{"a newline in the value is refused", secure("id", "a\nb", nil), cookies.ErrInvalidValue, `'\n'`},
		{"a DEL byte in the value is refused", secure("id", "a\x7fb", nil), cookies.ErrInvalidValue, `'\x7f'`},
		{"a non-ASCII value is refused", secure("id", "café", nil), cookies.ErrInvalidValue, "offset 3"},
		{"a quoted value with a space is refused", secure("id", "a b", func(c *http.Cookie) { c.Quoted = true }), cookies.ErrInvalidValue, "offset 1"},

		// Domain and Path.
		{"a Domain over 1024 bytes is refused", secure("id", "v", func(c *http.Cookie) { c.Domain = long + ".com" }), cookies.ErrInvalidAttribute, "Domain is 1029 bytes"},
		{"a Domain with a space is refused", secure("id", "v", func(c *http.Cookie) { c.Domain = "exa mple.com" }), cookies.ErrInvalidAttribute, `Domain "exa mple.com"`},
		{"a Domain with a semicolon is refused", secure("id", "v", func(c *http.Cookie) { c.Domain = "example.com;x" }), cookies.ErrInvalidAttribute, "Domain"},
		{"a Domain with a port is refused", secure("id", "v", func(c *http.Cookie) { c.Domain = "example.com:8080" }), cookies.ErrInvalidAttribute, "Domain"},
		{"an IPv6 Domain is refused", secure("id", "v", func(c *http.Cookie) { c.Domain = "::1" }), cookies.ErrInvalidAttribute, "Domain"},
		{"a Path over 1024 bytes is refused", secure("id", "v", func(c *http.Cookie) { c.Path = "/" + long }), cookies.ErrInvalidAttribute, "Path is 1026 bytes"},
		{"a Path with a semicolon is refused", secure("id", "v", func(c *http.Cookie) { c.Path = "/a;b" }), cookies.ErrInvalidAttribute, `Path byte ';' at offset 2`},
		{"a Path with a control byte is refused", secure("id", "v", func(c *http.Cookie) { c.Path = "/a\rb" }), cookies.ErrInvalidAttribute, `'\r'`},
		{"a Path with a non-ASCII byte is refused", secure("id", "v", func(c *http.Cookie) { c.Path = "/café" }), cookies.ErrInvalidAttribute, "Path byte"},
		{"a relative Path is refused", secure("id", "v", func(c *http.Cookie) { c.Path = "admin" }), cookies.ErrInvalidAttribute, `does not start with "/"`},

		// Other attributes.
		{"an Expires before 1601 is refused", secure("id", "v", func(c *http.Cookie) { c.Expires = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) }), cookies.ErrInvalidAttribute, "before 1601"},
		{"an unknown SameSite is refused", secure("id", "v", func(c *http.Cookie) { c.SameSite = 9 }), cookies.ErrInvalidAttribute, "unknown SameSite value 9"},
		{"SameSite=None without Secure is refused", secure("id", "v", func(c *http.Cookie) { c.SameSite, c.Secure = http.SameSiteNoneMode, false }), cookies.ErrInvalidAttribute, `cookie "id": SameSite=None requires Secure`},
		{"Partitioned without Secure is refused", secure("id", "v", func(c *http.Cookie) { c.Partitioned, c.Secure = true, false }), cookies.ErrInvalidAttribute, "Partitioned requires Secure"},

		// Prefixes.
		{"a __Host- cookie without Secure is refused", secure("__Host-id", "v", func(c *http.Cookie) { c.Secure = false }), cookies.ErrInvalidAttribute, "__Host- prefix requires Secure"},
		{"a __Host- cookie with a Domain is refused", secure("__Host-id", "v", func(c *http.Cookie) { c.Domain = "example.com" }), cookies.ErrInvalidAttribute, "__Host- prefix forbids a Domain"},
		{"a __Host- cookie with Path /app is refused", secure("__Host-id", "v", func(c *http.Cookie) { c.Path = "/app" }), cookies.ErrInvalidAttribute, `requires Path "/", not "/app"`},
		{"a __Host- cookie without a Path is refused", secure("__Host-id", "v", func(c *http.Cookie) { c.Path = "" }), cookies.ErrInvalidAttribute, `not ""`},
		{"a lower-case __host- cookie with a Domain is refused", secure("__host-id", "v", func(c *http.Cookie) { c.Domain = "example.com" }), cookies.ErrInvalidAttribute, "__Host- prefix"},
		{"an upper-case __HOST- cookie without Secure is refused", secure("__HOST-id", "v", func(c *http.Cookie) { c.Secure = false }), cookies.ErrInvalidAttribute, "__Host- prefix"},
		{"a __Secure- cookie without Secure is refused", secure("__Secure-id", "v", func(c *http.Cookie) { c.Secure = false }), cookies.ErrInvalidAttribute, "__Secure- prefix requires Secure"},
		{"a __secure- cookie without Secure is refused", secure("__secure-id", "v", func(c *http.Cookie) { c.Secure = false }), cookies.ErrInvalidAttribute, "__Secure- prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cookies.Validate(tt.cookie)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want an error wrapping %v", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "cookies: ") || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got message %q, want one starting with \"cookies: \" and containing %q", err, tt.wantMsg)
			}
			if tt.cookie != nil && tt.cookie.Name != "" && !strings.Contains(err.Error(), tt.cookie.Name) {
				t.Errorf("got message %q, want it to name the cookie %q", err, tt.cookie.Name)
			}

			// Write refuses the same cookie and writes nothing.
			rec := httptest.NewRecorder()
			if werr := cookies.Write(rec, tt.cookie); !errors.Is(werr, tt.wantErr) {
				t.Errorf("Write: got %v, want an error wrapping %v", werr, tt.wantErr)
			}
			if got := rec.Header().Values("Set-Cookie"); len(got) != 0 {
				t.Errorf("Write: got Set-Cookie %q after an error, want none", got)
			}
		})
	}
}

// cookieOctets returns every byte RFC 6265 allows in a cookie value.
func cookieOctets() string {
	var b []byte
	for c := byte(0x21); c < 0x7f; c++ {
		if c != '"' && c != ',' && c != ';' && c != '\\' {
			b = append(b, c)
		}
	}
	return string(b)
}

func TestWriteSendsExactlyWhatWasValidated(t *testing.T) {
	// What Write sends, net/http parses back unchanged: no byte dropped.
	c := secure("id", cookieOctets(), nil)
	rec := httptest.NewRecorder()
	if err := cookies.Write(rec, c); err != nil {
		t.Fatal(err)
	}
	got := rec.Result().Cookies()
	if len(got) != 1 || got[0].Value != cookieOctets() || got[0].Quoted {
		t.Errorf("got %+v, want the value %q unchanged and unquoted", got, cookieOctets())
	}
}

func TestWriteClampsMaxAge(t *testing.T) {
	c := secure("id", "v", func(c *http.Cookie) { c.MaxAge = 500 * 86400 })
	rec := httptest.NewRecorder()
	if err := cookies.Write(rec, c); err != nil {
		t.Fatal(err)
	}
	if got := rec.Header().Get("Set-Cookie"); !strings.Contains(got, "; Max-Age=34560000;") {
		t.Errorf("got %q, want Max-Age clamped to 34560000 (400 days)", got)
	}
	if c.MaxAge != 500*86400 {
		t.Errorf("got the caller's MaxAge changed to %d, want it untouched", c.MaxAge)
	}
}

func TestWriteClampsExpires(t *testing.T) {
	far := time.Now().AddDate(5, 0, 0)
	c := secure("id", "v", func(c *http.Cookie) { c.Expires = far })
	rec := httptest.NewRecorder()
	before := time.Now()
	if err := cookies.Write(rec, c); err != nil {
		t.Fatal(err)
	}
	got := rec.Result().Cookies()[0].Expires
	lo, hi := before.Add(cookies.MaxLifetime-time.Second), time.Now().Add(cookies.MaxLifetime)
	if got.Before(lo) || got.After(hi) {
		t.Errorf("got Expires %v, want about 400 days from now (%v)", got, hi)
	}
	if !c.Expires.Equal(far) {
		t.Errorf("got the caller's Expires changed to %v, want it untouched", c.Expires)
	}
}
