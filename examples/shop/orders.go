package main

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sesamego/sesame"
)

// An order is a placed order, as its confirmation page and the order history
// show it.
type order struct {
	Number   string
	UserID   string // "" for a guest's order
	Placed   time.Time
	Lines    []cartLine
	Subtotal int // cents
	Delivery option
	Payment  option
	Total    int // Subtotal plus the delivery fee
	Name     string
	Address  string
}

// Count returns the number of items ordered.
func (o *order) Count() int {
	n := 0
	for _, l := range o.Lines {
		n += l.Qty
	}
	return n
}

// orderBook keeps the orders in memory: a real shop has a database for
// them, and this demo's orders are gone when it restarts. It is safe for
// concurrent use.
type orderBook struct {
	mu     sync.Mutex
	next   int
	byNum  map[string]*order
	byUser map[string][]*order
}

func newOrderBook() *orderBook {
	return &orderBook{next: 1001, byNum: map[string]*order{}, byUser: map[string][]*order{}}
}

// add numbers o and keeps it.
func (b *orderBook) add(o *order) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o.Number = fmt.Sprintf("SO-%d", b.next)
	b.next++
	b.byNum[o.Number] = o
	if o.UserID != "" {
		b.byUser[o.UserID] = append(b.byUser[o.UserID], o)
	}
}

// get returns the order numbered n, or nil.
func (b *orderBook) get(n string) *order {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byNum[n]
}

// of returns a user's orders, newest first.
func (b *orderBook) of(userID string) []*order {
	b.mu.Lock()
	defer b.mu.Unlock()
	orders := slices.Clone(b.byUser[userID])
	slices.Reverse(orders)
	return orders
}

// placeOrder turns the cart and the checkout's input into an order, then
// forgets the cart and the checkout's input and shows the confirmation.
// It runs under the session lock (see app.routes): a double click cannot
// place two orders.
func (a *app) placeOrder(w http.ResponseWriter, r *http.Request) {
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
	v := checkoutValues(s)
	delivery, _ := findOption(deliveryOptions, v["delivery"])
	payment, _ := findOption(paymentOptions, v["payment"])
	o := &order{
		UserID:   s.UserID(),
		Placed:   a.now().UTC(),
		Lines:    c.Lines(),
		Subtotal: c.Total(),
		Delivery: delivery,
		Payment:  payment,
		Total:    c.Total() + delivery.Fee,
		Name:     v["name"],
		Address:  v["address"],
	}
	if _, err := s.Increment(ordersKey, 1); err != nil {
		a.serverError(w, r, err)
		return
	}
	if err := a.emptyCart(w, r); err != nil {
		a.serverError(w, r, err)
		return
	}
	a.orders.add(o)
	// The session may show its own orders: a guest has no order history,
	// but sees the confirmation.
	s.PushKeep(placedKey, o.Number, 20)
	forgetCheckout(s)
	a.log.Info("shop: order placed", "order", o.Number, "user", o.UserID, "items", o.Count(), "total", money(o.Total))
	redirect(w, r, "/orders/"+o.Number)
}

// orderPage is an order's confirmation: its number, what was ordered and
// the total. Only the session that placed it, or its user, may see it.
func (a *app) orderPage(w http.ResponseWriter, r *http.Request) {
	o := a.orders.get(r.PathValue("number"))
	if o == nil || !a.mayView(r, o) {
		a.notFound(w, r)
		return
	}
	a.render(w, r, "order", "Order "+o.Number, o)
}

// mayView reports whether the request's session placed o or belongs to
// its user.
func (a *app) mayView(r *http.Request, o *order) bool {
	s := sesame.From(r)
	if o.UserID != "" && o.UserID == s.UserID() {
		return true
	}
	placed, _ := sesame.Get[[]string](s, placedKey)
	return slices.Contains(placed, o.Number)
}

// ordersPage is the logged-in user's order history, newest first.
func (a *app) ordersPage(w http.ResponseWriter, r *http.Request) {
	u := a.currentUser(r)
	if u == nil {
		redirect(w, r, "/login?for=orders")
		return
	}
	a.render(w, r, "orders", "Your orders", a.orders.of(u.ID))
}
