package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestCartCookieCodec(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the cart, formatted back
	}{
		{"an empty cookie", "", ""},
		{"one line", "mug:1", "mug:1"},
		{"catalog order", "mug:1|bagel:2", "bagel:2|mug:1"},
		{"unknown SKUs are dropped", "caviar:1|mug:1", "mug:1"},
		{"bad quantities are dropped", "mug:0|bagel:-1|tahini:x|cookies:1e3", ""},
		{"leading zeros or signs are dropped", "mug:01|bagel:+2", ""},
		{"too many of one line is dropped", "mug:100000|bagel:99999", "bagel:99999"},
		{"the first of a repeated SKU wins", "mug:2|mug:9", "mug:2"},
		{"garbage", "||:|mug|:3|mug:3:4", ""},
		{"an oversized cookie is ignored", strings.Repeat("mug:1|", 200), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatCartCookie(parseCartCookie(tt.in)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseQty(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"", 1, false}, {"1", 1, false}, {" 7 ", 7, false}, {"99", 99, false},
		{"0", 0, true}, {"100", 0, true}, {"-1", 0, true}, {"2.5", 0, true}, {"two", 0, true},
	}
	for _, tt := range tests {
		got, err := parseQty(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseQty(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCartTotals(t *testing.T) {
	c := cart{"mug": 2, "bagel": 3}
	if c.Count() != 5 || c.Total() != 2*1200+3*250 || money(c.Total()) != "€31.50" {
		t.Errorf("count %d, total %d (%s)", c.Count(), c.Total(), money(c.Total()))
	}
	for _, p := range catalog {
		if p.SKU != strings.ToLower(p.SKU) || strings.ContainsAny(p.SKU, ":|. ") {
			t.Errorf("SKU %q cannot go in a cookie or a session key as it is", p.SKU)
		}
	}
}

// FuzzParseCartCookie: the cart cookie is client input. Parsing never
// panics, keeps only catalog SKUs with sane quantities, and what it keeps
// survives a round trip.
func FuzzParseCartCookie(f *testing.F) {
	for _, s := range []string{"", "mug:1", "bagel:2|mug:1", "mug:99999|x:1", "||:", "mug:1|mug:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := parseCartCookie(s)
		for sku, q := range c {
			if _, ok := findProduct(sku); !ok || q < 1 || q > maxLineQty {
				t.Fatalf("parseCartCookie(%q) kept %s:%d", s, sku, q)
			}
		}
		if again := parseCartCookie(formatCartCookie(c)); fmt.Sprint(again) != fmt.Sprint(c) {
			t.Fatalf("round trip of %v gave %v", c, again)
		}
	})
}
