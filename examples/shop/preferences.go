package main

import (
	"net/http"
	"slices"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/cookies"
)

// texts are the few words of the demo that follow the language preference.
type texts struct {
	LanguageName string
	Hello        string
	Guest        string
}

// translations are keyed by the language cookie's values.
var translations = map[string]texts{
	"en": {"English", "Hello", "guest"},
	"fr": {"Français", "Bonjour", "visiteur"},
	"de": {"Deutsch", "Hallo", "Gast"},
	"es": {"Español", "Hola", "invitado"},
}

// languages lists the translations in menu order.
var languages = []string{"en", "fr", "de", "es"}

// themes are the accepted values of the theme cookie.
var themes = []string{"light", "dark"}

// preferences returns the request's theme and language from their cookies,
// or the defaults when a cookie is missing or holds something unknown (it
// is client input).
func preferences(r *http.Request) (theme, lang string) {
	theme, lang = "light", "en"
	if v, ok := cookies.Get(r, themeCookie); ok && slices.Contains(themes, v) {
		theme = v
	}
	if v, ok := cookies.Get(r, languageCookie); ok && slices.Contains(languages, v) {
		lang = v
	}
	return theme, lang
}

// preferences saves the theme and language in cookies that scripts may read
// (the page applies the theme without asking the server), for a year. They
// are preferences, not secrets: plain cookies, kept across logout.
func (a *app) preferences(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	theme, lang := r.PostFormValue("theme"), r.PostFormValue("language")
	if !slices.Contains(themes, theme) || !slices.Contains(languages, lang) {
		s.Flash("error", "Unknown theme or language")
		redirect(w, r, "/")
		return
	}
	o := a.prefOpts
	o.MaxAge = year
	if err := cookies.Set(w, themeCookie, theme, o); err != nil {
		a.serverError(w, r, err)
		return
	}
	if err := cookies.Set(w, languageCookie, lang, o); err != nil {
		a.serverError(w, r, err)
		return
	}
	s.Flash("success", "Preferences saved")
	redirect(w, r, "/")
}
