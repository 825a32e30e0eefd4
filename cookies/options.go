package cookies

import (
	"net/http"
	"time"
)

// MaxLifetime is the longest lifetime a browser gives a cookie (RFC 6265bis:
// 400 days). [Write] clamps Max-Age and Expires to it.
const MaxLifetime = 400 * Day

// MaxSize is the largest name plus value, in bytes, that browsers keep for one
// cookie. [Write] refuses larger cookies with [ErrTooLarge].
const MaxSize = 4096

// Options are the attributes of a cookie. The zero value is the secure
// default: a host-only, browser-session cookie for the whole site that is
// Secure, HttpOnly and SameSite=Lax.
type Options struct {
	// MaxAge is how long the browser keeps the cookie. Zero makes a
	// browser-session cookie (no Max-Age attribute), which the browser drops
	// when it closes. A positive age is rounded up to whole seconds and
	// clamped to MaxLifetime. A negative age asks the browser to delete the
	// cookie now ("Max-Age=0"); [Clear] does that for you.
	MaxAge time.Duration

	// Expires is the absolute expiry of the cookie. The zero time leaves it
	// out. When MaxAge is also set, browsers obey MaxAge. [Write] clamps it
	// to MaxLifetime from now.
	Expires time.Time

	// Domain lets subdomains of the given domain receive the cookie. The
	// empty string makes a host-only cookie, sent only to the host that set
	// it, which is safer. It must be empty for a "__Host-" cookie.
	Domain string

	// Path limits the cookie to a path prefix. The empty string means "/",
	// the whole site (not the browser's default of the request's directory).
	Path string

	// SameSite restricts cross-site sending. Zero means http.SameSiteLaxMode;
	// http.SameSiteDefaultMode leaves the attribute out. http.SameSiteNoneMode
	// requires Secure, so it cannot be combined with AllowInsecureHTTP.
	SameSite http.SameSite

	// Partitioned stores the cookie per top-level site (CHIPS), for
	// cookies set in third-party iframes. False leaves it out. It requires
	// Secure.
	Partitioned bool

	// AllowInsecureHTTP leaves out the Secure attribute so the cookie also
	// travels over plain HTTP, for local development. False (the default)
	// sends it over HTTPS only. Browsers treat http://localhost as secure, so
	// even local development rarely needs this.
	AllowInsecureHTTP bool

	// ScriptReadable leaves out the HttpOnly attribute so that JavaScript can
	// read the cookie through document.cookie. False (the default) hides it
	// from scripts, which keeps it out of reach of cross-site scripting.
	ScriptReadable bool
}

// Cookie returns the http.Cookie for name and value with these options
// applied. It does not validate or encode anything; [Write] validates, and
// [Set] encodes the value as well.
func (o Options) Cookie(name, value string) *http.Cookie {
	c := &http.Cookie{
		Name:        name,
		Value:       value,
		Path:        o.Path,
		Domain:      o.Domain,
		Expires:     o.Expires,
		MaxAge:      maxAgeSeconds(o.MaxAge),
		Secure:      !o.AllowInsecureHTTP,
		HttpOnly:    !o.ScriptReadable,
		SameSite:    o.SameSite,
		Partitioned: o.Partitioned,
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	return c
}

// maxAgeSeconds converts a MaxAge to the http.Cookie convention: 0 for none,
// -1 for "delete now", otherwise whole seconds rounded up and clamped.
func maxAgeSeconds(d time.Duration) int {
	switch {
	case d == 0:
		return 0
	case d < 0:
		return -1
	case d > MaxLifetime:
		d = MaxLifetime
	}
	return int((d + time.Second - 1) / time.Second)
}
