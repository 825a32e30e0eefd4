package admin

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNiceCeil(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{0, 0}, {-3, 0}, {0.3, 0.5}, {1, 1}, {1.2, 2}, {3, 5}, {7, 10}, {10, 10}, {11, 20}, {240, 500}, {999, 1000},
	}
	for _, tt := range tests {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestChartSVG(t *testing.T) {
	start := time.Date(2026, 3, 1, 11, 1, 0, 0, time.UTC)
	values := make([]float64, 60)
	values[10], values[59] = 4, 2
	s := series{Label: `Created <"&>`, Values: values, Start: start, Class: "created"}
	svg := string(s.SVG())
	if got := strings.Count(svg, "<rect "); got != 2 {
		t.Errorf("%d bars, want one per non-zero minute (2)", got)
	}
	for _, want := range []string{`aria-label="Created &lt;&#34;&amp;&gt;"`, `<title>11:11: 4</title>`, `<title>12:00: 2</title>`, `>5</text>`, `>11:01</text>`, `>12:00</text>`} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart lacks %s:\n%s", want, svg)
		}
	}
	if regexp.MustCompile(`(?i)<script|style=|<style|\son[a-z]+=`).MatchString(svg) {
		t.Errorf("the chart holds something a strict CSP refuses:\n%s", svg)
	}
	// The tallest bar reaches the top of the scale in proportion: 4 of 5.
	if !strings.Contains(svg, `height="78.4"`) {
		t.Errorf("the bar of 4 on a scale of 5 is not 4/5 of the plot's 98 units:\n%s", svg)
	}
	if s.Total() != 6 || s.Peak() != 4 {
		t.Errorf("Total, Peak = %v, %v; want 6, 4", s.Total(), s.Peak())
	}
	empty := string(series{Label: "none", Values: make([]float64, 60), Start: start}.SVG())
	if strings.Contains(empty, "<rect") || strings.Count(empty, ">0</text>") != 1 {
		t.Error("an empty series draws bars, or labels its top 0 as well as its bottom")
	}
	wide := string(series{Label: "wide", Values: values, Start: start, Wide: true}.SVG())
	if !strings.Contains(wide, `viewBox="0 0 1200 130"`) || !strings.Contains(wide, `x="1196.0" y="122" text-anchor="end">12:00<`) {
		t.Errorf("a wide chart is not drawn on 1200 units:\n%s", wide)
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{3, "", "3"}, {0.25, "ms", "0.25 ms"}, {1.5, "ms", "1.5 ms"}, {2.999, "", "3"}, {1000, "ms", "1000 ms"},
	}
	for _, tt := range tests {
		if got := formatValue(tt.v, tt.unit); got != tt.want {
			t.Errorf("formatValue(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
}
