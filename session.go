package sesame

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sesamego/sesame/store"
)

// Reserved keys. Keys that start with "__" belong to sesame and its
// subpackages; [Session.All] and [Session.Clear] leave them out.
const (
	reservedPrefix = "__"
	flashKey       = "__flash"
)

// A Session is one request's view of a session. Get it with [From] inside
// [Manager.Handler]. Its methods are safe for concurrent use by the
// goroutines of one request.
//
// A Session is lazy: it reads the store on the first call that needs data,
// not before, and a request that never calls it costs no store I/O. Changes
// are collected as a change set and committed once, before the response's
// first byte, atomically on top of whatever the store holds by then, so
// concurrent requests on one session never lose each other's writes.
type Session struct {
	m *Manager
	r *http.Request

	mu     sync.Mutex
	loaded bool
	err    error // load failure; nothing is committed when set
	encErr error // a value that could not be encoded

	id     string       // the session ID ("" until minted for a new session)
	key    string       // store.Key(id)
	stored bool         // a live record exists under key
	rec    store.Record // the loaded record's metadata (and values)
	values map[string][]byte
	shared bool // values is the store's map (store.SharedLoader): copy on write

	// The change set.
	clear bool
	set   map[string][]byte
	del   map[string]struct{}
	incr  map[string]int64
	// applied holds increments already committed but not folded into
	// values (raw adds them), so a commit costs no copy of the values.
	applied map[string]int64
	user    *userChange
	dirty   bool

	regenerate bool
	staleID    bool   // the request carried an ID that loads nothing
	destroyKey string // a record to delete at commit

	flashIn  *Flashes
	flashOut map[string]json.RawMessage

	anomaly   string
	committed bool
	commitErr error // the first commit's result, returned by later calls
}

type userChange struct{ id, ip, ua string }

// contextKey identifies one manager's session in a context. It is not
// zero-sized, so each new(contextKey) is a distinct pointer.
type contextKey struct{ _ byte }

// From returns the request's session. It panics when r did not pass through
// a [Manager.Handler], which is a programming error; with several managers,
// use [Manager.Session].
func From(r *http.Request) *Session {
	s := FromContext(r.Context())
	if s == nil {
		panic("sesame: From called on a request that did not pass through Manager.Handler")
	}
	return s
}

// FromContext returns the session stored in ctx by [Manager.Handler], or nil.
// With several managers it returns the innermost one's session.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(lastSessionKey{}).(*Session)
	return s
}

type lastSessionKey struct{}

// Session returns the session of this manager for r, or nil when r did not
// pass through m's Handler. Use it when one app runs several managers.
func (m *Manager) Session(r *http.Request) *Session {
	s, _ := r.Context().Value(m.ctxKey).(*Session)
	return s
}

// load reads the session from the store on first use. s.mu is held.
func (s *Session) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	m := s.m
	now := m.now()
	var buf [3]string
	ids := m.requestIDs(s.r, &buf)
	for _, id := range ids {
		key := store.Key(id)
		rec, ok, err := m.storeLoad(s.r.Context(), key, s.r.URL.Path)
		if err != nil {
			s.err = err
			s.values = map[string][]byte{}
			return
		}
		if !ok {
			continue
		}
		if reason := m.expiredReason(rec, now); reason != "" {
			m.emit(s.r.Context(), Event{Kind: EventExpired, Hash: shortHash(key), UserID: rec.UserID, Path: s.r.URL.Path, Reason: reason})
			continue
		}
		s.id, s.key, s.stored, s.rec = id, key, true, rec
		break
	}
	if !s.stored {
		s.staleID = len(ids) > 0 || m.requestHasCookie(s.r)
		if len(ids) > 0 {
			m.emit(s.r.Context(), Event{Kind: EventExpired, Hash: shortHash(store.Key(ids[0])), Path: s.r.URL.Path, Reason: "unknown"})
		}
		s.values = map[string][]byte{}
		return
	}
	s.values = s.rec.Values
	s.shared = m.shared != nil // the store's own map: copy before changing it
	if s.values == nil {
		s.values, s.shared = map[string][]byte{}, false
	}
	if raw, ok := s.values[flashKey]; ok {
		s.own()
		delete(s.values, flashKey)
		if t, ok := m.store.(store.Taker); ok {
			// Consume the flash atomically: of two racing requests only one
			// gets it.
			v, ok, err := m.storeTake(s.r.Context(), t, s.key, flashKey)
			if err != nil {
				s.err = err
				return
			}
			raw = nil
			if ok {
				raw = v
			}
		} else {
			s.deleteKey(flashKey)
		}
		s.flashIn = parseFlashes(raw)
	}
	s.checkAnomaly(now)
}

