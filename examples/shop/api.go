package main

import (
	"encoding/json"
	"net/http"

	"github.com/sesamego/sesame"
)

// state is the JSON of GET /api/state.
type state struct {
	User         *string        `json:"user"` // email, or null for a guest
	Cart         map[string]int `json:"cart"`
	PageViews    int64          `json:"page_views"`
	Recent       []pageView     `json:"recent"` // the last pages viewed, newest first
	Visits       int            `json:"visits"`
	Theme        string         `json:"theme"`
	CheckoutStep int            `json:"checkout_step"` // furthest step reached, 0 outside checkout
	Orders       int64          `json:"orders"`
	Flash        map[string]any `json:"flash"`
	// Stored is false while the client has no session in the store (a
	// guest who only browsed).
	Stored bool `json:"stored"`
}

// state reports what the session and the cookies hold for this client.
// Reading it consumes the flash messages, as a page does.
func (a *app) state(r *http.Request) (state, error) {
	s := sesame.From(r)
	c, err := a.cart(r)
	if err != nil {
		return state{}, err
	}
	st := state{
		Cart:      c,
		PageViews: sesame.GetOr[int64](s, pageViewsKey, 0),
		Recent:    recentPages(s),
		Visits:    a.visitCount(r),
		Theme:     preferredTheme(r),
		Orders:    sesame.GetOr[int64](s, ordersKey, 0),
		Flash:     s.Flashes().All(),
		Stored:    !s.IsNew(),
	}
	if w := warning(r); w != "" {
		if st.Flash == nil {
			st.Flash = map[string]any{}
		}
		st.Flash["warning"] = w
	}
	if s.Has(stepKey) {
		st.CheckoutStep = reachedStep(s)
	}
	if u := a.currentUser(r); u != nil {
		st.User = &u.Email
	}
	return st, nil
}

// apiState serves the state as JSON. It does not count as a page view and
// sets no cookie.
func (a *app) apiState(w http.ResponseWriter, r *http.Request) {
	st, err := a.state(r)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(st)
}

// stateData is the state template's Data.
type stateData struct {
	State state
	JSON  string
}

// statePage shows the state for people: what the menu's "Your session"
// links to, with a way back and a link to the JSON.
func (a *app) statePage(w http.ResponseWriter, r *http.Request) {
	// Read before render, which counts this page view: the page shows the
	// state as it was when the page was asked for.
	st, err := a.state(r)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.render(w, r, "state", "Your session", stateData{State: st, JSON: string(b)})
}
