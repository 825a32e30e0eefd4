package main

import (
	"net/http"

	"github.com/sesamego/sesame"
)

// loginPage shows the login form, refilled with the email of a failed
// attempt (old input kept by Session.FlashInput; never the password).
func (a *app) loginPage(w http.ResponseWriter, r *http.Request) {
	if a.currentUser(r) != nil {
		redirect(w, r, "/")
		return
	}
	var d loginData
	if p, ok := loginFor[r.URL.Query().Get("for")]; ok {
		d.For, d.Reason = r.URL.Query().Get("for"), "Log in to see "+p.what+"."
	}
	a.render(w, r, "login", "Log in", d)
}

// loginData is the login template's Data.
type loginData struct {
	For    string // a loginFor key: where to go after logging in
	Reason string // why the login page was shown, or ""
}

// loginFor are the pages that send guests to the login page (?for=NAME
// rather than a flash, which would start a session for a guest): where the
// login then goes, and what the page says.
var loginFor = map[string]struct{ path, what string }{
	"devices": {"/devices", "your devices"},
	"orders":  {"/orders", "your orders"},
}

// login checks the credentials. On success, remember.Manager.Login does the
// steps in their safe order: a new session ID (so an ID planted before login
// is worthless: session fixation), the user tied to the session (for the
// devices page), and with "remember me" a remember-me token. The guest cart
// joins the user's cart. On failure the email (not the password) is kept
// for the form, and the message does not say which of the two was wrong.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	u, ok := a.users.authenticate(r.PostFormValue("email"), r.PostFormValue("password"))
	if !ok {
		s.Flash("error", "Invalid credentials")
		s.FlashInput(r, "password")
		back := "/login"
		if _, ok := loginFor[r.PostFormValue("for")]; ok {
			back += "?for=" + r.PostFormValue("for")
		}
		redirect(w, r, back)
		return
	}
	if prev := s.UserID(); prev != "" && prev != u.ID {
		// Another user was logged in on this browser: their data (cart,
		// checkout) must not become this user's.
		s.Clear()
	}
	rememberMe := r.PostFormValue("remember") != ""
	if err := a.remember.Login(w, r, u.ID, rememberMe); err != nil {
		a.serverError(w, r, err)
		return
	}
	if err := a.mergeGuestCart(w, r); err != nil {
		a.serverError(w, r, err)
		return
	}
	s.Flash("success", "Welcome back!")
	next := "/"
	if p, ok := loginFor[r.PostFormValue("for")]; ok {
		next = p.path
	}
	redirect(w, r, next)
}

// logout logs the user out: remember.Manager.Logout revokes the remember-me
// token, clears its cookie and gives the session a new ID without a user
// (a copy of the old session cookie is worthless from now on); Clear forgets
// the user's data (cart, checkout, counters). Preference cookies (theme,
// language) stay: they belong to the browser, not to the account.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	if err := a.remember.Logout(w, r); err != nil {
		a.serverError(w, r, err)
		return
	}
	s.Clear()
	s.Flash("success", "Successfully logged out")
	redirect(w, r, "/")
}
