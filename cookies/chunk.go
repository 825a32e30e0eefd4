package cookies

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidChunks is returned by [GetChunked] when a chunked cookie is
// inconsistent: a malformed or out-of-range count, a missing or empty chunk,
// a chunk beyond the count, or an encoding error. Treat it like a missing
// cookie; it fails closed by design.
var ErrInvalidChunks = errors.New("cookies: invalid chunked cookie")

// chunkMarker starts the value of the head cookie of a chunked value; the
// count follows it.
const chunkMarker = "chunks-"

// chunkName returns the name of chunk i (1-based) of the cookie called name.
func chunkName(name string, i int) string { return name + "." + strconv.Itoa(i) }

// chunkIndex reports whether cookie is a chunk of name, and which: it must be
// name, a dot and a decimal number from 1 without leading zeros.
func chunkIndex(name, cookie string) (int, bool) {
	if len(cookie) < len(name)+2 || cookie[:len(name)] != name || cookie[len(name)] != '.' {
		return 0, false
	}
	digits := cookie[len(name)+1:]
	if len(digits) > 9 || digits[0] == '0' {
		return 0, false
	}
	i := 0
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	return i, true
}

// SetChunked writes value like [Set] when name and encoded value fit in one
// cookie ([MaxSize] bytes). Otherwise it splits the encoded value over the
// cookies name.1, name.2, ... name.N, each within MaxSize, and writes
// name=chunks-N to say how many there are. Every cookie gets the attributes
// of o. It also clears the chunk cookies of an earlier, longer value that r
// still carries (r may be nil to skip that).
//
// It returns an error wrapping [ErrTooLarge] if more than maxChunks chunks
// would be needed, the errors of [Write] otherwise, and writes nothing on
// error. Keep maxChunks small: browsers keep about 50 cookies per domain and
// servers often refuse Cookie headers over 8 KB.
func SetChunked(w http.ResponseWriter, r *http.Request, name, value string, o Options, maxChunks int) error {
	if maxChunks < 1 {
		return fmt.Errorf("cookies: cookie %q: maxChunks is %d, want at least 1", name, maxChunks)
	}
	if !isToken(name) {
		return Validate(&http.Cookie{Name: name})
	}
	enc := encodeValue(value)
	var cs []*http.Cookie
	n := 0
	// A single value that looks like a count is chunked anyway, so that a
	// head cookie's value is never ambiguous.
	if len(name)+len(enc) <= MaxSize && !strings.HasPrefix(enc, chunkMarker) {
		cs = append(cs, o.Cookie(name, enc))
	} else {
		per := MaxSize - len(chunkName(name, maxChunks))
		if per < 1 {
			return fmt.Errorf("cookies: cookie %q: name too long to chunk: %w", name, ErrTooLarge)
		}
		n = (len(enc) + per - 1) / per
		if n > maxChunks {
			return fmt.Errorf("cookies: cookie %q is %d bytes encoded, needing %d chunks, over the limit of %d: %w", name, len(enc), n, maxChunks, ErrTooLarge)
		}
		cs = append(cs, o.Cookie(name, chunkMarker+strconv.Itoa(n)))
		for i := 1; i <= n; i++ {
			cs = append(cs, o.Cookie(chunkName(name, i), enc[(i-1)*per:min(i*per, len(enc))]))
		}
	}
	if r != nil {
		cs = append(cs, staleChunks(r, name, n, o)...)
	}
	return writeAll(w, cs, time.Now())
}

// staleChunks returns cookies clearing every chunk of name beyond n in r.
func staleChunks(r *http.Request, name string, n int, o Options) []*http.Cookie {
	var cs []*http.Cookie
	seen := map[string]bool{}
	for _, c := range r.Cookies() {
		if i, ok := chunkIndex(name, c.Name); ok && i > n && !seen[c.Name] {
			seen[c.Name] = true
			cs = append(cs, clearCookie(c.Name, o))
		}
	}
	return cs
}

