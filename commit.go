package sesame

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/sesamego/sesame/store"
)

// Committing a session is two steps: planCommit decides, from the session's
// state alone, what the store and the cookie must do; carryOut does it. The
// decision is a pure function so that every state, and every race between
// requests that share a cookie, is table-tested (commit_test.go).

// commitState is what planCommit decides on.
type commitState struct {
	Touched     bool // the session was used (loaded)
	Stored      bool // a live record is behind the session (under OldKey after Regenerate)
	Gone        bool // the request's ID names a session that Destroy or Regenerate ended
	Retire      bool // this request ends a stored record (Destroy or Regenerate): OldKey
	Destroyed   bool // Destroy was called (and Regenerate not after it)
	Regenerated bool // Regenerate was called (since the last Destroy)
	Dirty       bool // the session changed
	HasData     bool // the session holds something worth storing
	TouchDue    bool // the stored record's expiry is due to be extended
	DropKeys    bool // records to delete outright (Destroy after a failed load, expired records)
}

// commitPlan is what carryOut does, in this order: delete DropKeys; Retire
// the old record and Create a new one (for Regenerate the new one is created
// first, so there is no moment when the user has no session); Apply the
// change set or Touch the record; report a Lost change set; set or clear the
// cookie.
type commitPlan struct {
	DropKeys    bool
	Retire      bool
	Create      bool
	Apply       bool
	Touch       bool
	Lost        bool // the change set is dropped: the session was ended by another request
	SetCookie   bool
	ClearCookie bool
}

// planCommit decides what a commit does. The rules that keep users logged
// in while requests race:
//   - A request that never used its session does nothing: no store call, no
//     Set-Cookie.
//   - Only the request that destroyed a session clears the cookie. A request
//     whose cookie names a session that is gone (regenerated, destroyed,
//     expired, unknown) never does: the browser may already hold a new
//     cookie, set by the login that ended the old session, and a late
//     deleting Set-Cookie would log the user out.
//   - A request whose cookie names a session that Destroy or Regenerate
//     ended moments ago (a tombstone) does not start a new session either:
//     its changes are dropped (reported as lost) and it sends no cookie.
//     Regenerate (a login) on such a request does start one.
//   - Changes to a stored session never send a cookie; only a new ID does.
func planCommit(st commitState) commitPlan {
	var p commitPlan
	if !st.Touched {
		return p
	}
	p.DropKeys = st.DropKeys
	switch {
	case st.Regenerated:
		p.Retire = st.Retire
		p.Create = st.Retire || st.HasData
		p.SetCookie = p.Create
	case st.Destroyed:
		p.Retire = st.Retire
		p.Create = st.HasData // a flash after logout starts a new session
		p.SetCookie = p.Create
		p.ClearCookie = !p.Create
	case st.Stored:
		p.Apply = st.Dirty
		p.Touch = !st.Dirty && st.TouchDue
	case st.Gone:
		p.Lost = st.Dirty
	default: // no cookie, or one naming an expired or unknown session
		p.Create = st.HasData
		p.SetCookie = p.Create
	}
	return p
}

// state returns what planCommit needs to know. s.mu is held.
func (s *Session) state(now time.Time) commitState {
	return commitState{
		Touched:     s.loaded,
		Stored:      s.stored,
		Gone:        s.gone,
		Retire:      s.oldKey != "",
		Destroyed:   s.destroyed,
		Regenerated: s.regenerate,
		Dirty:       s.dirty,
		HasData:     s.hasData(),
		TouchDue:    s.stored && now.Sub(s.rec.LastSeen) >= s.m.touchAfter,
		DropKeys:    len(s.dropKeys) > 0 || len(s.expiredKeys) > 0,
	}
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
	s.commitErr = s.commitLocked(w, false)
	return s.commitErr
}

// errLateChange is reported when a session changed after the response began
// in a way that needs a new cookie, which can no longer be sent.
var errLateChange = fmt.Errorf("%w: the change needs a new session cookie, which can no longer be sent; change the session before writing the response", ErrUncommitted)

