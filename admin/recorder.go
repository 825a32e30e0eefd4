package admin

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesamego/sesame"
)

// Recorder keeps what the dashboard's overview shows about the last hour:
// how many sessions were created, regenerated, destroyed and expired each
// minute, the store's latency and errors, the latest anomalies and the
// latest cookie-size warnings. It learns them from the session manager's
// events: pass [Recorder.Observe] as [sesame.Config.OnEvent] (create the
// Recorder first, then the manager, then the dashboard), and wrap the app in
// [Recorder.Handler] to measure Cookie headers.
//
// It keeps a fixed amount of memory (sixty one-minute buckets and short
// lists of recent events), never a session ID or a value. Its methods are
// safe for concurrent use.
type Recorder struct {
	now func() time.Time

	mu        sync.Mutex
	minutes   [60]minute // by unix minute modulo 60
	anomalies ring[anomalyEvent]
	failures  ring[storeFailure]
	warnings  ring[cookieWarning]
	// touched is when each user last gained or lost a session (created,
	// regenerated, destroyed, expired), so that the dashboard knows when its
	// index of a store without a fast user lookup is out of date for a
	// user. It holds at most maxTouched users; past that it is emptied and
	// touchedAll says from when every user counts as touched.
	touched    map[string]time.Time
	touchedAll time.Time

	measured atomic.Bool // Handler has seen a request
}

// Sizes of the Recorder's lists.
const (
	keepAnomalies = 50
	keepFailures  = 20
	keepWarnings  = 50
	maxTouched    = 10000
)

// Cookie limits that produce a warning in [Recorder.Handler]: the same as
// the metrics package's defaults.
const (
	cookieHeaderLimit = 1024     // a Cookie header over this costs every request
	cookieLimit       = 3584     // one cookie this large nears the 4096-byte limit
	maxCookieName     = 64       // cookie names kept in a warning are cut to this
	maxFailureText    = 300      // store error messages are cut to this
	maxPathText       = 200      // request paths are cut to this
	opsKnown          = len(ops) // store operations with a slot of their own
)

// ops are the store operations sesame reports (sesame.Event.Op), in the
// order the overview lists them; anything else counts as "other".
var ops = [...]string{"load", "apply", "delete", "rename", "take", "lock", "unlock", "other"}

// minute holds the counts of one minute.
type minute struct {
	at                                       int64 // unix minute; a bucket of another minute is stale
	created, regenerated, destroyed, expired int
	anomalies, warnings                      int
	ops                                      [opsKnown]opStat
}

// opStat sums the calls of one store operation.
type opStat struct {
	n, errors int
	total     time.Duration
	max       time.Duration
}

func (s *opStat) add(o opStat) {
	s.n += o.n
	s.errors += o.errors
	s.total += o.total
	s.max = max(s.max, o.max)
}

// avg returns the mean duration, or zero.
func (s opStat) avg() time.Duration {
	if s.n == 0 {
		return 0
	}
	return s.total / time.Duration(s.n)
}

// anomalyEvent is one sesame.EventAnomaly.
type anomalyEvent struct {
	At     time.Time
	Hash   string // the 12-character prefix the event carries
	UserID string
	Reason string
	Path   string
}

// storeFailure is one failed store call.
type storeFailure struct {
	At    time.Time
	Op    string
	Error string
}

// cookieWarning is one request whose cookies were too large.
type cookieWarning struct {
	At     time.Time
	Kind   string // "header" or "cookie"
	Bytes  int
	Cookie string // the largest cookie's name, never its value
	Path   string
}

// ring keeps the last len(buf) items added.
type ring[T any] struct {
	buf  []T
	next int
	full bool
}

func newRing[T any](n int) ring[T] { return ring[T]{buf: make([]T, n)} }

func (r *ring[T]) add(v T) {
	r.buf[r.next] = v
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// newestFirst returns a copy of the items, the newest first.
func (r *ring[T]) newestFirst() []T {
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	out := make([]T, 0, n)
	for i := range n {
		out = append(out, r.buf[(r.next-1-i+len(r.buf))%len(r.buf)])
	}
	return out
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{
		now:       time.Now,
		anomalies: newRing[anomalyEvent](keepAnomalies),
		failures:  newRing[storeFailure](keepFailures),
		warnings:  newRing[cookieWarning](keepWarnings),
		touched:   map[string]time.Time{},
	}
}

// bucket returns the bucket of t, emptied if it held an older minute. r.mu
// is held.
func (r *Recorder) bucket(t time.Time) *minute {
	m := t.Unix() / 60
	b := &r.minutes[m%60]
	if b.at != m {
		*b = minute{at: m}
	}
	return b
}

// Observe records a session event. Its signature is that of
// [sesame.Config.OnEvent]; it takes a lock for a few counter updates, so it
// is fast enough for every request.
func (r *Recorder) Observe(_ context.Context, e sesame.Event) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.bucket(now)
	n := 1
	if e.Count > 0 {
		n = e.Count
	}
	switch e.Kind {
	case sesame.EventCreated:
		b.created++
		r.touch(e.UserID, now)
	case sesame.EventRegenerated:
		b.regenerated++
		r.touch(e.UserID, now)
	case sesame.EventDestroyed:
		b.destroyed += n
		r.touch(e.UserID, now)
	case sesame.EventExpired:
		b.expired++
		r.touch(e.UserID, now)
	case sesame.EventAnomaly:
		b.anomalies++
		r.anomalies.add(anomalyEvent{At: now, Hash: e.Hash, UserID: e.UserID, Reason: e.Reason, Path: cut(e.Path, maxPathText)})
	case sesame.EventStoreOp:
		i := opsKnown - 1
		for j, op := range ops[:opsKnown-1] {
			if op == e.Op {
				i = j
				break
			}
		}
		s := &b.ops[i]
		s.n++
		s.total += e.Duration
		s.max = max(s.max, e.Duration)
		if e.Err != nil {
			s.errors++
			r.failures.add(storeFailure{At: now, Op: e.Op, Error: cut(e.Err.Error(), maxFailureText)})
		}
	}
}

