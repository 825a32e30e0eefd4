package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sesamego/sesame"
)

// A device is one row of the devices page.
type device struct {
	sesame.SessionInfo
	Browser string
}

// devicesData is the devices template's Data.
type devicesData struct {
	Devices     []device
	Unsupported bool // the store keeps no index of a user's sessions
}

// devicesPage lists the user's sessions: when each was last used, from which
// address and browser, and which one is this one. sesame keeps that
// per-user index in the store (Session.SetUser at login).
func (a *app) devicesPage(w http.ResponseWriter, r *http.Request) {
	if a.currentUser(r) == nil {
		redirect(w, r, "/login?for=devices") // no flash: it would start a session
		return
	}
	infos, err := a.sessions.UserSessions(r)
	var d devicesData
	switch {
	case errors.Is(err, sesame.ErrNotSupported):
		d.Unsupported = true
	case err != nil:
		a.serverError(w, r, err)
		return
	}
	for _, in := range infos {
		d.Devices = append(d.Devices, device{SessionInfo: in, Browser: browserName(in.UserAgent)})
	}
	a.render(w, r, "devices", "Your devices", d)
}

// logoutOthers ends every other session of the user. Their remember-me
// tokens go too, or those browsers would be logged straight back in; this
// browser gets a new token if it had one.
func (a *app) logoutOthers(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	u := a.currentUser(r)
	if u == nil {
		s.Flash("error", "Log in to see your devices")
		redirect(w, r, "/login")
		return
	}
	// The other sessions, to tell them why on their next request.
	others, err := a.sessions.UserSessions(r)
	if err != nil && !errors.Is(err, sesame.ErrNotSupported) {
		a.serverError(w, r, err)
		return
	}
	n, err := a.sessions.LogoutOtherDevices(r)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	var hashes []string
	for _, in := range others {
		if !in.Current {
			hashes = append(hashes, in.Hash)
		}
	}
	a.signedOut.add(a.now(), signedOutByOtherDevice, hashes...)
	if _, err := a.remember.RevokeOthers(w, r, u.ID); err != nil {
		a.serverError(w, r, err)
		return
	}
	s.Flash("success", fmt.Sprintf("Logged out %d other %s", n, plural(n, "session", "sessions")))
	redirect(w, r, "/devices")
}

// plural returns one or many, as n asks.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// browserName summarises a User-Agent header: "Chrome on Linux". It is a
// label for people, not a check of anything.
func browserName(ua string) string {
	if ua == "" {
		return "Unknown browser"
	}
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"HeadlessChrome/", "Headless Chrome"},
		{"Edg/", "Edge"},
		{"OPR/", "Opera"},
		{"Firefox/", "Firefox"},
		{"Chrome/", "Chrome"},
		{"Chromium/", "Chromium"},
		{"Safari/", "Safari"},
		{"curl/", "curl"},
		{"Go-http-client/", "Go HTTP client"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"},
		{"iPhone", "iOS"},
		{"iPad", "iPadOS"},
		{"Windows", "Windows"},
		{"Mac OS X", "macOS"},
		{"CrOS", "ChromeOS"},
		{"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}
