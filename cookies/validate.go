package cookies

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Errors of [Validate], [Write] and the functions that call them. Each
// returned error wraps one of them and names the cookie.
var (
	// ErrInvalidName means the cookie's name is empty or not an HTTP token.
	ErrInvalidName = errors.New("cookies: invalid cookie name")

	// ErrInvalidValue means the cookie's value holds bytes outside the
	// RFC 6265 cookie-octet set, which net/http would silently drop or
	// quote. [Set] and the [Jar] encode values so that they never do.
	ErrInvalidValue = errors.New("cookies: invalid cookie value")

	// ErrTooLarge means the name and value together exceed [MaxSize] bytes,
	// or a chunked value needs more chunks than allowed.
	ErrTooLarge = errors.New("cookies: cookie too large")

	// ErrInvalidAttribute means an attribute is malformed (Domain, Path,
	// Expires, SameSite) or the attributes contradict each other or the
	// name's prefix: SameSite=None or Partitioned without Secure, "__Secure-"
	// without Secure, "__Host-" without Secure, with a Domain or with a Path
	// other than "/".
	ErrInvalidAttribute = errors.New("cookies: invalid cookie attribute")
)

// maxAttributeLen is the longest Domain or Path that browsers accept
// (RFC 6265bis).
const maxAttributeLen = 1024

// Validate reports whether c can be sent exactly as it is, and why not. It
// returns nil or an error wrapping [ErrInvalidName], [ErrInvalidValue],
// [ErrTooLarge] or [ErrInvalidAttribute] that names the cookie. It accepts a
// Max-Age or Expires beyond [MaxLifetime], which [Write] clamps.
//
// The name prefixes "__Host-" and "__Secure-" are matched without regard to
// case, as browsers do.
func Validate(c *http.Cookie) error {
	if c == nil {
		return fmt.Errorf("cookies: nil cookie: %w", ErrInvalidName)
	}
	if !isToken(c.Name) {
		return fmt.Errorf("cookies: cookie name %q is not an HTTP token: %w", c.Name, ErrInvalidName)
	}
	if size := len(c.Name) + len(c.Value); size > MaxSize {
		return fmt.Errorf("cookies: cookie %q is %d bytes (name and value), over the %d-byte limit: %w", c.Name, size, MaxSize, ErrTooLarge)
	}
	for i := 0; i < len(c.Value); i++ {
		if !isCookieOctet(c.Value[i]) {
			return fmt.Errorf("cookies: cookie %q: value byte %q at offset %d would be dropped or quoted by net/http (Set encodes it): %w", c.Name, c.Value[i], i, ErrInvalidValue)
		}
	}
	attr := func(problem string) error {
		return fmt.Errorf("cookies: cookie %q: %s: %w", c.Name, problem, ErrInvalidAttribute)
	}
	if len(c.Domain) > maxAttributeLen {
		return attr(fmt.Sprintf("Domain is %d bytes, over the %d-byte limit", len(c.Domain), maxAttributeLen))
	}
	if c.Domain != "" && (&http.Cookie{Name: "x", Domain: c.Domain}).Valid() != nil {
		return attr(fmt.Sprintf("Domain %q is not a domain name or IPv4 address", c.Domain))
	}
	if len(c.Path) > maxAttributeLen {
		return attr(fmt.Sprintf("Path is %d bytes, over the %d-byte limit", len(c.Path), maxAttributeLen))
	}
	if c.Path != "" {
		if c.Path[0] != '/' {
			return attr(fmt.Sprintf("Path %q does not start with \"/\"", c.Path))
		}
		for i := 0; i < len(c.Path); i++ {
			if b := c.Path[i]; b < 0x20 || b >= 0x7f || b == ';' {
				return attr(fmt.Sprintf("Path byte %q at offset %d is not allowed", b, i))
			}
		}
	}
	if !c.Expires.IsZero() && c.Expires.Year() < 1601 {
		return attr(fmt.Sprintf("Expires %v is before 1601", c.Expires))
	}
	if c.SameSite < 0 || c.SameSite > http.SameSiteNoneMode {
		return attr(fmt.Sprintf("unknown SameSite value %d", c.SameSite))
	}
	if c.SameSite == http.SameSiteNoneMode && !c.Secure {
		return attr("SameSite=None requires Secure")
	}
	if c.Partitioned && !c.Secure {
		return attr("Partitioned requires Secure")
	}
	switch {
	case hasPrefixFold(c.Name, "__Host-"):
		switch {
		case !c.Secure:
			return attr("the __Host- prefix requires Secure")
		case c.Domain != "":
			return attr("the __Host- prefix forbids a Domain")
		case c.Path != "/":
			return attr(fmt.Sprintf("the __Host- prefix requires Path \"/\", not %q", c.Path))
		}
	case hasPrefixFold(c.Name, "__Secure-"):
		if !c.Secure {
			return attr("the __Secure- prefix requires Secure")
		}
	}
	return nil
}

// Write validates c with [Validate] and adds its Set-Cookie header to w, with
// Max-Age and Expires clamped to [MaxLifetime]. On error nothing is written.
// c itself is not changed.
//
// Like every header, the Set-Cookie header is lost if the response's header
// was already written.
func Write(w http.ResponseWriter, c *http.Cookie) error {
	return write(w, c, time.Now())
}

func write(w http.ResponseWriter, c *http.Cookie, now time.Time) error {
	line, err := setCookieLine(c, now)
	if err != nil {
		return err
	}
	w.Header().Add("Set-Cookie", line)
	return nil
}

// setCookieLine validates c and returns its clamped Set-Cookie header value.
func setCookieLine(c *http.Cookie, now time.Time) (string, error) {
	if err := Validate(c); err != nil {
		return "", err
	}
	clamped := *c
	if limit := int(MaxLifetime / time.Second); clamped.MaxAge > limit {
		clamped.MaxAge = limit
	}
	if limit := now.Add(MaxLifetime); clamped.Expires.After(limit) {
		clamped.Expires = limit
	}
	line := clamped.String()
	if line == "" { // cannot happen after Validate; never write half a cookie
		return "", fmt.Errorf("cookies: cookie %q cannot be serialized: %w", c.Name, ErrInvalidAttribute)
	}
	return line, nil
}

// isToken reports whether s is a non-empty RFC 9110 token, which is what a
// cookie name must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// isCookieOctet reports whether b may appear in a cookie value unencoded
// (RFC 6265 section 4.1.1: visible ASCII except DQUOTE, comma, semicolon and
// backslash).
func isCookieOctet(b byte) bool {
	return 0x21 <= b && b <= 0x7e && b != '"' && b != ',' && b != ';' && b != '\\'
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
