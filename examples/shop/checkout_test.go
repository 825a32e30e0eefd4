package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCheckoutWizard(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServer(t, store).client(t)
		c.login("alice@example.com", "wonderland", false)

		// An empty cart cannot check out.
		if r := c.get("/checkout/1"); r.StatusCode != http.StatusSeeOther || r.location() != "/cart" {
			t.Errorf("checkout with an empty cart: %d to %q, want 303 to /cart", r.StatusCode, r.location())
		}
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"tahini"}, "qty": {"2"}}, "/")

		if r := c.get("/checkout"); r.location() != "/checkout/1" {
			t.Errorf("GET /checkout goes to %q, want /checkout/1", r.location())
		}
		// Steps not reached yet send back to the furthest one.
		if r := c.get("/checkout/3"); r.StatusCode != http.StatusSeeOther || r.location() != "/checkout/1" {
			t.Errorf("GET /checkout/3 before step 1: %d to %q", r.StatusCode, r.location())
		}
		// A step without its input stays put, keeping what was typed.
		c.submitSeeOther("/checkout/1", "/checkout/1", url.Values{"name": {"Alice Liddell"}}, "/checkout/1")
		page := c.page("/checkout/1")
		if !strings.Contains(page, "Please enter your name and address") || !strings.Contains(page, `value="Alice Liddell"`) {
			t.Errorf("step 1 after a missing address:\n%.2500s", page)
		}
		c.submitSeeOther("/checkout/1", "/checkout/1", url.Values{"name": {"Alice Liddell"}, "address": {"1 Rabbit Hole"}}, "/checkout/2")
		if st := c.state(); st.CheckoutStep != 2 {
			t.Errorf("checkout_step = %d, want 2", st.CheckoutStep)
		}
		c.submitSeeOther("/checkout/2", "/checkout/2", url.Values{"delivery": {"express"}}, "/checkout/3")

		// Back from step 3 (saving its input), back from step 2: every
		// input is still there.
		c.submitSeeOther("/checkout/3", "/checkout/3", url.Values{"payment": {"invoice"}, "action": {"back"}}, "/checkout/2")
		if page := c.page("/checkout/2"); !strings.Contains(page, `value="express" id="delivery-express" checked`) {
			t.Error("step 2 forgot the delivery option")
		}
		c.submitSeeOther("/checkout/2", "/checkout/2", url.Values{"delivery": {"express"}, "action": {"back"}}, "/checkout/1")
		page = c.page("/checkout/1")
		if !strings.Contains(page, `value="Alice Liddell"`) || !strings.Contains(page, ">1 Rabbit Hole</textarea>") {
			t.Errorf("step 1 forgot its input:\n%.2500s", page)
		}
		// Forward again: step 3 remembers the payment chosen before going back.
		c.submitSeeOther("/checkout/1", "/checkout/1", url.Values{"name": {"Alice Liddell"}, "address": {"1 Rabbit Hole"}}, "/checkout/2")
		c.submitSeeOther("/checkout/2", "/checkout/2", url.Values{"delivery": {"express"}}, "/checkout/3")
		page = c.page("/checkout/3")
		if !strings.Contains(page, `value="invoice" id="payment-invoice" checked`) || !strings.Contains(page, "Alice Liddell") || !strings.Contains(page, "€13.80") {
			t.Errorf("step 3 lacks the payment, the name or the subtotal:\n%.3000s", page)
		}
		// The total includes the delivery fee, and the delivery is named
		// for people, not by its form value.
		for _, want := range []string{`id="checkout-total">€18.70<`, `id="delivery-label">Express delivery (next day)<`, `id="delivery-fee">€4.90<`} {
			if !strings.Contains(page, want) {
				t.Errorf("step 3 lacks %s", want)
			}
		}
		if strings.Contains(page, "delivery: express") {
			t.Error("step 3 shows the delivery's raw value")
		}
		// An invalid choice is refused.
		c.submitSeeOther("/checkout/3", "/checkout/3", url.Values{"payment": {"bitcoin"}}, "/checkout/3")
		if got := c.state().Flash["error"]; got != "Please choose a payment method" {
			t.Errorf("flash after an invalid payment = %v", got)
		}

		// Placing the order ends on its confirmation: number and total.
		c.submitSeeOther("/checkout/3", "/checkout/3", url.Values{"payment": {"card"}}, "/orders/SO-1001")
		page = c.page("/orders/SO-1001")
		for _, want := range []string{`id="order-number">SO-1001<`, `id="order-total">€18.70<`, "Express delivery (next day)", "Card, at the payment provider", "1 Rabbit Hole"} {
			if !strings.Contains(page, want) {
				t.Errorf("the confirmation lacks %s:\n%.3000s", want, page)
			}
		}
		st := c.state()
		if len(st.Cart) != 0 || st.CheckoutStep != 0 || st.Orders != 1 {
			t.Errorf("after placing the order: cart %v, step %d, orders %d; want empty, 0, 1", st.Cart, st.CheckoutStep, st.Orders)
		}
		// The order history lists it; another user sees neither.
		if page := c.page("/orders"); !strings.Contains(page, `href="/orders/SO-1001"`) || !strings.Contains(page, "€18.70") {
			t.Errorf("the order history lacks the order:\n%.3000s", page)
		}
		bob := c.srv.client(t)
		bob.login("bob@example.com", "builder", false)
		if r := bob.get("/orders/SO-1001"); r.StatusCode != http.StatusNotFound {
			t.Errorf("another user's order: status %d, want 404", r.StatusCode)
		}
		if page := bob.page("/orders"); strings.Contains(page, "SO-1001") || !strings.Contains(page, `id="no-orders"`) {
			t.Errorf("another user's history shows alice's order, or not that it is empty:\n%s", page)
		}
		// The next checkout starts from scratch.
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}}, "/")
		if page := c.page("/checkout/1"); strings.Contains(page, "Alice Liddell") {
			t.Error("the finished checkout's input is still there")
		}
	})
}

