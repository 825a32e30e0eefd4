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
	// goneKey marks a tombstone: the record a Destroy or Regenerate left
	// under the old ID for [goneGrace], so that requests still carrying the
	// old cookie neither create a session nor send a cookie.
	goneKey = store.GoneField
)

// goneGrace is how long a tombstone outlives the session it ends: longer
// than any request still in flight with the old cookie.
const goneGrace = time.Minute

// expiredGrace is how long the store keeps a record after its session
// expired, so that a late request is told why it ended (idle or absolute)
// rather than "unknown". sesame never uses such a record.
const expiredGrace = time.Minute

// A Session is one request's view of a session. Get it with [From] inside
// [Manager.Handler] (or for a request that [Manager.Load] prepared). Its methods are safe for concurrent use by the
// goroutines of one request.
//
// A Session is lazy: it reads the store on the first call that needs data,
// not before, and a request that never calls it costs no store I/O. Changes
// are collected as a change set and committed once, before the response's
// first byte, atomically on top of whatever the store holds by then, so
// concurrent requests on one session never lose each other's writes.
type Session struct {
	m   *Manager
	r   *http.Request
	ctx context.Context // the context of the first From; the lazy load uses it

	mu     sync.Mutex
	loaded bool
	err    error // load failure; nothing is committed when set
	encErr error // a value that could not be encoded

	id     string       // the session ID ("" until minted for a new session)
	key    string       // store.Key(id)
	stored bool         // a live record exists under key
	rec    store.Record // the loaded record's metadata (its Values are in base)
	// The view of the values is base with the change set on top. values
	// holds the whole view once something needs it as a map (own); until
	// then it is nil, and reads look at the change set, then at base, so
	// that neither a read nor a write copies the loaded values.
	base   baseValues
	values map[string][]byte

	// The change set.
	clear bool
	set   map[string][]byte
	del   map[string]struct{}
	incr  counters
	push  map[string]store.Append // folded into values too (the view)
	// applied holds increments already committed but not folded into
	// values (raw adds them), so a commit costs no copy of the values.
	applied counters
	user    *userChange
	dirty   bool

	regenerate  bool     // Regenerate was called (since the last Destroy)
	destroyed   bool     // Destroy was called
	gone        bool     // the request's ID names a session ended by Destroy or Regenerate
	oldKey      string   // the stored record this request retires (Destroy, Regenerate)
	dropKeys    []string // records to delete outright: Destroy after a failed load
	expiredKeys []string // expired records the request found, deleted at commit
	inputErr    error    // a key, user ID or list operation no store accepts

	flashIn  *Flashes
	flashOut map[string]json.RawMessage

	anomaly   string
	loadedAt  time.Time       // when load ran: the manager's clock
	detached  detachedContext // the context of a commit to a local store
	committed bool
	commitErr error // the first commit's result, returned by later calls
}

type userChange struct{ id, ip, ua string }

// contextKey identifies one manager's session in a context. It is not
// zero-sized, so each new(contextKey) is a distinct pointer.
type contextKey struct{ _ byte }

// From returns the request's session. It panics when r did not pass through
// a [Manager.Handler] or [Manager.Load], which is a programming error; with
// several managers, use [Manager.Session].
//
// The session reads the store lazily, with the context of the first From
// (or [FromContext]) call that precedes its first use: a handler that
// narrows or cancels its request's context before it touches the session
// bounds the load with it.
func From(r *http.Request) *Session {
	s := FromContext(r.Context())
	if s == nil {
		panic("sesame: From called on a request that did not pass through Manager.Handler or Manager.Load")
	}
	return s
}

// FromContext returns the session stored in ctx by [Manager.Handler] or
// [Manager.Load], or nil.
// With several managers it returns the innermost one's session.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(lastSessionKey{}).(*Session)
	if s != nil {
		s.useContext(ctx)
	}
	return s
}

// useContext makes ctx the context of the lazy load, unless the session is
// loaded already.
func (s *Session) useContext(ctx context.Context) {
	s.mu.Lock()
	if !s.loaded {
		s.ctx = ctx
	}
	s.mu.Unlock()
}

type lastSessionKey struct{}

