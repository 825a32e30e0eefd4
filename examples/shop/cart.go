package main

import (
	"fmt"
	"net/http"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/cookies"
)

// The cart lives in one of two places:
//
//   - A guest's cart is the cart cookie ("bagel:2|mug:1"), which the page's
//     script reads for the badge. A cookie is rewritten whole by each
//     response, so two adds sent at the same moment from two tabs can lose
//     one: that is the limit of keeping state in a cookie.
//   - A logged-in user's cart is in the session, one key per SKU
//     ("cart.bagel" = 2), and adds use Session.Increment, which the store
//     applies atomically: adds from any number of tabs at once all count.
//     (One "cart" map in one key would lose updates too: sesame merges
//     concurrent requests key by key.)
//
// At login the guest cart is added to the session cart and its cookie
// cleared.

// cart returns the request's cart.
func (a *app) cart(r *http.Request) (cart, error) {
	s := sesame.From(r)
	if s.UserID() == "" {
		return a.guestCart(r), s.Err()
	}
	c := cart{}
	for _, p := range catalog {
		if q := sesame.GetOr(s, cartPrefix+p.SKU, 0); q > 0 {
			c[p.SKU] = q
		}
	}
	return c, s.Err()
}

// guestCart reads the cart cookie.
func (a *app) guestCart(r *http.Request) cart {
	v, _ := cookies.Get(r, cartCookie)
	return parseCartCookie(v)
}

// setGuestCart writes the cart cookie, or clears it when c is empty.
func (a *app) setGuestCart(w http.ResponseWriter, c cart) error {
	o := a.prefOpts
	if len(c) == 0 {
		return cookies.Clear(w, cartCookie, o)
	}
	o.MaxAge = cartLifetime
	return cookies.Set(w, cartCookie, formatCartCookie(c), o)
}

// mergeGuestCart adds the guest cart to the session's (logged-in) cart and
// clears the cookie. It runs at login, after the session got its user.
func (a *app) mergeGuestCart(w http.ResponseWriter, r *http.Request) error {
	if _, present := cookies.Get(r, cartCookie); !present {
		return nil
	}
	guest := a.guestCart(r)
	s := sesame.From(r)
	for sku, q := range guest {
		if _, err := s.Increment(cartPrefix+sku, int64(q)); err != nil {
			return err
		}
	}
	return cookies.Clear(w, cartCookie, a.prefOpts)
}

// emptyCart empties the request's cart (an order was placed).
func (a *app) emptyCart(w http.ResponseWriter, r *http.Request) error {
	s := sesame.From(r)
	if s.UserID() == "" {
		return a.setGuestCart(w, nil)
	}
	for _, p := range catalog {
		s.Forget(cartPrefix + p.SKU)
	}
	return nil
}

// cartPage shows the cart.
func (a *app) cartPage(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, "cart", "Cart", nil)
}

// cartAdd adds qty (1 to 99) of sku to the cart and goes back to the page
// the form was on (the home page or the cart).
func (a *app) cartAdd(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	back := backTo(r, "/")
	p, ok := findProduct(r.PostFormValue("sku"))
	if !ok {
		s.Flash("error", "Unknown product")
		redirect(w, r, back)
		return
	}
	qty, err := parseQty(r.PostFormValue("qty"))
	if err != nil {
		s.Flash("error", "Invalid quantity: "+err.Error())
		redirect(w, r, back)
		return
	}
	if s.UserID() != "" {
		if _, err := s.Increment(cartPrefix+p.SKU, int64(qty)); err != nil {
			a.serverError(w, r, err)
			return
		}
	} else {
		c := a.guestCart(r)
		c[p.SKU] = min(c[p.SKU]+qty, maxLineQty)
		if err := a.setGuestCart(w, c); err != nil {
			a.serverError(w, r, err)
			return
		}
	}
	s.Flash("success", fmt.Sprintf("Added %d × %s to your cart", qty, p.Name))
	redirect(w, r, back)
}

// cartRemove removes sku's line from the cart.
func (a *app) cartRemove(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	p, ok := findProduct(r.PostFormValue("sku"))
	if !ok {
		s.Flash("error", "Unknown product")
		redirect(w, r, "/cart")
		return
	}
	if s.UserID() != "" {
		s.Forget(cartPrefix + p.SKU)
	} else {
		c := a.guestCart(r)
		delete(c, p.SKU)
		if err := a.setGuestCart(w, c); err != nil {
			a.serverError(w, r, err)
			return
		}
	}
	s.Flash("success", "Removed "+p.Name+" from your cart")
	redirect(w, r, "/cart")
}

// backTo returns the form's "back" field when it names one of the app's
// pages that forms post from, else def: never an address elsewhere.
func backTo(r *http.Request, def string) string {
	switch b := r.PostFormValue("back"); b {
	case "/", "/cart":
		return b
	}
	return def
}