func TestGuestCheckout(t *testing.T) {
	c := newServer(t, "file").client(t)
	c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"bagel"}}, "/")
	c.submitSeeOther("/checkout/1", "/checkout/1", url.Values{"name": {"G. Uest"}, "address": {"Somewhere"}}, "/checkout/2")
	c.submitSeeOther("/checkout/2", "/checkout/2", url.Values{"delivery": {"standard"}}, "/checkout/3")
	c.submitSeeOther("/checkout/3", "/checkout/3", url.Values{"payment": {"invoice"}}, "/orders/SO-1001")
	if c.cookie("cart") != nil {
		t.Error("the guest cart cookie survived the order")
	}
	if st := c.state(); st.Orders != 1 {
		t.Errorf("guest order: orders %d", st.Orders)
	}
	// The guest sees the confirmation, with standard delivery free; nobody
	// else does; a guest has no order history.
	if page := c.page("/orders/SO-1001"); !strings.Contains(page, `id="order-total">€2.50<`) || !strings.Contains(page, `id="order-delivery">free<`) {
		t.Errorf("the guest's confirmation:\n%.3000s", page)
	}
	if r := c.srv.client(t).get("/orders/SO-1001"); r.StatusCode != http.StatusNotFound {
		t.Errorf("another browser sees the guest's order: %d", r.StatusCode)
	}
	if r := c.get("/orders"); r.StatusCode != http.StatusSeeOther || r.location() != "/login?for=orders" {
		t.Errorf("a guest's order history: %d to %q, want 303 to /login?for=orders", r.StatusCode, r.location())
	}
}

func TestCheckoutUnknownStep(t *testing.T) {
	c := newServer(t, "memory").client(t)
	for _, p := range []string{"/checkout/0", "/checkout/4", "/checkout/01", "/checkout/x"} {
		if r := c.get(p); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, r.StatusCode)
		}
	}
}

// TestPlaceOrderOnce submits the last step ten times at once, as an
// impatient double (or tenfold) click does: the session lock serialises
// them, so exactly one order is placed.
func TestPlaceOrderOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		c := newServerWith(t, store, serverOptions{slowLoad: 20 * time.Millisecond}).client(t)
		c.login("bob@example.com", "builder", false)
		c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}}, "/")
		c.submitSeeOther("/checkout/1", "/checkout/1", url.Values{"name": {"Bob"}, "address": {"Site 1"}}, "/checkout/2")
		c.submitSeeOther("/checkout/2", "/checkout/2", url.Values{"delivery": {"standard"}}, "/checkout/3")
		token := c.token("/checkout/3")
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				r := c.post("/checkout/3", url.Values{"_csrf": {token}, "payment": {"card"}})
				if r.StatusCode != http.StatusSeeOther {
					t.Errorf("place order: status %d: %.200s", r.StatusCode, r.body)
				}
			})
		}
		wg.Wait()
		if st := c.state(); st.Orders != 1 {
			t.Errorf("%d orders placed by 10 concurrent submits, want 1", st.Orders)
		}
	})
}

func TestValidateStep(t *testing.T) {
	tests := []struct {
		step   int
		values map[string]string
		want   string
	}{
		{1, map[string]string{"name": "A", "address": "B"}, ""},
		{1, map[string]string{"name": "A"}, "Please enter your name and address"},
		{1, map[string]string{"name": strings.Repeat("a", 201), "address": "B"}, "Name or address too long"},
		{2, map[string]string{"delivery": "express"}, ""},
		{2, map[string]string{"delivery": "teleport"}, "Please choose a delivery option"},
		{3, map[string]string{"payment": "card"}, ""},
		{3, map[string]string{}, "Please choose a payment method"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("step %d %v", tt.step, tt.values), func(t *testing.T) {
			if got := validateStep(tt.step, tt.values); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckoutRefusesOversizedFields(t *testing.T) {
	c := newServer(t, "memory").client(t)
	c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}}, "/")
	long := strings.Repeat("x", 501)
	for _, action := range []string{"next", "back"} {
		c.submitSeeOther("/checkout/1", "/checkout/1", url.Values{"name": {"A"}, "address": {long}, "action": {action}}, "/checkout/1")
		if got := c.state().Flash["error"]; got != "Name or address too long" {
			t.Errorf("action %s: flash %v", action, got)
		}
		if page := c.page("/checkout/1"); strings.Contains(page, long) {
			t.Errorf("action %s: the oversized address was saved", action)
		}
	}
}