// requestIDs returns the well-formed session IDs the request carries, in
// order, at most three (a request with several cookies of one name is either
// a stale path cookie or cookie tossing: each candidate is tried, and an
// unknown ID is never adopted).
func (m *Manager) requestIDs(r *http.Request, buf *[3]string) []string {
	ids := buf[:0]
	add := func(v string) bool {
		if validID(v) && !slices.Contains(ids, v) {
			ids = append(ids, v)
		}
		return len(ids) < len(buf)
	}
	if m.tokenHeader != "" {
		for _, v := range r.Header.Values(m.tokenHeader) {
			if !add(v) {
				break
			}
		}
		return ids
	}
	eachCookie(r, m.cookieName, add)
	return ids
}

// eachCookie calls fn with the value of every cookie called name in r's
// Cookie header lines, in order, until fn returns false. It parses like
// net/http (pairs split on ";", spaces trimmed, surrounding quotes removed)
// without allocating; callers validate the values.
func eachCookie(r *http.Request, name string, fn func(string) bool) {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if !fn(v) {
				return
			}
		}
	}
}

func (m *Manager) requestHasCookie(r *http.Request) bool {
	if m.tokenHeader != "" {
		return r.Header.Get(m.tokenHeader) != ""
	}
	found := false
	eachCookie(r, m.cookieName, func(string) bool { found = true; return false })
	return found
}

func (m *Manager) expiredReason(rec store.Record, now time.Time) string {
	switch {
	case !rec.Expires.After(now):
		return "expired"
	case m.idle > 0 && !rec.LastSeen.Add(m.idle).After(now):
		return "idle"
	case !rec.Created.Add(m.lifetime).After(now):
		return "absolute"
	}
	return ""
}

// expiry returns when a session created at created and used at now expires:
// the idle deadline, capped by the absolute one.
func (m *Manager) expiry(created, now time.Time) time.Time {
	exp := created.Add(m.lifetime)
	if m.idle > 0 {
		if idle := now.Add(m.idle); idle.Before(exp) {
			exp = idle
		}
	}
	return exp
}

// ID returns the session ID, or "" for a new session that has not been
// stored yet. After [Session.Regenerate] it is the new ID. Treat it as a
// secret: it is the bearer credential of the session.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.id
}

// IsNew reports whether the request carried no live session.
func (s *Session) IsNew() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return !s.stored
}

// Err returns the error that prevented loading the session (wrapping
// [ErrStoreUnavailable]), or nil. When it is set the session behaves as empty
// and nothing is written back.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.err
}

