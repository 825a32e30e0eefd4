package cookies

import (
	"net/http"
	"strings"
)

// Has reports whether r carries a cookie called name, as net/http parses
// Cookie headers (a pair whose value holds bytes net/http refuses does not
// count), without allocating. Use it to skip the work of reading a cookie a
// request does not have.
func Has(r *http.Request, name string) bool {
	_, found, exact := first(r, name)
	if !exact {
		_, err := r.Cookie(name)
		return err == nil
	}
	return found
}

// maxScanned is the number of cookies beyond which net/http parses none
// (its default httpcookiemaxnum): first leaves such requests to it.
const maxScanned = 3000

// first returns the value of the first cookie called name in r's Cookie
// headers and whether there is one, parsing exactly as net/http's
// Request.Cookies does (pairs split on ";", white space trimmed, names that
// are not tokens and values with bytes outside its set skipped, surrounding
// double quotes removed), without allocating. exact is false when net/http
// might parse differently (a request with more cookies than it accepts), and
// the caller must ask net/http.
func first(r *http.Request, name string) (value string, found, exact bool) {
	if !isToken(name) {
		return "", false, true // net/http matches no such name
	}
	lines := r.Header["Cookie"]
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ";") + 1
	}
	if n > maxScanned {
		return "", false, false
	}
	for _, line := range lines {
		line = trimSpace(line)
		var part string
		for len(line) > 0 {
			part, line, _ = strings.Cut(line, ";")
			part = trimSpace(part)
			if part == "" {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			if trimSpace(k) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if validValue(v) {
				return v, true, true
			}
		}
	}
	return "", false, true
}

// trimSpace is textproto.TrimString: it trims ASCII white space.
func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// validValue reports whether net/http accepts v as a cookie value.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}