// errWrittenAround is reported when the handler wrote its response around
// the writer Manager.Handler passed on, and the session's changes need a
// cookie.
var errWrittenAround = fmt.Errorf("%w: the response was written around the ResponseWriter that Manager.Handler passed on (a framework adapter must hand the handler that writer, not only the request), so the session cookie could not be sent", ErrUncommitted)

// lateCommit commits what changed after the response began: for a session
// already committed, what changed since (a handler that wrote its response,
// then put a value); for one never committed, because its response was
// written around sesame's writer, everything. A stored session's change set
// is applied as usual; a change that needs a new cookie (a new session,
// Regenerate, Destroy) cannot be, and is refused with errLateChange.
func (s *Session) lateCommit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lateCommitLocked()
}

// lateCommitLocked is lateCommit for callers holding s.mu.
func (s *Session) lateCommitLocked() error {
	if s.committed && (s.commitErr != nil || !s.dirty) {
		return nil
	}
	first := !s.committed
	s.committed = true
	err := s.commitLocked(headerSink{}, true)
	if first {
		s.commitErr = err
	}
	return err
}

// reportLate logs err, the failure of a late commit: a refused change as an
// EventUncommitted with reason (at Error), anything else (a store failure,
// already reported as such) at Error too.
func (s *Session) reportLate(reason string, err error) {
	ctx := s.r.Context()
	if !errors.Is(err, ErrUncommitted) {
		s.m.log.LogAttrs(ctx, slog.LevelError, "sesame: committing the session after the response began failed",
			slog.String("path", s.r.URL.Path), slog.String("error", err.Error()))
		return
	}
	if reason == reasonWrittenAround {
		err = errWrittenAround
	}
	s.mu.Lock()
	key := s.oldKey
	if key == "" {
		key = s.key
	}
	user := s.userIDLocked()
	s.mu.Unlock()
	s.m.emit(ctx, Event{Kind: EventUncommitted, Hash: shortHash(key), UserID: user, Path: s.r.URL.Path, Reason: reason, Err: err})
}

// The reasons of an EventUncommitted.
const (
	reasonWrittenAround = "written-around"
	reasonAfterResponse = "after-response"
)

// headerSink is a ResponseWriter for a commit after the response began:
// whatever headers it gets are dropped.
type headerSink struct{}

func (headerSink) Header() http.Header         { return http.Header{} }
func (headerSink) Write(b []byte) (int, error) { return len(b), nil }
func (headerSink) WriteHeader(int)             {}

// commitLocked plans the commit and carries it out; late refuses a plan that
// needs a cookie. s.mu is held.
func (s *Session) commitLocked(w http.ResponseWriter, late bool) error {
	if !s.loaded {
		return nil // untouched: no store I/O, no cookie
	}
	for _, err := range []error{s.err, s.encErr, s.inputErr} {
		if err != nil {
			return err
		}
	}
	if s.flashOut != nil {
		b, err := json.Marshal(s.flashOut)
		if err == nil {
			err = checkDepth(b)
		}
		if err != nil {
			return fmt.Errorf("%w: flash: %w", ErrEncode, err)
		}
		s.putRaw(flashKey, b)
		s.flashOut = nil
	}
	// A session that only read needs no new clock reading: the load's
	// time decides whether its expiry is due to be extended.
	now := s.loadedAt
	if s.dirty || now.IsZero() {
		now = s.m.now()
	}
	p := planCommit(s.state(now))
	if late && (p.SetCookie || p.ClearCookie) {
		return errLateChange
	}
	if err := s.carryOut(w, p, now); err != nil {
		return err
	}
	s.resetChange(p, now)
	return nil
}

