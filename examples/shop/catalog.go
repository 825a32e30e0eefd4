package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A product is one item of the demo catalog. Prices are in cents.
type product struct {
	SKU   string
	Name  string
	Blurb string
	Price int
}

// catalog is the shop's whole inventory. SKUs are lower-case ASCII so that
// they fit in a session key ("cart.<sku>") and a cookie without encoding.
var catalog = []product{
	{SKU: "bagel", Name: "Sesame bagel", Blurb: "Chewy, toasted, generously seeded.", Price: 250},
	{SKU: "cookies", Name: "Sesame cookies", Blurb: "A dozen, baked this morning. HttpOnly.", Price: 420},
	{SKU: "tahini", Name: "Tahini", Blurb: "Stone-ground sesame paste, 300 g.", Price: 690},
	{SKU: "mug", Name: "Open Sesame mug", Blurb: "Holds 350 ml of anything but secrets.", Price: 1200},
}

// findProduct returns the product with that SKU.
func findProduct(sku string) (product, bool) {
	i := slices.IndexFunc(catalog, func(p product) bool { return p.SKU == sku })
	if i < 0 {
		return product{}, false
	}
	return catalog[i], true
}

// Limits on quantities. One add may ask for 1 to maxAddQty items; a cart
// line read back from a cookie may hold up to maxLineQty (anything else in
// the cookie is ignored as garbage).
const (
	maxAddQty  = 99
	maxLineQty = 99999
)

// parseQty reads the qty form field: empty means 1.
func parseQty(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxAddQty {
		return 0, fmt.Errorf("quantity must be a whole number from 1 to %d", maxAddQty)
	}
	return n, nil
}

// A cart maps SKUs to quantities; every quantity is positive.
type cart map[string]int

// Count returns the number of items in the cart.
func (c cart) Count() int {
	n := 0
	for _, q := range c {
		n += q
	}
	return n
}

// A cartLine is one row of a rendered cart.
type cartLine struct {
	Product product
	Qty     int
	Total   int
}

// Lines returns the cart's rows in catalog order.
func (c cart) Lines() []cartLine {
	var lines []cartLine
	for _, p := range catalog {
		if q := c[p.SKU]; q > 0 {
			lines = append(lines, cartLine{Product: p, Qty: q, Total: q * p.Price})
		}
	}
	return lines
}

// Total returns the cart's price in cents.
func (c cart) Total() int {
	t := 0
	for _, l := range c.Lines() {
		t += l.Total
	}
	return t
}

// formatCartCookie encodes a guest cart for the cart cookie:
// "bagel:2|mug:1", in catalog order. Every character is a cookie octet, so
// the value needs no escaping and the page's script reads it as it is.
func formatCartCookie(c cart) string {
	var b strings.Builder
	for _, l := range c.Lines() {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(l.Product.SKU)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(l.Qty))
	}
	return b.String()
}

// parseCartCookie decodes a cart cookie. The cookie is client input: lines
// with an unknown SKU or a quantity outside 1..maxLineQty are dropped, and a
// SKU listed twice keeps its first quantity.
func parseCartCookie(v string) cart {
	c := cart{}
	if len(v) > 1024 {
		return c
	}
	for line := range strings.SplitSeq(v, "|") {
		sku, qty, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if _, known := findProduct(sku); !known {
			continue
		}
		n, err := strconv.Atoi(qty)
		if err != nil || n < 1 || n > maxLineQty || strconv.Itoa(n) != qty {
			continue
		}
		if _, dup := c[sku]; !dup {
			c[sku] = n
		}
	}
	return c
}

// money formats cents as euros: 1250 -> "€12.50".
func money(cents int) string {
	return fmt.Sprintf("€%d.%02d", cents/100, cents%100)
}
