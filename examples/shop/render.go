package main

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/csrf"
	"github.com/sesamego/sesame/secureheaders"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"home", "login", "cart", "checkout", "devices", "debug", "order", "orders", "state", "notfound"}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"money": money,
		"ago":   ago,
		"date":  func(t time.Time) string { return t.Format("2 Jan 2006 15:04 MST") },
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parsing template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// pageData is what every page's template gets; Data is the page's own.
type pageData struct {
	Title     string
	Page      string
	User      *user
	Flash     *sesame.Flashes
	CSRF      template.HTML // the hidden _csrf input, for every form
	Nonce     string        // for the inline script (the CSP asks for it)
	Theme     string
	Cart      cart
	PageViews int64
	Recent    []pageView // the pages viewed before this one, newest first
	Visit     visit
	Dev       bool
	Anomaly   string
	Warning   string // a flashed warning, or why this browser was logged out
	Data      any
}

// render runs the page's template and sends it with status 200. See
// renderStatus.
func (a *app) render(w http.ResponseWriter, r *http.Request, page, title string, data any) {
	a.renderStatus(w, r, http.StatusOK, page, title, data)
}

// renderStatus runs the page's template and sends it with status code.
// Everything that touches the session or sets cookies happens before the
// first byte, which is when sesame commits the session: the visit tracked,
// the flash read and, in a session that exists already, the page view
// counted and the CSRF token made. A guest who only browses never gets a
// session: the page view counter and the recently viewed pages start with
// the first thing that creates one (adding to the cart, logging in). A
// template error gives a 500 instead of half a page.
func (a *app) renderStatus(w http.ResponseWriter, r *http.Request, code int, page, title string, data any) {
	s := sesame.From(r)
	var (
		views  int64
		recent []pageView
		field  template.HTML
	)
	if !s.IsNew() {
		var err error
		views, err = s.Increment(pageViewsKey, 1) // atomic in the store
		if err != nil {
			a.log.Warn("shop: page_views is not a number", "error", err)
		}
		recent = recentPages(s)
		// Appended in the store at commit: pages opened in several tabs at
		// once are all kept, and only the last ones. Error pages are not
		// worth going back to.
		if code == http.StatusOK {
			s.PushKeep(recentKey, pageView{Path: r.URL.Path, Title: title, At: a.now().UTC().Truncate(time.Second)}, recentPagesKept)
		}
	}
	if s.UserID() != "" {
		field = csrf.TemplateField(r) // guests need none: see app.routes
	}
	if err := s.Err(); err != nil {
		a.serverError(w, r, err)
		return
	}
	c, err := a.cart(r)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	d := pageData{
		Title:     title,
		Page:      page,
		User:      a.currentUser(r),
		Flash:     s.Flashes(),
		CSRF:      field,
		Nonce:     secureheaders.Nonce(r),
		Theme:     preferredTheme(r),
		Cart:      c,
		PageViews: views,
		Recent:    recent,
		Visit:     a.trackVisit(w, r),
		Dev:       a.cfg.Dev,
		Anomaly:   s.Anomaly(),
		Warning:   warning(r),
		Data:      data,
	}
	var buf bytes.Buffer
	if err := a.pages[page].ExecuteTemplate(&buf, "layout", d); err != nil {
		a.serverError(w, r, fmt.Errorf("rendering %s: %w", page, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages hold a CSRF token and the user's data: no cache may keep them.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// A pageView is one entry of the recently viewed pages.
type pageView struct {
	Path  string    `json:"path"`
	Title string    `json:"title"`
	At    time.Time `json:"at"`
}

// recentPagesKept is how many page views the session keeps.
const recentPagesKept = 5

// recentPages returns the pages viewed in this session, newest first.
func recentPages(s *sesame.Session) []pageView {
	pages, _ := sesame.Get[[]pageView](s, recentKey)
	slices.Reverse(pages)
	return pages
}

// notFound is the styled 404 page.
func (a *app) notFound(w http.ResponseWriter, r *http.Request) {
	a.renderStatus(w, r, http.StatusNotFound, "notfound", "Page not found", r.URL.Path)
}

// currentUser returns the session's user, or nil.
func (a *app) currentUser(r *http.Request) *user {
	return a.users.byUserID(sesame.From(r).UserID())
}

// ago describes how long ago t was, roughly.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < 2*time.Minute:
		return "a minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 2*time.Hour:
		return "an hour ago"
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}
