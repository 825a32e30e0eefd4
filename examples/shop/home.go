package main

import "net/http"

// homeData is the home template's Data.
type homeData struct {
	Catalog   []product
	Themes    []string
	Languages []languageChoice
}

// A languageChoice is one entry of the language menu.
type languageChoice struct{ Code, Name string }

// home shows the catalog, the preferences form and what the cookies and the
// session hold.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	d := homeData{Catalog: catalog, Themes: themes}
	for _, l := range languages {
		d.Languages = append(d.Languages, languageChoice{l, translations[l].LanguageName})
	}
	a.render(w, r, "home", "Home", d)
}