// Put sets key to value. The value is encoded as JSON at once; a value that
// cannot be encoded (a channel, a func, a cyclic structure) is reported to the
// manager's error handler at commit and nothing of the request is stored.
func (s *Session) Put(key string, value any) {
	b, err := json.Marshal(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if err != nil {
		if s.encErr == nil {
			s.encErr = fmt.Errorf("%w: key %q: %w", ErrEncode, key, err)
		}
		return
	}
	s.putRaw(key, b)
}

// putRaw records key = b (JSON) in the view and the change set. s.mu is held.
func (s *Session) putRaw(key string, b []byte) {
	s.own()
	s.values[key] = b
	delete(s.applied, key)
	if s.set == nil {
		s.set = make(map[string][]byte)
	}
	s.set[key] = b
	delete(s.incr, key)
	s.dirty = true
}

// own makes s.values the session's own map before its first change, when it
// is still the store's (copy on write). s.mu is held.
func (s *Session) own() {
	if s.shared {
		s.values, s.shared = maps.Clone(s.values), false
	}
}

// deleteKey records the removal of key. s.mu is held.
func (s *Session) deleteKey(key string) {
	s.own()
	delete(s.values, key)
	delete(s.applied, key)
	delete(s.set, key)
	delete(s.incr, key)
	if s.del == nil {
		s.del = make(map[string]struct{})
	}
	s.del[key] = struct{}{}
	s.dirty = true
}

// raw returns the JSON encoding of key's value. s.mu is held.
func (s *Session) raw(key string) ([]byte, bool) {
	s.load()
	b, ok := s.values[key]
	d, pending := s.incr[key]
	a, applied := s.applied[key]
	if pending || applied {
		if n, err := store.AddInt(b, d+a); err == nil {
			return appendInt(nil, n), true
		}
	}
	return b, ok
}

// Get returns the value of key decoded from JSON into a Go value (bool,
// string, int64 for integers, float64 for other numbers, []any,
// map[string]any), or nil when the key is missing. Use [Get] to decode into
// your own type.
func (s *Session) Get(key string) any {
	s.mu.Lock()
	b, ok := s.raw(key)
	s.mu.Unlock()
	if !ok {
		return nil
	}
	v, err := decodeAny(b)
	if err != nil {
		return nil
	}
	return v
}

// Has reports whether key has a value.
func (s *Session) Has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.raw(key)
	return ok
}

// Forget removes the keys.
func (s *Session) Forget(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	for _, k := range keys {
		s.deleteKey(k)
	}
}

// Pull returns the value of key, like [Session.Get], and removes it.
func (s *Session) Pull(key string) any {
	v := s.Get(key)
	s.Forget(key)
	return v
}

// Increment adds by to the integer under key (a missing key counts as 0) and
// returns the value this request now sees. The store applies the addition
// atomically at commit, so two concurrent requests that each add 1 add 2. It
// returns an error wrapping [ErrNotNumber] when the value is not an integer.
func (s *Session) Increment(key string, by int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	cur, _ := s.raw(key) // includes this request's earlier increments
	n, err := store.AddInt(cur, by)
	if err != nil {
		return 0, fmt.Errorf("%w: key %q", ErrNotNumber, key)
	}
	if _, isSet := s.set[key]; isSet {
		// Put earlier in this request: the new value replaces it.
		s.putRaw(key, appendInt(nil, n))
		return n, nil
	}
	// Pending increments stay out of s.values (raw adds them), so a
	// counter costs no copy of the loaded values.
	if s.incr == nil {
		s.incr = make(map[string]int64, 1)
	}
	s.incr[key] = s.incr[key] + by // cannot overflow: cur + by did not
	s.dirty = true
	return n, nil
}

// Decrement subtracts by from the integer under key; see [Session.Increment].
func (s *Session) Decrement(key string, by int64) (int64, error) {
	return s.Increment(key, -by)
}

// All returns a copy of every value, decoded as by [Session.Get]. Keys
// reserved by sesame (starting with "__") are left out.
func (s *Session) All() map[string]any {
	s.mu.Lock()
	raw := maps.Clone(s.valuesLocked())
	s.mu.Unlock()
	out := make(map[string]any, len(raw))
	for k, b := range raw {
		if strings.HasPrefix(k, reservedPrefix) {
			continue
		}
		if v, err := decodeAny(b); err == nil {
			out[k] = v
		}
	}
	return out
}

// Keys returns the session's keys, sorted, without reserved ones.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.valuesLocked() {
		if !strings.HasPrefix(k, reservedPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Size returns the encoded size in bytes of the session's keys and values.
func (s *Session) Size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return store.Size(s.valuesLocked())
}

func (s *Session) valuesLocked() map[string][]byte {
	s.load()
	if len(s.incr) == 0 && len(s.applied) == 0 {
		return s.values
	}
	view := maps.Clone(s.values)
	for k := range s.incr {
		view[k], _ = s.raw(k)
	}
	for k := range s.applied {
		view[k], _ = s.raw(k)
	}
	return view
}

// Clear removes every value (keys reserved by sesame, such as the CSRF token,
// are kept). The session itself, its ID and its user stay.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	kept := map[string][]byte{}
	for k, v := range s.values {
		if strings.HasPrefix(k, reservedPrefix) {
			kept[k] = v
		}
	}
	s.values, s.shared, s.applied = map[string][]byte{}, false, nil
	s.clear = true
	s.set, s.del, s.incr = nil, nil, nil
	s.dirty = true
	for k, v := range kept {
		s.putRaw(k, v)
	}
}

