package main

import "net/http"

// homeData is the home template's Data.
type homeData struct {
	Catalog []product
	Themes  []string
}

// home shows the catalog, the preferences form and what the cookies and the
// session hold.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, "home", "Home", homeData{Catalog: catalog, Themes: themes})
}
