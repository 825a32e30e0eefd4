package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sesamego/sesame/cookies"
)

// A visit summarises the analytics cookies for a page.
type visit struct {
	// Count is the number of visits, from the signed visits cookie.
	Count int
	// First is the time of the first visit; Previous the time of the page
	// view before this one (zero on the first).
	First, Previous time.Time
}

// trackVisit updates the analytics cookies for a page view and returns them:
//
//   - visits counts visits: a page view after visitGap (30 minutes) without
//     one starts a new visit, as analytics tools count them. It is signed
//     (cookies.Jar), so it can be read but not forged: a changed value does
//     not open and the count starts again at 1.
//   - first_visit is set once; last_visit is updated on every page view.
//     Both are plain RFC 3339 times that the page's script may read.
//
// It must run before the response's header is written.
func (a *app) trackVisit(w http.ResponseWriter, r *http.Request) visit {
	now := a.now().UTC().Truncate(time.Second)
	v := visit{First: now}
	if s, ok := a.visits.GetSigned(w, r, visitsCookie); ok {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			v.Count = n
		}
	}
	first, firstOK := cookieTime(r, firstVisitCookie)
	if firstOK {
		v.First = first
	}
	v.Previous, _ = cookieTime(r, lastVisitCookie)

	o := a.prefOpts
	o.MaxAge = year
	if v.Count == 0 || v.Previous.IsZero() || now.Sub(v.Previous) >= visitGap {
		v.Count++
		if err := a.visits.SetSigned(w, visitsCookie, strconv.Itoa(v.Count)); err != nil {
			a.log.Error("shop: setting the visits cookie", "error", err)
		}
	}
	if !firstOK {
		if err := cookies.Set(w, firstVisitCookie, now.Format(time.RFC3339), o); err != nil {
			a.log.Error("shop: setting the first_visit cookie", "error", err)
		}
	}
	if err := cookies.Set(w, lastVisitCookie, now.Format(time.RFC3339), o); err != nil {
		a.log.Error("shop: setting the last_visit cookie", "error", err)
	}
	return v
}

// visitCount returns the signed visit count without changing anything, for
// /api/state.
func (a *app) visitCount(r *http.Request) int {
	if s, ok := a.visits.GetSigned(nil, r, visitsCookie); ok {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// cookieTime reads an RFC 3339 time from a cookie.
func cookieTime(r *http.Request, name string) (time.Time, bool) {
	s, ok := cookies.Get(r, name)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
