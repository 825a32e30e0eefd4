package cookies

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A Template writes the Set-Cookie lines of one cookie: a name and attributes
// validated once, by [Options.Template], with only the value and Max-Age
// changing from one write to the next. It is for cookies written on every
// response of a kind (a session ID, a sealed session): a write scans the
// value once and builds the line in one allocation, where [Set] validates
// the name and attributes again and [http.Cookie.String] scans the value
// three more times. The lines are byte for byte those of [Set] and
// [SetChunked]. A Template is safe for concurrent use.
type Template struct {
	name string
	opts Options // MaxAge zero
	// The attributes before Max-Age (Path, Domain) and after it
	// (HttpOnly, Secure, SameSite, Partitioned), as http.Cookie.String
	// writes them; fast is false when a write must take the general path
	// (an Expires, which is clamped to the time of each write).
	before, after string
	fast          bool
}

// Template validates a cookie called name with o's attributes (MaxAge
// aside: each write gives its own) and returns a Template that writes it. It
// returns the errors of [Validate] for such a cookie.
func (o Options) Template(name string) (*Template, error) {
	o.MaxAge = 0
	c := o.Cookie(name, "")
	if err := Validate(c); err != nil {
		return nil, err
	}
	t := &Template{name: name, opts: o, fast: o.Expires.IsZero()}
	var b strings.Builder
	b.WriteString("; Path=")
	b.WriteString(c.Path)
	if d := c.Domain; d != "" {
		b.WriteString("; Domain=")
		b.WriteString(strings.TrimPrefix(d, "."))
	}
	t.before = b.String()
	b.Reset()
	if c.HttpOnly {
		b.WriteString("; HttpOnly")
	}
	if c.Secure {
		b.WriteString("; Secure")
	}
	switch c.SameSite {
	case http.SameSiteNoneMode:
		b.WriteString("; SameSite=None")
	case http.SameSiteLaxMode:
		b.WriteString("; SameSite=Lax")
	case http.SameSiteStrictMode:
		b.WriteString("; SameSite=Strict")
	}
	if c.Partitioned {
		b.WriteString("; Partitioned")
	}
	t.after = b.String()
	return t, nil
}

// Name returns the cookie's name.
func (t *Template) Name() string { return t.name }

// Set is [Set] for the template's cookie, with the given MaxAge (see
// [Options.MaxAge]). It returns an error wrapping [ErrTooLarge] when the
// name and encoded value are over [MaxSize] bytes, and writes nothing then.
func (t *Template) Set(w http.ResponseWriter, value string, maxAge time.Duration) error {
	if !t.fast || !plainValue(value) || len(t.name)+len(value) > MaxSize {
		o := t.opts
		o.MaxAge = maxAge
		return Set(w, t.name, value, o)
	}
	t.add(w, value, maxAge)
	return nil
}

// SetChunked is [SetChunked] for the template's cookie, with the given
// MaxAge. A value that fits one cookie, on a request that carries no chunk
// of an earlier value, takes the template's fast path.
func (t *Template) SetChunked(w http.ResponseWriter, r *http.Request, value string, maxAge time.Duration, maxChunks int) error {
	if !t.fast || !plainValue(value) || len(t.name)+len(value) > MaxSize || maxChunks < 1 ||
		strings.HasPrefix(value, chunkMarker) || (r != nil && mayHaveChunks(r, t.name)) {
		o := t.opts
		o.MaxAge = maxAge
		return SetChunked(w, r, t.name, value, o, maxChunks)
	}
	t.add(w, value, maxAge)
	return nil
}

// add writes the line of a value that needs no encoding.
func (t *Template) add(w http.ResponseWriter, value string, maxAge time.Duration) {
	var b strings.Builder
	b.Grow(len(t.name) + 1 + len(value) + len(t.before) + len("; Max-Age=") + 10 + len(t.after))
	b.WriteString(t.name)
	b.WriteByte('=')
	b.WriteString(value)
	b.WriteString(t.before)
	switch ma := maxAgeSeconds(maxAge); {
	case ma > 0:
		b.WriteString("; Max-Age=")
		var buf [20]byte
		b.Write(strconv.AppendInt(buf[:0], int64(ma), 10))
	case ma < 0:
		b.WriteString("; Max-Age=0")
	}
	b.WriteString(t.after)
	h := w.Header()
	h["Set-Cookie"] = append(h["Set-Cookie"], b.String())
}

// plainOctet marks the bytes a value may hold to be written as it is: the
// cookie octets, except "%", which [Set] encodes.
var plainOctet = func() (t [256]bool) {
	for c := range t {
		t[c] = isCookieOctet(byte(c)) && c != '%'
	}
	return t
}()

// plainValue reports whether v needs no encoding.
func plainValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if !plainOctet[v[i]] {
			return false
		}
	}
	return true
}

// mayHaveChunks reports whether r's Cookie headers may hold a chunk of the
// cookie called name (name followed by a dot): a cheap scan that may say
// yes wrongly, never no wrongly.
func mayHaveChunks(r *http.Request, name string) bool {
	for _, line := range r.Header["Cookie"] {
		for i := 0; ; {
			j := strings.Index(line[i:], name)
			if j < 0 {
				break
			}
			i += j + len(name)
			if i < len(line) && line[i] == '.' {
				return true
			}
		}
	}
	return false
}