// carryOut does what the plan says. s.mu is held.
func (s *Session) carryOut(w http.ResponseWriter, p commitPlan, now time.Time) error {
	if p == (commitPlan{}) {
		return nil
	}
	m := s.m
	path := s.r.URL.Path
	var ctx context.Context
	if m.local {
		// A commit is detached from the client, so that a client that goes
		// away cannot cut a change set in half. A local store's calls cannot
		// hang: no deadline, and the detached context lives in the Session.
		s.detached = detachedContext{parent: s.r.Context()}
		ctx = &s.detached
	} else {
		var cancel context.CancelFunc
		ctx, cancel = m.commitContext(s.r.Context())
		defer cancel()
	}

	if p.DropKeys {
		for _, k := range s.dropKeys {
			if err := m.storeDelete(ctx, k, path); err != nil {
				return err
			}
			m.emit(ctx, Event{Kind: EventDestroyed, Hash: shortHash(k), Path: path})
		}
		for _, k := range s.expiredKeys {
			if err := m.storeDelete(ctx, k, path); err != nil {
				return err
			}
		}
	}
	regenerating := p.Retire && p.Create && s.regenerate
	if p.Retire && !regenerating {
		if err := s.retire(ctx, path, now); err != nil {
			return err
		}
		m.emit(ctx, Event{Kind: EventDestroyed, Hash: shortHash(s.oldKey), UserID: s.rec.UserID, Path: path})
	}
	if p.Create {
		if err := s.create(ctx, path, now); err != nil {
			return err
		}
	}
	if regenerating {
		if err := s.retire(ctx, path, now); err != nil {
			return err
		}
		m.emit(ctx, Event{Kind: EventRegenerated, Hash: shortHash(s.oldKey), UserID: s.userIDLocked(), Path: path})
	}
	switch {
	case p.Apply:
		c := s.change()
		defer s.releaseIncr(c.Incr)
		c.Now = now
		c.Expires = m.storeExpiry(s.rec.Created, now)
		err := m.storeApply(ctx, s.key, c, path)
		if errors.Is(err, store.ErrNotFound) {
			// Destroyed or regenerated by a concurrent request: drop the
			// change rather than resurrect the session, and leave the
			// cookie alone (the browser may hold a newer one).
			m.emit(ctx, Event{Kind: EventLost, Hash: shortHash(s.key), UserID: s.rec.UserID, Path: path})
			return nil
		}
		if err != nil {
			return err
		}
	case p.Touch:
		c := store.Change{ID: m.changeID(), Now: now, Expires: m.storeExpiry(s.rec.Created, now)}
		if err := m.storeApply(ctx, s.key, c, path); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	case p.Lost:
		m.emit(ctx, Event{Kind: EventLost, Hash: shortHash(store.Key(s.firstID())), Path: path})
	}
	switch {
	case p.SetCookie:
		return m.writeID(w, s.id, s.rec.Created, now)
	case p.ClearCookie:
		return m.clearCookie(w)
	}
	return nil
}

