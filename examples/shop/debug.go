package main

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/sesamego/sesame"
)

// cookieHeaderWarn is the Cookie header size above which /debug warns: every
// request to the site carries it.
const cookieHeaderWarn = 1024

// debugCookie is one cookie of the request.
type debugCookie struct {
	Name   string
	Value  string // shown, or masked for credentials
	Size   int    // name and value, in bytes
	Masked bool
}

// debugKey is one key of the session.
type debugKey struct {
	Key  string
	Size int // the JSON of its value, in bytes
}

// debugData is the debug template's Data.
type debugData struct {
	Cookies      []debugCookie
	HeaderSize   int
	Warn         bool
	WarnAt       int
	SessionHash  string
	SessionUser  string
	Keys         []debugKey
	SessionBytes int
	CookieName   string
}

// credentialCookies hold bearer credentials: /debug never shows their
// values (a page can leak through a screenshot, a cache or a script).
var credentialCookies = []string{sessionCookie, "__Host-" + sessionCookie, rememberCookie}

// debugPage (dev mode only) shows what this request carries: its cookies and
// their sizes, the Cookie header's size with a warning past 1 KB, and the
// session's keys and sizes.
func (a *app) debugPage(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	d := debugData{WarnAt: cookieHeaderWarn, CookieName: a.sessions.CookieName()}
	for _, h := range r.Header.Values("Cookie") {
		d.HeaderSize += len(h)
	}
	d.Warn = d.HeaderSize > cookieHeaderWarn
	for _, c := range r.Cookies() {
		dc := debugCookie{Name: c.Name, Value: c.Value, Size: len(c.Name) + len(c.Value)}
		if slices.Contains(credentialCookies, c.Name) {
			dc.Value, dc.Masked = "", true
		}
		d.Cookies = append(d.Cookies, dc)
	}
	hash := s.Hash()
	if len(hash) > 12 {
		hash = hash[:12]
	}
	d.SessionHash, d.SessionUser = hash, s.UserID()
	for _, k := range s.Keys() {
		raw, _ := sesame.Get[json.RawMessage](s, k)
		d.Keys = append(d.Keys, debugKey{Key: k, Size: len(k) + len(raw)})
	}
	d.SessionBytes = s.Size()
	a.render(w, r, "debug", "Debug", d)
}
