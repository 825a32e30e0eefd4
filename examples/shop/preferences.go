package main

import (
	"net/http"
	"slices"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/cookies"
)

// The shop is in English only: an earlier version had a language option
// that translated the greeting and nothing else, which is worse than none.
// The theme shows what a preference cookie is for.

// themes are the accepted values of the theme cookie.
var themes = []string{"light", "dark"}

// preferredTheme returns the request's theme from its cookie, or the default
// when the cookie is missing or holds something unknown (it is client
// input).
func preferredTheme(r *http.Request) string {
	if v, ok := cookies.Get(r, themeCookie); ok && slices.Contains(themes, v) {
		return v
	}
	return "light"
}

// preferences saves the theme in a cookie that scripts may read (the page
// applies the theme without asking the server), for a year. It is a
// preference, not a secret: a plain cookie, kept across logout.
func (a *app) preferences(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	theme := r.PostFormValue("theme")
	if !slices.Contains(themes, theme) {
		s.Flash("error", "Unknown theme")
		redirect(w, r, "/")
		return
	}
	o := a.prefOpts
	o.MaxAge = year
	if err := cookies.Set(w, themeCookie, theme, o); err != nil {
		a.serverError(w, r, err)
		return
	}
	s.Flash("success", "Preferences saved")
	redirect(w, r, "/")
}
