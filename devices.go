package sesame

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sesamego/sesame/store"
)

// ErrNotSupported is returned when the manager's store lacks an optional
// capability a method needs (a user index, locking).
var ErrNotSupported = errors.New("sesame: not supported by the session store")

// SessionInfo describes one of a user's sessions, for a "your devices" page.
// It holds no session ID and no values.
type SessionInfo struct {
	// Hash identifies the session in the store (the SHA-256 of its ID). It
	// is safe to show and to post back to revoke the session.
	Hash      string
	Created   time.Time
	LastSeen  time.Time
	Expires   time.Time
	IP        string
	UserAgent string
	// Current is true for the session of the request that asked.
	Current bool
}

// Hash returns the session's store key: the hex SHA-256 of its ID, or "" for
// a session not stored yet. Unlike the ID it is not a credential.
func (s *Session) Hash() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if !s.stored && !s.regenerate {
		return ""
	}
	return s.key
}

// userIndex returns the user index of the store for a call made with ctx
// (see storeFor).
func (m *Manager) userIndex(ctx context.Context) (store.UserIndex, error) {
	ui, ok := m.storeFor(ctx).(store.UserIndex)
	if !ok {
		return nil, fmt.Errorf("%w: no user index (%T)", ErrNotSupported, m.store)
	}
	return ui, nil
}

// UserSessions lists the live sessions of the request's user (set with
// [Session.SetUser]), newest activity first, marking the request's own. A
// request without a user gets none. It needs a store with a user index.
func (m *Manager) UserSessions(r *http.Request) ([]SessionInfo, error) {
	s := m.Session(r)
	if s == nil {
		return nil, errors.New("sesame: UserSessions called outside Manager.Handler")
	}
	user, current := s.UserID(), s.Hash()
	if err := s.Err(); err != nil {
		return nil, err
	}
	if user == "" {
		return nil, nil
	}
	infos, err := m.SessionsOf(r.Context(), user)
	for i := range infos {
		infos[i].Current = infos[i].Hash == current
	}
	return infos, err
}

// SessionsOf lists the live sessions of userID, newest activity first.
func (m *Manager) SessionsOf(ctx context.Context, userID string) ([]SessionInfo, error) {
	ui, err := m.userIndex(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.storeTimeout)
	defer cancel()
	entries, err := ui.UserSessions(ctx, userID)
	if err != nil {
		return nil, m.storeErr("user sessions", err)
	}
	now := m.now()
	infos := make([]SessionInfo, 0, len(entries))
	for _, e := range entries {
		rec := e.Record
		if m.expiredReason(rec, now) != "" {
			continue
		}
		infos = append(infos, SessionInfo{Hash: e.Key, Created: rec.Created, LastSeen: rec.LastSeen,
			Expires: rec.Expires.Add(-expiredGrace), IP: rec.IP, UserAgent: rec.UserAgent})
	}
	sortByLastSeen(infos)
	return infos, nil
}

func sortByLastSeen(infos []SessionInfo) {
	for i := 1; i < len(infos); i++ {
		for j := i; j > 0 && infos[j].LastSeen.After(infos[j-1].LastSeen); j-- {
			infos[j], infos[j-1] = infos[j-1], infos[j]
		}
	}
}

// RevokeSession deletes the session with the given hash if it belongs to
// the request's user (a user can end any of their own sessions, and nobody
// else's). Revoking the request's own session destroys it.
func (m *Manager) RevokeSession(r *http.Request, hash string) error {
	s := m.Session(r)
	if s == nil {
		return errors.New("sesame: RevokeSession called outside Manager.Handler")
	}
	if !store.ValidKey(hash) {
		return fmt.Errorf("sesame: malformed session hash")
	}
	if hash == s.Hash() {
		return s.Destroy()
	}
	user := s.UserID()
	if user == "" {
		return ErrNoSession
	}
	infos, err := m.SessionsOf(r.Context(), user)
	if err != nil {
		return err
	}
	for _, in := range infos {
		if in.Hash == hash {
			return m.storeDelete(r.Context(), hash, r.URL.Path)
		}
	}
	return fmt.Errorf("sesame: no session %s… of this user", shortHash(hash))
}

// LogoutOtherDevices deletes every session of the request's user except the
// request's own ("log out other devices") and returns how many it deleted.
// It does not touch remember-me tokens: revoke the others too (package
// remember's RevokeOthers), or those browsers log straight back in.
func (m *Manager) LogoutOtherDevices(r *http.Request) (int, error) {
	s := m.Session(r)
	if s == nil {
		return 0, errors.New("sesame: LogoutOtherDevices called outside Manager.Handler")
	}
	user, current := s.UserID(), s.Hash()
	if err := s.Err(); err != nil {
		return 0, err
	}
	if user == "" {
		return 0, ErrNoSession
	}
	return m.deleteUser(r.Context(), user, current)
}

// LogoutEverywhere deletes every session of userID (after a password reset,
// say) and returns how many it deleted. Revoke the user's remember-me tokens
// too (package remember), or they log the user straight back in.
func (m *Manager) LogoutEverywhere(ctx context.Context, userID string) (int, error) {
	if userID == "" {
		return 0, errors.New("sesame: LogoutEverywhere needs a user ID")
	}
	return m.deleteUser(ctx, userID, "")
}

func (m *Manager) deleteUser(ctx context.Context, user, except string) (int, error) {
	ui, err := m.userIndex(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.storeTimeout)
	defer cancel()
	n, err := ui.DeleteUserSessions(ctx, user, except)
	if err != nil {
		return n, m.storeErr("delete user sessions", err)
	}
	reason := "logout-others"
	if except == "" {
		reason = "logout-everywhere"
	}
	m.emit(ctx, Event{Kind: EventDestroyed, UserID: user, Reason: reason, Count: n})
	return n, nil
}