// SetUser ties the session to a user: stores with a user index can then
// list the user's sessions and log out the others ([Manager.UserSessions]).
// It also records the client's IP address and user agent, for the devices
// list and anomaly detection. Call it at login, after [Session.Regenerate]. An
// empty id detaches the session from its user (logout without destroy).
func (s *Session) SetUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	uc := &userChange{id: id}
	if id != "" {
		uc.ip = s.m.anomaly.clientIP(s.r)
		uc.ua = truncate(s.r.UserAgent(), 512)
	}
	s.user = uc
	s.dirty = true
}

// UserID returns the session's user set by [Session.SetUser], or "".
func (s *Session) UserID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.user != nil {
		return s.user.id
	}
	return s.rec.UserID
}

// CreatedAt returns when the session was first stored (zero for a new one).
func (s *Session) CreatedAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.rec.Created
}

// Regenerate gives the session a new ID and keeps its data; the old ID can no
// longer load anything by the time the response is sent. Call it whenever the
// privilege level changes (login, logout, password change) to defeat session
// fixation. It takes effect at commit, together with the request's other
// changes, and returns the load error if the store failed.
func (s *Session) Regenerate() error {
	s.mu.Lock()
	s.load()
	if s.err != nil {
		s.mu.Unlock()
		return s.err
	}
	s.regenerate = true
	s.dirty = true
	// The new ID is chosen now so that the handler (and OnRegenerate hooks)
	// see it; it reaches the store and the cookie at commit.
	if s.stored && s.destroyKey == "" {
		s.destroyKey = s.key
	}
	s.id, s.key = newID(), ""
	s.key = store.Key(s.id)
	hooks := s.m.onRegenerate
	s.mu.Unlock()
	for _, fn := range hooks {
		fn(s)
	}
	return nil
}

// Destroy deletes the session: its record is removed from the store and the
// cookie is cleared when the response is sent. The Session can still be
// used: anything put afterwards (a "logged out" flash, say) starts a new
// session with a new ID. It returns the load error if the store failed.
func (s *Session) Destroy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.err != nil {
		return s.err
	}
	s.destroyLocked()
	return nil
}

// destroyLocked forgets the session and schedules its record's deletion.
// s.mu is held.
func (s *Session) destroyLocked() {
	if s.stored && s.destroyKey == "" {
		s.destroyKey = s.key
	}
	s.stored, s.id, s.key = false, "", ""
	s.rec = store.Record{}
	s.values, s.shared, s.applied = map[string][]byte{}, false, nil
	s.clear, s.set, s.del, s.incr, s.user = false, nil, nil, nil, nil
	s.regenerate = false
	s.flashOut = nil
	s.staleID = true
	s.dirty = true
}

// hasData reports whether the session holds anything worth storing. s.mu is
// held.
func (s *Session) hasData() bool {
	return len(s.values) > 0 || len(s.incr) > 0 || len(s.flashOut) > 0 || (s.user != nil && s.user.id != "")
}

// commit writes the change set to the store and the cookie to w's header.
// It runs once, before the response's first byte. s.mu must not be held.
func (s *Session) commit(w http.ResponseWriter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return s.commitErr
	}
	s.committed = true
	s.commitErr = s.commitLocked(w)
	if s.commitErr == nil {
		s.resetChange()
	}
	return s.commitErr
}

// errLateChange is reported when a session changed after the response began
// in a way that needs a new cookie, which can no longer be sent.
var errLateChange = errors.New("sesame: the change needs a new session cookie, which can no longer be sent; change the session before writing the response")

// lateCommit commits what changed after commit ran (a handler that wrote its
// response, then put a value). A stored session's change set is applied as
// usual; a change that needs a new cookie (a new session, Regenerate,
// Destroy) cannot be, and is reported.
func (s *Session) lateCommit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.committed || s.commitErr != nil || !s.dirty {
		return nil
	}
	if !s.stored || s.regenerate || s.destroyKey != "" {
		return errLateChange
	}
	err := s.commitLocked(headerSink{})
	if err == nil {
		s.resetChange()
	}
	return err
}