// writeAll validates every cookie before writing any.
func writeAll(w http.ResponseWriter, cs []*http.Cookie, now time.Time) error {
	lines := make([]string, len(cs))
	for i, c := range cs {
		line, err := setCookieLine(c, now)
		if err != nil {
			return err
		}
		lines[i] = line
	}
	for _, line := range lines {
		w.Header().Add("Set-Cookie", line)
	}
	return nil
}

// GetChunked returns the value written by [SetChunked], decoded. It returns an
// error wrapping [http.ErrNoCookie] when there is no cookie called name, and
// one wrapping [ErrInvalidChunks] when the count is malformed or above
// maxChunks, a chunk is missing or empty, a chunk beyond the count is present,
// or the value is not valid percent-encoding. Its work and memory are bounded
// by the request's cookies, whatever count the request claims.
//
// When a cookie name appears more than once, the first occurrence is used (as
// [Get] does); the value is meant to be sealed, so that a mix-up fails to
// open rather than being trusted. Chunk cookies left next to a single
// (unchunked) value are ignored.
func GetChunked(r *http.Request, name string, maxChunks int) (string, error) {
	if v, found, exact := first(r, name); exact {
		// The common cases without parsing every cookie: none, or one
		// value that is not chunked.
		switch {
		case !found:
			return "", fmt.Errorf("cookies: cookie %q: %w", name, http.ErrNoCookie)
		case !strings.HasPrefix(v, chunkMarker):
			s, ok := decodeValue(v)
			if !ok {
				return "", fmt.Errorf("cookies: cookie %q: malformed percent-encoding: %w", name, ErrInvalidChunks)
			}
			return s, nil
		}
	}
	cookies := r.Cookies()
	head := -1
	for i, c := range cookies {
		if c.Name == name {
			head = i
			break
		}
	}
	if head < 0 {
		return "", fmt.Errorf("cookies: cookie %q: %w", name, http.ErrNoCookie)
	}
	invalid := func(problem string) error {
		return fmt.Errorf("cookies: cookie %q: %s: %w", name, problem, ErrInvalidChunks)
	}
	v := cookies[head].Value
	if !strings.HasPrefix(v, chunkMarker) {
		s, ok := decodeValue(v)
		if !ok {
			return "", invalid("malformed percent-encoding")
		}
		return s, nil
	}

	count := v[len(chunkMarker):]
	n, ok := chunkIndex("", "."+count)
	switch {
	case !ok:
		return "", invalid(fmt.Sprintf("malformed chunk count %q", truncate(count, 12)))
	case n > maxChunks:
		return "", invalid(fmt.Sprintf("%d chunks, over the limit of %d", n, maxChunks))
	case n > len(cookies)-1:
		return "", invalid(fmt.Sprintf("%d chunks announced, but only %d other cookies present", n, len(cookies)-1))
	}
	parts := make([]string, n)
	for _, c := range cookies {
		i, ok := chunkIndex(name, c.Name)
		switch {
		case !ok:
			continue
		case i > n:
			return "", invalid(fmt.Sprintf("chunk %d present beyond the count of %d", i, n))
		case parts[i-1] == "":
			parts[i-1] = c.Value
		}
	}
	for i, p := range parts {
		if p == "" {
			return "", invalid(fmt.Sprintf("chunk %d of %d missing or empty", i+1, n))
		}
	}
	s, ok := decodeValue(strings.Join(parts, ""))
	if !ok {
		return "", invalid("malformed percent-encoding")
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// ClearChunked deletes the cookie called name and every chunk of it that r
// carries, with the Path and Domain of o (see [Clear]). It writes nothing on
// error.
func ClearChunked(w http.ResponseWriter, r *http.Request, name string, o Options) error {
	return writeAll(w, append([]*http.Cookie{clearCookie(name, o)}, staleChunks(r, name, 0, o)...), time.Now())
}
