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
// other devices" ended, so that each of those browsers is told why on its
// next request instead of silently becoming a guest. The store deletes the
// sessions themselves, so the app keeps this list: in memory, for as long as
// a session can live, and at most maxSignedOut entries. It is safe for
// concurrent use.
type signedOutSessions struct {
	mu     sync.Mutex
	keep   time.Duration
	byHash map[string]time.Time // when it was signed out
}

// maxSignedOut bounds the list: past it, the oldest entries go.
const maxSignedOut = 10000

func newSignedOutSessions(keep time.Duration) *signedOutSessions {
	return &signedOutSessions{keep: keep, byHash: map[string]time.Time{}}
}

// add records hashes as signed out at now.
func (s *signedOutSessions) add(now time.Time, hashes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, at := range s.byHash {
		if now.Sub(at) > s.keep {
			delete(s.byHash, h)
		}
	}
	for len(s.byHash)+len(hashes) > maxSignedOut {
		var oldest string
		for h, at := range s.byHash {
			if oldest == "" || at.Before(s.byHash[oldest]) {
				oldest = h
			}
		}
		delete(s.byHash, oldest)
	}
	for _, h := range hashes {
		s.byHash[h] = now
	}
}

// take reports whether hash was signed out, and forgets it: the browser is
// told once.
func (s *signedOutSessions) take(hash string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byHash[hash]
	delete(s.byHash, hash)
	return ok
}

// signedOutMessage is the flash a signed-out browser sees.
const signedOutMessage = "You were logged out: your account chose “Log out all other devices” on another device. Log in again to continue."

// signedOutNotice tells a request whose session cookie names a session
// that logoutOthers ended why it is a guest now: a page (GET) shows
// signedOutMessage at once (see signedOutNow), any other request flashes it
// for the page it is redirected to. It reads the cookie, not the store: the
// session is gone.
func (a *app) signedOutNotice(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(a.sessions.CookieName()); err == nil && c.Value != "" {
			if a.signedOut.take(store.Key(c.Value)) {
				if r.Method == http.MethodGet || r.Method == http.MethodHead {
					r = r.WithContext(context.WithValue(r.Context(), signedOutKey{}, true))
				} else {
					sesame.From(r).Flash("warning", signedOutMessage)
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// signedOutKey marks, in a request's context, a request from a browser that
// was just logged out from another device.
type signedOutKey struct{}

// warning returns the warning to show with this response: signedOutMessage
// for a browser just logged out from another device, else the flashed
// warning of the previous request, if any.
func warning(r *http.Request) string {
	if now, _ := r.Context().Value(signedOutKey{}).(bool); now {
		return signedOutMessage
	}
	return sesame.From(r).Flashes().String("warning")
}