// firstID returns the first well-formed ID the request carried, or "".
func (s *Session) firstID() string {
	var buf [3]string
	if ids := s.m.requestIDs(s.r, &buf); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// create stores the session whole under s.key: a new session, or the new ID
// of a regenerated one, which keeps its age and user. s.mu is held.
func (s *Session) create(ctx context.Context, path string, now time.Time) error {
	m := s.m
	if s.id == "" {
		s.id = newID()
		s.key = store.Key(s.id)
	}
	if s.applied.len() > 0 {
		// Committed increments are kept beside the values: fold them in.
		s.own()
		s.applied.each(func(k string, d int64) {
			if n, err := store.AddInt(s.values[k], d); err == nil {
				s.values[k] = appendInt(nil, n)
			}
		})
		s.applied = counters{}
	}
	created := now
	if s.regenerate && s.oldKey != "" {
		created = s.rec.Created
	}
	var set map[string][]byte
	if s.values == nil && (s.clear || s.base.len() == 0) && m.flat != nil {
		// The view is the change set, which a flat store copies: no map to
		// build, and the session adopts the change set as its view after
		// the commit (resetChange).
		set = s.set
	} else {
		s.own()
		set = maps.Clone(s.values)
	}
	incr := s.incrMap()
	defer s.releaseIncr(incr)
	c := store.Change{
		ID:      m.changeID(),
		Create:  true,
		Set:     set,
		Incr:    incr,
		Now:     now,
		Created: created,
		Expires: m.storeExpiry(created, now),
	}
	switch {
	case s.user != nil:
		s.applyUser(&c)
	case s.regenerate && s.oldKey != "":
		c.SetUser, c.UserID, c.IP, c.UserAgent = true, s.rec.UserID, s.rec.IP, s.rec.UserAgent
	}
	if err := m.storeApply(ctx, s.key, c, path); err != nil {
		return err
	}
	if !(s.regenerate && s.oldKey != "") {
		e := Event{Kind: EventCreated, Hash: shortHash(s.key), UserID: c.UserID, Path: path}
		if m.onEvent != nil {
			e.Size = store.Size(c.Set)
		}
		m.emit(ctx, e)
	}
	s.rec.Created = created
	return nil
}

// retire ends the record under s.oldKey. Server-side stores turn it into a
// tombstone (no values, no user, gone in goneGrace) so that requests still
// carrying the old cookie can tell it from an unknown ID; stores that keep
// the session in the client delete it. A record that is already gone is
// fine. s.mu is held.
func (s *Session) retire(ctx context.Context, path string, now time.Time) error {
	m := s.m
	if m.client != nil {
		return m.storeDelete(ctx, s.oldKey, path)
	}
	c := store.Change{
		ID:      m.changeID(),
		Clear:   true,
		Set:     map[string][]byte{goneKey: []byte("true")},
		SetUser: true,
		Now:     now,
		Expires: now.Add(goneGrace),
	}
	err := m.storeApply(ctx, s.oldKey, c, path)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// resetChange empties the change set after a successful commit, folding what
// was committed into the loaded record. s.mu is held.
func (s *Session) resetChange(p commitPlan, now time.Time) {
	if s.values == nil && (s.clear || len(s.set) > 0 || len(s.del) > 0) {
		// The view was base and the change set, which is being emptied:
		// keep it. A flat store copied the change set, so when it is the
		// whole view the session can keep it as its own map.
		if (s.clear || s.base.len() == 0) && s.m.flat != nil {
			s.values = s.set
			if s.values == nil {
				s.values = map[string][]byte{}
			}
		} else {
			s.own()
		}
	}
	// Committed increments stay beside the values (raw adds them), so
	// that a commit costs no copy of the loaded values either.
	s.incr.each(s.applied.add)
	if s.user != nil {
		s.rec.UserID, s.rec.IP, s.rec.UserAgent = s.user.id, s.user.ip, s.user.ua
	}
	if s.dirty {
		s.rec.LastSeen = now
	}
	if p.Create {
		s.stored, s.gone = true, false
	}
	if p.Lost {
		s.values = map[string][]byte{} // nothing of it was stored
	}
	s.clear, s.set, s.del, s.incr, s.push, s.user = false, nil, nil, counters{}, nil, nil
	s.flashOut, s.dirty, s.regenerate, s.destroyed, s.oldKey, s.dropKeys = nil, false, false, false, "", nil
	s.expiredKeys = nil
}

// userIDLocked is UserID for callers holding s.mu.
func (s *Session) userIDLocked() string {
	if s.user != nil {
		return s.user.id
	}
	return s.rec.UserID
}

// change builds the store change set from the pending changes; give its
// Incr back with releaseIncr once the store has applied it. s.mu is held.
func (s *Session) change() store.Change {
	c := store.Change{ID: s.m.changeID(), Clear: s.clear, Set: s.set, Incr: s.incrMap(), Push: s.push}
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

// changeID returns a fresh identity for a change set, so that a store
// reached over a network recognises it if its driver sends it twice; local
// stores never see a change twice and get none.
func (m *Manager) changeID() string {
	if m.local {
		return ""
	}
	return store.NewChangeID()
}

// detachedContext is context.WithoutCancel(parent) without its allocation:
// the context of a commit to a local store, held in the Session.
type detachedContext struct{ parent context.Context }

func (*detachedContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*detachedContext) Done() <-chan struct{}       { return nil }
func (*detachedContext) Err() error                  { return nil }
func (c *detachedContext) Value(key any) any         { return c.parent.Value(key) }
