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
	Language     string         `json:"language"`
	CheckoutStep int            `json:"checkout_step"` // furthest step reached, 0 outside checkout
	Orders       int64          `json:"orders"`
	Flash        map[string]any `json:"flash"`
}

// apiState reports what the session and the cookies hold for this client.
// Reading it consumes the flash messages, as a page does; it does not count
// as a page view and sets no cookie.
func (a *app) apiState(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	c, err := a.cart(r)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	theme, lang := preferences(r)
	st := state{
		Cart:      c,
		PageViews: sesame.GetOr[int64](s, pageViewsKey, 0),
		Recent:    recentPages(s),
		Visits:    a.visitCount(r),
		Theme:     theme,
		Language:  lang,
		Orders:    sesame.GetOr[int64](s, ordersKey, 0),
		Flash:     s.Flashes().All(),
	}
	if s.Has(stepKey) {
		st.CheckoutStep = reachedStep(s)
	}
	if u := a.currentUser(r); u != nil {
		st.User = &u.Email
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(st)
}
