package metrics

import (
	"log/slog"
	"net/http"
	"strings"
)

// Handler returns middleware that measures each request's Cookie header (see
// the package documentation, "Cookie sizes") and then calls next. A request
// without cookies costs one header lookup; single cookies are looked at only
// when the header is long enough to hold one over the limit. It is safe for
// concurrent use.
func (m *Metrics) Handler(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if lines := r.Header["Cookie"]; len(lines) > 0 {
			m.checkCookies(r, lines)
		}
		next.ServeHTTP(w, r)
	})
}

func (m *Metrics) checkCookies(r *http.Request, lines []string) {
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	size += 2 * (len(lines) - 1) // as if joined with "; ", as HTTP/2 does
	m.cookieBytes.Observe(float64(size))

	if m.headerLimit > 0 && size > m.headerLimit {
		m.cookieWarns.WithLabelValues("header").Inc()
		if ok, suppressed := m.warnHeader.allow(m.now(), m.warnEvery); ok {
			name, largest := largestCookie(lines)
			m.log().LogAttrs(r.Context(), slog.LevelWarn, "sesame: large Cookie header",
				slog.Int("bytes", size),
				slog.Int("limit", m.headerLimit),
				slog.String("path", r.URL.Path),
				slog.String("largest_cookie", name),
				slog.Int("largest_bytes", largest),
				slog.Int64("suppressed", suppressed))
		}
	}
	if m.cookieLimit > 0 && size >= m.cookieLimit {
		name, largest := largestCookie(lines)
		if largest >= m.cookieLimit {
			m.cookieWarns.WithLabelValues("cookie").Inc()
			if ok, suppressed := m.warnCookie.allow(m.now(), m.warnEvery); ok {
				m.log().LogAttrs(r.Context(), slog.LevelWarn, "sesame: cookie nears the 4096-byte limit",
					slog.String("cookie", name),
					slog.Int("bytes", largest),
					slog.Int("limit", m.cookieLimit),
					slog.String("path", r.URL.Path),
					slog.Int64("suppressed", suppressed))
			}
		}
	}
}

// maxNameLen bounds the cookie names that go to the log.
const maxNameLen = 64

// largestCookie returns the name of the longest cookie (name=value) in the
// Cookie header lines and its length. It never returns a value.
func largestCookie(lines []string) (name string, size int) {
	for _, l := range lines {
		for part := range strings.SplitSeq(l, ";") {
			part = strings.TrimSpace(part)
			if len(part) <= size {
				continue
			}
			n, _, _ := strings.Cut(part, "=")
			name, size = n, len(part)
		}
	}
	if len(name) > maxNameLen {
		name = name[:maxNameLen] + "…"
	}
	return name, size
}