// Session returns the session of this manager for r, or nil when r did not
// pass through m's Handler or Load. Use it when one app runs several managers.
func (m *Manager) Session(r *http.Request) *Session {
	s, _ := r.Context().Value(m.ctxKey).(*Session)
	if s != nil {
		s.useContext(r.Context())
	}
	return s
}

// load reads the session from the store on first use. s.mu is held.
func (s *Session) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	m := s.m
	ctx := s.ctx
	if ctx == nil {
		ctx = s.r.Context()
	}
	now := m.now()
	s.loadedAt = now
	var buf [3]string
	ids := m.requestIDs(s.r, &buf)
	for _, id := range ids {
		key := store.Key(id)
		rec, base, ok, err := m.loadRecord(ctx, key, s.r.URL.Path)
		if err != nil {
			s.err = err
			s.values = map[string][]byte{}
			return
		}
		if !ok {
			continue
		}
		if _, ok := base.get(goneKey); ok {
			// Ended by Destroy or Regenerate moments ago; the client has
			// (or is getting) its new cookie.
			s.gone = true
			continue
		}
		if reason := m.expiredReason(rec, now); reason != "" {
			// Reported once, with its reason: the commit deletes the
			// record, so the next request finds nothing to report.
			m.emit(ctx, Event{Kind: EventExpired, Hash: shortHash(key), UserID: rec.UserID, Path: s.r.URL.Path, Reason: reason})
			s.expiredKeys = append(s.expiredKeys, key)
			continue
		}
		s.id, s.key, s.stored, s.rec, s.base, s.gone = id, key, true, rec, base, false
		break
	}
	if !s.stored {
		return
	}
	if raw, ok := s.base.get(flashKey); ok {
		s.own()
		delete(s.values, flashKey)
		if t, ok := m.store.(store.Taker); ok {
			// Consume the flash atomically: of two racing requests only one
			// gets it.
			v, ok, err := m.storeTake(ctx, t, s.key, flashKey)
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

func (m *Manager) expiredReason(rec store.Record, now time.Time) string {
	switch {
	case !rec.Created.Add(m.lifetime).After(now):
		return "absolute"
	case m.idle > 0 && !rec.LastSeen.Add(m.idle).After(now):
		return "idle"
	case !rec.Expires.Add(-expiredGrace).After(now):
		return "expired"
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

// storeExpiry is the expiry written to the store: the session's, plus
// expiredGrace so that a late request learns why it ended.
func (m *Manager) storeExpiry(created, now time.Time) time.Time {
	return m.expiry(created, now).Add(expiredGrace)
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
// cannot be encoded (a channel, a func, a cyclic structure, nesting deeper
// than [MaxDepth]) is reported to the manager's error handler at commit and
// nothing of the request is stored, and so is a key that is not valid UTF-8
// or longer than 256 bytes ([ErrInvalid]).
func (s *Session) Put(key string, value any) {
	b, err := encodeValue(key, value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if err != nil {
		s.fail(err)
		return
	}
	s.putRaw(key, b)
}

// fail records an error that stops the commit: the first one wins. s.mu is
// held.
func (s *Session) fail(err error) {
	if errors.Is(err, ErrEncode) {
		if s.encErr == nil {
			s.encErr = err
		}
		return
	}
	if s.inputErr == nil {
		s.inputErr = err
	}
}

// encodeValue checks key and encodes value for it.
func encodeValue(key string, value any) ([]byte, error) {
	if err := store.CheckField(key); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	b, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("%w: key %q: %w", ErrEncode, key, err)
	}
	if err := checkDepth(b); err != nil {
		return nil, fmt.Errorf("%w: key %q: %w", ErrEncode, key, err)
	}
	return b, nil
}

// MaxDepth is the deepest nesting of arrays and objects a session value may
// have. JSON decoders refuse very deep documents (Go's stops at 10,000), so a
// deeper value could be stored but never read back; it is refused when put.
const MaxDepth = 64

// checkDepth returns an error when the JSON value b nests deeper than
// MaxDepth.
func checkDepth(b []byte) error {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			if depth++; depth > MaxDepth {
				return fmt.Errorf("nested deeper than %d levels", MaxDepth)
			}
		case ']', '}':
			depth--
		}
	}
	return nil
}

// Push appends value to the JSON array under key (a missing key counts as an
// empty array), as part of the change set: the store appends it to the array
// it holds at commit, so concurrent requests that each push one element
// leave every element. Read the array with [Get], for example
// sesame.Get[[]Event](s, "events"). Pushing onto a value that is not an array
// fails the commit with an error wrapping [ErrNotList] that names the key,
// and nothing of the request's change set is stored.
func (s *Session) Push(key string, value any) { s.PushKeep(key, value, 0) }

// PushKeep is [Session.Push] that then keeps only the last keep elements of
// the array (dropping the oldest), so that a log cannot grow without bound. A
// keep of zero or less keeps every element.
func (s *Session) PushKeep(key string, value any, keep int) {
	b, err := encodeValue(key, value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if err != nil {
		s.fail(err)
		return
	}
	keep = max(keep, 0)
	cur, _ := s.raw(key)
	next, err := store.AppendJSON(cur, [][]byte{b}, keep)
	if err != nil {
		s.fail(fmt.Errorf("%w: key %q", ErrNotList, key))
		return
	}
	if _, isSet := s.set[key]; isSet || !s.stored || s.regenerate {
		// Nothing to merge with: a value put by this request, or a
		// session stored whole at commit.
		s.putRaw(key, next)
		return
	}
	s.own()
	s.values[key] = next // the view; the store appends to its own at commit
	if s.push == nil {
		s.push = make(map[string]store.Append, 1)
	}
	a := s.push[key]
	a.Values = append(a.Values, b)
	if keep > 0 && (a.Keep == 0 || keep < a.Keep) {
		a.Keep = keep // several in one request: the smallest keep applies
	}
	s.push[key] = a
	s.dirty = true
}

// putRaw records key = b (JSON) in the view and the change set. s.mu is held.
func (s *Session) putRaw(key string, b []byte) {
	if s.values != nil {
		s.values[key] = b
	}
	s.applied.remove(key)
	delete(s.push, key)
	if s.set == nil {
		s.set = make(map[string][]byte)
	}
	s.set[key] = b
	s.incr.remove(key)
	s.dirty = true
}

// own builds s.values, the whole view as a map, if it is not built yet. The
// values it holds may share the store's memory: they are never modified,
// only replaced. s.mu is held.
func (s *Session) own() {
	if s.values != nil {
		return
	}
	v := make(map[string][]byte, s.base.len()+len(s.set))
	if !s.clear {
		s.base.each(func(k string, b []byte) {
			if _, deleted := s.del[k]; !deleted {
				v[k] = b
			}
		})
	}
	maps.Copy(v, s.set)
	s.values = v
}

// lookup returns the view's value of key, before pending increments. s.mu
// is held.
func (s *Session) lookup(key string) ([]byte, bool) {
	if s.values != nil {
		v, ok := s.values[key]
		return v, ok
	}
	if v, ok := s.set[key]; ok {
		return v, true
	}
	if _, deleted := s.del[key]; deleted || s.clear {
		return nil, false
	}
	return s.base.get(key)
}

// deleteKey records the removal of key. s.mu is held.
func (s *Session) deleteKey(key string) {
	delete(s.values, key)
	s.applied.remove(key)
	delete(s.push, key)
	delete(s.set, key)
	s.incr.remove(key)
	if s.del == nil {
		s.del = make(map[string]struct{})
	}
	s.del[key] = struct{}{}
	s.dirty = true
}

// raw returns the JSON encoding of key's value. s.mu is held.
func (s *Session) raw(key string) ([]byte, bool) {
	s.load()
	b, ok := s.lookup(key)
	d, pending := s.incr.get(key)
	a, applied := s.applied.get(key)
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
	s.incr.add(key, by) // cannot overflow: cur + by did not
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
	s.own()
	if s.incr.len() == 0 && s.applied.len() == 0 {
		return s.values
	}
	view := maps.Clone(s.values)
	add := func(k string, _ int64) { view[k], _ = s.raw(k) }
	s.incr.each(add)
	s.applied.each(add)
	return view
}

// Clear removes every value (keys reserved by sesame, such as the CSRF token,
// are kept). The session itself, its ID and its user stay.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.own()
	kept := map[string][]byte{}
	for k, v := range s.values {
		if strings.HasPrefix(k, reservedPrefix) {
			kept[k] = v
		}
	}
	s.values, s.applied = map[string][]byte{}, counters{}
	s.clear = true
	s.set, s.del, s.incr, s.push = nil, nil, counters{}, nil
	s.dirty = true
	for k, v := range kept {
		s.putRaw(k, v)
	}
}

// SetUser ties the session to a user: stores with a user index can then
// list the user's sessions and log out the others ([Manager.UserSessions]).
// It also records the client's IP address and user agent, for the devices
// list and anomaly detection. Call it at login, after [Session.Regenerate]. An
// empty id detaches the session from its user (logout without destroy). A user
// ID that is not valid UTF-8, holds a control character or is longer than 255
// bytes fails the commit with an error wrapping [ErrInvalid] (a 500, not a
// store outage), and nothing of the request is stored.
func (s *Session) SetUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if err := store.CheckUserID(id); err != nil {
		s.fail(fmt.Errorf("%w: %w", ErrInvalid, err))
		return
	}
	uc := &userChange{id: strings.Clone(id)}
	if id != "" {
		// Copies: a request converted from fasthttp (fiber) shares buffers
		// that are reused once the request ends, and the store keeps these.
		uc.ip = strings.Clone(s.m.anomaly.clientIP(s.r))
		uc.ua = strings.Clone(truncate(s.r.UserAgent(), 512))
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
//
// The old ID is not simply deleted: it is left as a tombstone for a minute,
// so that requests the browser sent with the old cookie before it got the
// new one (an image, a poll, a second tab) neither start a new session nor
// send a cookie that would replace the new one.
func (s *Session) Regenerate() error {
	s.mu.Lock()
	s.load()
	if s.err != nil {
		s.mu.Unlock()
		return s.err
	}
	if s.stored && s.oldKey == "" {
		s.oldKey = s.key
	}
	s.regenerate = true
	s.dirty = true
	// The new ID is chosen now so that the handler (and OnRegenerate hooks)
	// see it; it reaches the store and the cookie at commit.
	s.id = newID()
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
// session with a new ID.
//
// Destroy works even when the session could not be loaded (a record the
// store cannot decode): the records the request's cookie names are deleted
// at commit. When the store itself is down, the commit reports it.
func (s *Session) Destroy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.err != nil {
		var buf [3]string
		for _, id := range s.m.requestIDs(s.r, &buf) {
			s.dropKeys = append(s.dropKeys, store.Key(id))
		}
		s.err = nil
	}
	s.destroyLocked()
	return nil
}

// destroyLocked forgets the session and schedules the end of its record.
// s.mu is held.
func (s *Session) destroyLocked() {
	if s.stored && s.oldKey == "" {
		s.oldKey = s.key
	}
	s.stored, s.id, s.key = false, "", ""
	s.rec, s.base = store.Record{}, baseValues{}
	s.values, s.applied = map[string][]byte{}, counters{}
	s.clear, s.set, s.del, s.incr, s.push, s.user = false, nil, nil, counters{}, nil, nil
	s.regenerate = false
	s.destroyed = true
	s.flashOut = nil
	s.dirty = true
}

// hasData reports whether the session holds anything worth storing. s.mu is
// held.
func (s *Session) hasData() bool {
	return s.hasValues() || s.incr.len() > 0 || len(s.flashOut) > 0 || (s.user != nil && s.user.id != "")
}

// hasValues reports whether the view holds a value. s.mu is held.
func (s *Session) hasValues() bool {
	switch {
	case s.values != nil:
		return len(s.values) > 0
	case len(s.set) > 0:
		return true
	case s.clear:
		return false
	}
	return s.base.hasOtherThan(s.del)
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
	onlyFlash := flashDel && len(s.del) == 1 && !s.clear && len(s.set) == 0 && s.incr.len() == 0 &&
		len(s.push) == 0 && s.user == nil && !s.regenerate && !s.destroyed && s.oldKey == "" && s.flashOut == nil &&
		s.inputErr == nil && s.encErr == nil
	if s.committed || (s.dirty && !onlyFlash) {
		return errChangedBeforeLock
	}
	if onlyFlash {
		// Without store.Taker the flash is still stored; it is read again.
		s.flashIn = nil
	}
	s.loaded, s.err = false, nil
	s.id, s.key, s.stored, s.rec, s.base, s.values, s.applied = "", "", false, store.Record{}, baseValues{}, nil, counters{}
	s.del, s.dirty, s.gone, s.anomaly, s.expiredKeys = nil, false, false, "", nil
	return nil
}
