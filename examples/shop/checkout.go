package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sesamego/sesame"
)

// The checkout wizard keeps each step's input in the session under
// "checkout.<field>", and the furthest step reached under "checkout.step".
// Going back or forward shows what was entered; placing the order empties
// the cart, forgets every checkout key and shows the order's confirmation
// (orders.go).

// checkoutFields are each step's form fields.
var checkoutFields = map[int][]string{
	1: {"name", "address"},
	2: {"delivery"},
	3: {"payment"},
}

// Choices of steps 2 and 3, with what the pages show and what they cost.
var (
	deliveryOptions = []option{
		{Value: "standard", Label: "Standard delivery (3–5 days)", Fee: 0},
		{Value: "express", Label: "Express delivery (next day)", Fee: 490},
	}
	paymentOptions = []option{
		{Value: "card", Label: "Card, at the payment provider's page"},
		{Value: "invoice", Label: "Invoice"},
	}
)

// maxFieldLen bounds every checkout field, so the session stays small.
const maxFieldLen = 500

// An option is one radio button: the value posted, the label people read,
// and its fee in cents (delivery).
type option struct {
	Value, Label string
	Fee          int
}

// findOption returns the option of opts whose value is v.
func findOption(opts []option, v string) (option, bool) {
	for _, o := range opts {
		if o.Value == v {
			return o, true
		}
	}
	return option{}, false
}

// validOption reports whether v is one of opts.
func validOption(opts []option, v string) bool {
	_, ok := findOption(opts, v)
	return ok
}

// checkoutData is the checkout template's Data.
type checkoutData struct {
	Step     int
	Values   map[string]string
	Delivery []option
	Payment  []option
	// Chosen is the delivery chosen at step 2, and Total the cart's total
	// with its fee (shown at step 3).
	Chosen option
	Total  int
}

// checkoutValues returns the saved input of every step.
func checkoutValues(s *sesame.Session) map[string]string {
	v := map[string]string{}
	for _, fields := range checkoutFields {
		for _, f := range fields {
			v[f] = sesame.GetOr(s, checkoutKey+f, "")
		}
	}
	return v
}

// reachedStep returns the furthest step the session may open (1 to 3).
func reachedStep(s *sesame.Session) int {
	return min(max(sesame.GetOr(s, stepKey, 1), 1), 3)
}

// stepOf reads {step} from the path: 1 to 3, or 0.
func stepOf(r *http.Request) int {
	n, err := strconv.Atoi(r.PathValue("step"))
	if err != nil || n < 1 || n > 3 || strconv.Itoa(n) != r.PathValue("step") {
		return 0
	}
	return n
}

// checkoutStart opens the furthest step reached.
func (a *app) checkoutStart(w http.ResponseWriter, r *http.Request) {
	redirect(w, r, fmt.Sprintf("/checkout/%d", reachedStep(sesame.From(r))))
}

// checkoutPage shows one step, filled with what the session holds. A step
// beyond the furthest reached redirects to that one; an empty cart sends the
// visitor to the cart.
func (a *app) checkoutPage(w http.ResponseWriter, r *http.Request) {
	step := stepOf(r)
	if step == 0 {
		a.notFound(w, r)
		return
	}
	s := sesame.From(r)
	c, err := a.cart(r)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	if len(c) == 0 {
		redirect(w, r, "/cart") // the cart page says it is empty
		return
	}
	if reached := reachedStep(s); step > reached {
		redirect(w, r, fmt.Sprintf("/checkout/%d", reached))
		return
	}
	values := checkoutValues(s)
	chosen, _ := findOption(deliveryOptions, values["delivery"])
	a.render(w, r, "checkout", fmt.Sprintf("Checkout, step %d of 3", step), checkoutData{
		Step:     step,
		Values:   values,
		Delivery: deliveryOptions,
		Payment:  paymentOptions,
		Chosen:   chosen,
		Total:    c.Total() + chosen.Fee,
	})
}

// checkoutSubmit saves a step's input and moves back (action=back, no
// validation) or forward (validated). Submitting step 3 places the order.
// It runs under the session lock (see app.routes).
func (a *app) checkoutSubmit(w http.ResponseWriter, r *http.Request) {
	step := stepOf(r)
	if step == 0 {
		a.notFound(w, r)
		return
	}
	s := sesame.From(r)
	if step > reachedStep(s) {
		redirect(w, r, fmt.Sprintf("/checkout/%d", reachedStep(s)))
		return
	}
	for _, f := range checkoutFields[step] {
		if len(r.PostFormValue(f)) > maxFieldLen {
			s.Flash("error", "Name or address too long")
			redirect(w, r, fmt.Sprintf("/checkout/%d", step))
			return
		}
	}
	for _, f := range checkoutFields[step] {
		s.Put(checkoutKey+f, strings.TrimSpace(r.PostFormValue(f)))
	}
	if r.PostFormValue("action") == "back" {
		redirect(w, r, fmt.Sprintf("/checkout/%d", max(step-1, 1)))
		return
	}
	values := checkoutValues(s)
	for st := 1; st <= step; st++ {
		if msg := validateStep(st, values); msg != "" {
			s.Flash("error", msg)
			redirect(w, r, fmt.Sprintf("/checkout/%d", st))
			return
		}
	}
	if step < 3 {
		s.Put(stepKey, max(reachedStep(s), step+1))
		redirect(w, r, fmt.Sprintf("/checkout/%d", step+1))
		return
	}
	a.placeOrder(w, r)
}

// validateStep returns what is wrong with a step's input, or "".
func validateStep(step int, v map[string]string) string {
	switch step {
	case 1:
		if v["name"] == "" || v["address"] == "" {
			return "Please enter your name and address"
		}
		if len(v["name"]) > 200 || len(v["address"]) > maxFieldLen {
			return "Name or address too long"
		}
	case 2:
		if !validOption(deliveryOptions, v["delivery"]) {
			return "Please choose a delivery option"
		}
	case 3:
		if !validOption(paymentOptions, v["payment"]) {
			return "Please choose a payment method"
		}
	}
	return ""
}

// forgetCheckout removes every checkout key.
func forgetCheckout(s *sesame.Session) {
	keys := []string{stepKey}
	for _, fields := range checkoutFields {
		for _, f := range fields {
			keys = append(keys, checkoutKey+f)
		}
	}
	s.Forget(keys...)
}
