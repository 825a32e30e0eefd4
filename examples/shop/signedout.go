package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/store"
)

// signedOutSessions remembers, by store key (the hash of the session ID that
// Session.Hash and the devices list show), the sessions that "log out all
// other devices" or an administrator ended, so that each of those browsers
// is told why on its next request instead of silently becoming a guest. The
// store deletes the sessions themselves, so the app keeps this list: in
// memory, for as long as a session can live, and at most maxSignedOut
// entries. It is safe for concurrent use.
type signedOutSessions struct {
	mu     sync.Mutex
	keep   time.Duration
	byHash map[string]signedOut
}

// signedOut is one ended session: when, and by whom.
type signedOut struct {
	at time.Time
	by signedOutBy
}

// signedOutBy says who ended a session.
type signedOutBy int

const (
	signedOutByOtherDevice signedOutBy = iota + 1 // "log out all other devices"
	signedOutByAdmin                              // the admin dashboard
)

// maxSignedOut bounds the list: past it, the oldest entries go.
const maxSignedOut = 10000

func newSignedOutSessions(keep time.Duration) *signedOutSessions {
	return &signedOutSessions{keep: keep, byHash: map[string]signedOut{}}
}

// add records hashes as signed out by by at now.
func (s *signedOutSessions) add(now time.Time, by signedOutBy, hashes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, so := range s.byHash {
		if now.Sub(so.at) > s.keep {
			delete(s.byHash, h)
		}
	}
	for len(s.byHash) > 0 && len(s.byHash)+len(hashes) > maxSignedOut {
		var oldest string
		for h, so := range s.byHash {
			if oldest == "" || so.at.Before(s.byHash[oldest].at) {
				oldest = h
			}
		}
		delete(s.byHash, oldest)
	}
	for _, h := range hashes {
		s.byHash[h] = signedOut{at: now, by: by}
	}
}

// take returns who signed hash out (zero when nobody did), and forgets it:
// the browser is told once.
func (s *signedOutSessions) take(hash string) signedOutBy {
	s.mu.Lock()
	defer s.mu.Unlock()
	so := s.byHash[hash]
	delete(s.byHash, hash)
	return so.by
}

// The flashes a signed-out browser sees.
const (
	signedOutMessage      = "You were logged out: your account chose “Log out all other devices” on another device. Log in again to continue."
	signedOutAdminMessage = "You were signed out by an administrator. Log in again to continue."
)

// message is what a browser signed out by by is told.
func (by signedOutBy) message() string {
	if by == signedOutByAdmin {
		return signedOutAdminMessage
	}
	return signedOutMessage
}

// signedOutNotice tells a request whose session cookie names a session
// that logoutOthers or an administrator ended why it is a guest now: a page
// (GET) shows the message at once (see warning), any other request flashes
// it for the page it is redirected to. It reads the cookie, not the store:
// the session is gone.
func (a *app) signedOutNotice(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(a.sessions.CookieName()); err == nil && c.Value != "" {
			if by := a.signedOut.take(store.Key(c.Value)); by != 0 {
				if r.Method == http.MethodGet || r.Method == http.MethodHead {
					r = r.WithContext(context.WithValue(r.Context(), signedOutKey{}, by))
				} else {
					sesame.From(r).Flash("warning", by.message())
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// signedOutKey marks, in a request's context, a request from a browser that
// was just logged out from another device or by an administrator; the
// value is a signedOutBy.
type signedOutKey struct{}

// warning returns the warning to show with this response: why a browser
// was just logged out (from another device, or by an administrator), else
// the flashed warning of the previous request, if any.
func warning(r *http.Request) string {
	if by, _ := r.Context().Value(signedOutKey{}).(signedOutBy); by != 0 {
		return by.message()
	}
	return sesame.From(r).Flashes().String("warning")
}