// headerSink is a ResponseWriter for a commit after the response began:
// whatever headers it gets are dropped.
type headerSink struct{}

func (headerSink) Header() http.Header         { return http.Header{} }
func (headerSink) Write(b []byte) (int, error) { return len(b), nil }
func (headerSink) WriteHeader(int)             {}

// resetChange empties the change set after a successful commit, folding
// what was committed into the loaded record. s.mu is held.
func (s *Session) resetChange() {
	// Committed increments stay beside the values (raw adds them), so
	// that a commit costs no copy of the loaded values either.
	if s.applied == nil {
		s.applied = s.incr
	} else {
		for k, d := range s.incr {
			s.applied[k] += d
		}
	}
	if s.user != nil {
		s.rec.UserID, s.rec.IP, s.rec.UserAgent = s.user.id, s.user.ip, s.user.ua
	}
	if s.loaded && s.dirty {
		s.rec.LastSeen = s.m.now()
	}
	s.clear, s.set, s.del, s.incr, s.user = false, nil, nil, nil, nil
	s.flashOut, s.dirty, s.regenerate, s.destroyKey = nil, false, false, ""
}

// commitLocked does the work of commit. s.mu is held.
func (s *Session) commitLocked(w http.ResponseWriter) error {
	if !s.loaded {
		return nil // untouched: no store I/O, no cookie
	}
	if s.err != nil {
		return s.err
	}
	if s.encErr != nil {
		return s.encErr
	}
	if s.flashOut != nil {
		b, err := json.Marshal(s.flashOut)
		if err != nil {
			return fmt.Errorf("%w: flash: %w", ErrEncode, err)
		}
		s.putRaw(flashKey, b)
	}
	m := s.m
	now := m.now()
	if len(s.applied) > 0 && (!s.stored || s.regenerate) {
		// A create writes the values whole: fold in what was committed.
		for k := range s.applied {
			v, _ := s.raw(k)
			s.own()
			s.values[k] = v
		}
		s.applied = nil
	}
	// The common cases need no store call: a read of a session whose touch
	// is not due, a request that only looked at an empty new session.
	if s.destroyKey == "" && !s.regenerate {
		if s.stored && !s.dirty && now.Sub(s.rec.LastSeen) < m.touchAfter {
			return nil
		}
		if !s.stored && !s.hasData() {
			if s.staleID {
				return m.clearCookie(w)
			}
			return nil
		}
	}
	ctx, cancel := m.commitContext(s.r.Context())
	defer cancel()
	path := s.r.URL.Path

	// A destroyed (or regenerated) session's old record goes first.
	if s.destroyKey != "" && !(s.regenerate && s.stored) {
		if err := m.storeDelete(ctx, s.destroyKey, path); err != nil {
			return err
		}
		kind := EventDestroyed
		if s.regenerate {
			kind = EventRegenerated
		}
		m.emit(ctx, Event{Kind: kind, Hash: shortHash(s.destroyKey), UserID: s.rec.UserID, Path: path})
	}

	switch {
	case s.regenerate && s.stored:
		return s.commitRegenerate(ctx, w, now)
	case !s.stored:
		if !s.hasData() {
			if s.staleID {
				return m.clearCookie(w)
			}
			return nil
		}
		if s.id == "" {
			s.id = newID()
			s.key = store.Key(s.id)
		}
		created := now
		c := store.Change{
			Create:  true,
			Set:     maps.Clone(s.values),
			Incr:    s.incr,
			Now:     now,
			Created: created,
			Expires: m.expiry(created, now),
		}
		s.applyUser(&c)
		if err := m.storeApply(ctx, s.key, c, path); err != nil {
			return err
		}
		s.stored = true
		s.rec.Created = created
		e := Event{Kind: EventCreated, Hash: shortHash(s.key), UserID: c.UserID, Path: path}
		if m.onEvent != nil {
			e.Size = store.Size(c.Set)
		}
		m.emit(ctx, e)
		return m.writeID(w, s.id, created, now)
	case s.dirty:
		c := s.change()
		c.Now = now
		c.Expires = m.expiry(s.rec.Created, now)
		err := m.storeApply(ctx, s.key, c, path)
		if errors.Is(err, store.ErrNotFound) {
			// Destroyed or regenerated by a concurrent request: drop the
			// change rather than resurrect the session.
			m.emit(ctx, Event{Kind: EventLost, Hash: shortHash(s.key), UserID: s.rec.UserID, Path: path})
			return m.clearCookie(w)
		}
		return err
	case now.Sub(s.rec.LastSeen) >= m.touchAfter:
		c := store.Change{Now: now, Expires: m.expiry(s.rec.Created, now)}
		err := m.storeApply(ctx, s.key, c, path)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// commitRegenerate moves a stored session to its new ID. s.mu is held.
func (s *Session) commitRegenerate(ctx context.Context, w http.ResponseWriter, now time.Time) error {
	m := s.m
	path := s.r.URL.Path
	oldKey := s.destroyKey
	var err error
	if rn, ok := m.store.(store.Renamer); ok {
		c := s.change()
		c.Now = now
		c.Expires = m.expiry(s.rec.Created, now)
		err = m.storeRename(ctx, rn, oldKey, s.key, c, path)
	} else {
		c := store.Change{
			Create:  true,
			Set:     maps.Clone(s.values),
			Incr:    s.incr,
			Now:     now,
			Created: s.rec.Created,
			Expires: m.expiry(s.rec.Created, now),
		}
		if s.user != nil {
			s.applyUser(&c)
		} else {
			c.SetUser, c.UserID, c.IP, c.UserAgent = true, s.rec.UserID, s.rec.IP, s.rec.UserAgent
		}
		if err = m.storeApply(ctx, s.key, c, path); err == nil {
			err = m.storeDelete(ctx, oldKey, path)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		m.emit(ctx, Event{Kind: EventLost, Hash: shortHash(oldKey), UserID: s.rec.UserID, Path: path})
		return m.clearCookie(w)
	}
	if err != nil {
		return err
	}
	m.emit(ctx, Event{Kind: EventRegenerated, Hash: shortHash(oldKey), UserID: s.userIDLocked(), Path: path})
	return m.writeID(w, s.id, s.rec.Created, now)
}

// userIDLocked is UserID for callers holding s.mu.
func (s *Session) userIDLocked() string {
	if s.user != nil {
		return s.user.id
	}
	return s.rec.UserID
}

// change builds the store change set from the pending changes. s.mu is held.
func (s *Session) change() store.Change {
	c := store.Change{Clear: s.clear, Set: s.set, Incr: s.incr}
	for k := range s.del {
		c.Delete = append(c.Delete, k)
	}
	s.applyUser(&c)
	return c
}

func (s *Session) applyUser(c *store.Change) {
	if s.user != nil {
		c.SetUser, c.UserID, c.IP, c.UserAgent = true, s.user.id, s.user.ip, s.user.ua
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// errChangedBeforeLock is returned by Lock when the session was changed
// before the lock was taken.
var errChangedBeforeLock = errors.New("sesame: the session was changed before Manager.Lock took its lock; place Lock directly inside Manager.Handler")

// reload discards what the session has loaded, so that its next use reads
// the store again: Manager.Lock calls it after taking the lock, in case a
// middleware (csrf, remember) read the session before. A session with
// changes cannot be reloaded without losing them, so that is an error.
func (s *Session) reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		return nil
	}
	_, flashDel := s.del[flashKey]
	onlyFlash := flashDel && len(s.del) == 1 && !s.clear && len(s.set) == 0 && len(s.incr) == 0 &&
		s.user == nil && !s.regenerate && s.destroyKey == "" && s.flashOut == nil
	if s.committed || (s.dirty && !onlyFlash) {
		return errChangedBeforeLock
	}
	if onlyFlash {
		// Without store.Taker the flash is still stored; it is read again.
		s.flashIn = nil
	}
	s.loaded, s.err = false, nil
	s.id, s.key, s.stored, s.rec, s.values, s.applied = "", "", false, store.Record{}, nil, nil
	s.del, s.dirty, s.staleID, s.anomaly = nil, false, false, ""
	return nil
}