// touch records that user gained or lost a session at t. r.mu is held.
func (r *Recorder) touch(user string, t time.Time) {
	if user == "" {
		return
	}
	if _, ok := r.touched[user]; !ok && len(r.touched) >= maxTouched {
		clear(r.touched)
		r.touchedAll = t
	}
	r.touched[user] = t
}

// userChanged reports whether user gained or lost a session at or after
// since, as far as the recorder knows.
func (r *Recorder) userChanged(user string, since time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.touchedAll.Before(since) {
		return true
	}
	t, ok := r.touched[user]
	return ok && !t.Before(since)
}

// forgetBefore drops what touch recorded before t: the dashboard's index
// was rebuilt from a list started at t.
func (r *Recorder) forgetBefore(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for u, at := range r.touched {
		if at.Before(t) {
			delete(r.touched, u)
		}
	}
}

// revoked records sessions ended from the dashboard: they go around the
// manager, which then sends no event.
func (r *Recorder) revoked(user string, n int) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bucket(now).destroyed += n
	r.touch(user, now)
}

// touchUser records that user's sessions changed (logged out everywhere
// from the dashboard); the manager's event counts them.
func (r *Recorder) touchUser(user string) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.touch(user, now)
}

// Handler returns middleware that measures each request's Cookie header and
// records a warning when the header is over 1 KB (every request pays for it)
// or one cookie is 3.5 KB or more (browsers drop cookies over 4 KB). Only
// cookie names and sizes are kept, never values. It is safe for concurrent
// use. A nil Recorder measures nothing and returns next.
func (r *Recorder) Handler(next http.Handler) http.Handler {
	if r == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !r.measured.Load() {
			r.measured.Store(true)
		}
		if lines := req.Header["Cookie"]; len(lines) > 0 {
			r.checkCookies(req, lines)
		}
		next.ServeHTTP(w, req)
	})
}

func (r *Recorder) checkCookies(req *http.Request, lines []string) {
	size := 2 * (len(lines) - 1) // as if joined with "; "
	for _, l := range lines {
		size += len(l)
	}
	if size <= cookieHeaderLimit {
		return
	}
	name, largest := largestCookie(lines)
	w := cookieWarning{Kind: "header", Bytes: size, Cookie: name, Path: cut(req.URL.Path, maxPathText)}
	if largest >= cookieLimit {
		w.Kind, w.Bytes = "cookie", largest
	}
	now := r.now()
	w.At = now
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bucket(now).warnings++
	r.warnings.add(w)
}

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
	return cut(name, maxCookieName), size
}

// cut shortens s to at most n bytes, on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// history is a copy of what the Recorder holds, for one page.
type history struct {
	Minutes   []minute // the last 60 minutes, oldest first; empty minutes included
	Anomalies []anomalyEvent
	Failures  []storeFailure
	Warnings  []cookieWarning
	Measured  bool // Handler measures cookies
}

// history returns the last hour as of now.
func (r *Recorder) history(now time.Time) history {
	cur := now.Unix() / 60
	h := history{Minutes: make([]minute, 60), Measured: r.measured.Load()}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range 60 {
		m := cur - 59 + int64(i)
		b := r.minutes[m%60]
		if b.at != m {
			b = minute{at: m}
		}
		h.Minutes[i] = b
	}
	cutoff := now.Add(-time.Hour)
	h.Anomalies = recent(r.anomalies.newestFirst(), cutoff, func(a anomalyEvent) time.Time { return a.At })
	h.Failures = recent(r.failures.newestFirst(), cutoff, func(f storeFailure) time.Time { return f.At })
	h.Warnings = recent(r.warnings.newestFirst(), cutoff, func(w cookieWarning) time.Time { return w.At })
	return h
}

// recent keeps the items of the last hour (items are newest first).
func recent[T any](items []T, cutoff time.Time, at func(T) time.Time) []T {
	for i, it := range items {
		if at(it).Before(cutoff) {
			return items[:i]
		}
	}
	return items
}

// anomalyOf returns the latest anomaly of the session whose hash starts
// with prefix in the last hour, if any.
func (h *history) anomalyOf(hash string) (anomalyEvent, bool) {
	for _, a := range h.Anomalies {
		if a.Hash != "" && strings.HasPrefix(hash, a.Hash) {
			return a, true
		}
	}
	return anomalyEvent{}, false
}
