package cookies

import (
	"net/http"
	"time"
)

// Set writes a plain cookie: name=value with the attributes of o. Bytes of
// value that may not appear in a cookie (space, comma, semicolon, double
// quote, backslash, control characters, non-ASCII) and "%" itself are
// percent-encoded, so that JavaScript's decodeURIComponent and [Get] read the
// value back exactly; a value such as "dark" is written as it is. It returns
// the errors of [Write], and writes nothing on error.
//
// A plain cookie can be read and changed by the user: use a [Jar] for
// anything that must be trusted.
func Set(w http.ResponseWriter, name, value string, o Options) error {
	return Write(w, o.Cookie(name, encodeValue(value)))
}

// Get returns the value of the first cookie called name in r, decoded as [Set]
// encoded it, and whether there was one. A value that is not valid
// percent-encoding (set by other code) is returned as it is. When the request
// holds several cookies of that name (see [Values]), the first wins; browsers
// send the one with the longest Path first.
func Get(r *http.Request, name string) (string, bool) {
	c, err := r.Cookie(name)
	if err != nil {
		return "", false
	}
	if v, ok := decodeValue(c.Value); ok {
		return v, true
	}
	return c.Value, true
}

// Clear asks the browser to delete the cookie called name: it writes an empty
// value with "Max-Age=0" and an Expires in 1970. The Path and Domain of o must
// be those the cookie was set with, or the browser keeps it; the rules of
// [Validate] apply as for [Write].
func Clear(w http.ResponseWriter, name string, o Options) error {
	return Write(w, clearCookie(name, o))
}

func clearCookie(name string, o Options) *http.Cookie {
	c := o.Cookie(name, "")
	c.MaxAge = -1
	c.Expires = time.Unix(0, 0).UTC()
	return c
}

// Values returns the raw value of every cookie called name in r, in the order
// the client sent them, across all Cookie header lines (HTTP/2 clients may
// send one line per cookie). It returns nil when there is none. Values are as
// net/http parses them (surrounding double quotes removed, pairs with invalid
// bytes skipped) but not percent-decoded. Several values of one name arise when the cookie was set for
// several paths, or tossed by a sibling subdomain (Domain=.example.com) to
// shadow yours: never trust the first one blindly.
func Values(r *http.Request, name string) []string {
	cs := r.CookiesNamed(name)
	if len(cs) == 0 {
		return nil
	}
	vs := make([]string, len(cs))
	for i, c := range cs {
		vs[i] = c.Value
	}
	return vs
}

const upperHex = "0123456789ABCDEF"

// encodeValue percent-encodes the bytes of v that are not cookie octets, and
// "%". It returns v itself when nothing needs encoding.
func encodeValue(v string) string {
	n := 0
	for i := 0; i < len(v); i++ {
		if needsEncoding(v[i]) {
			n++
		}
	}
	if n == 0 {
		return v
	}
	b := make([]byte, 0, len(v)+2*n)
	for i := 0; i < len(v); i++ {
		if c := v[i]; needsEncoding(c) {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

func needsEncoding(b byte) bool { return b == '%' || !isCookieOctet(b) }

// decodeValue undoes encodeValue, and decodes any other %XX escape (as
// JavaScript's encodeURIComponent writes them). It returns false when v holds
// a "%" that does not start a valid escape.
func decodeValue(v string) (string, bool) {
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] == '%' {
			if i+2 >= len(v) || !isHex(v[i+1]) || !isHex(v[i+2]) {
				return "", false
			}
			n++
			i += 2
		}
	}
	if n == 0 {
		return v, true
	}
	b := make([]byte, 0, len(v)-2*n)
	for i := 0; i < len(v); i++ {
		if v[i] == '%' {
			b = append(b, unhex(v[i+1])<<4|unhex(v[i+2]))
			i += 2
		} else {
			b = append(b, v[i])
		}
	}
	return string(b), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}
