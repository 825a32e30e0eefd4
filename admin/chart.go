package admin

import (
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// The overview's charts are SVG drawn on the server and inlined in the page:
// no script, no request to another site, nothing that a strict
// Content-Security-Policy (script-src 'self' or none at all, style-src
// 'self') refuses. Colours come from the stylesheet through class names;
// the SVG carries no style attribute.

// series is one chart: a value per minute, oldest first.
type series struct {
	Label  string    // "Sessions created per minute"
	Values []float64 // one per minute
	Start  time.Time // the first minute
	Unit   string    // appended to values in labels ("ms"), or ""
	Class  string    // CSS class of the bars: "created", "latency", ...
	Wide   bool      // drawn twice as wide (a chart across the page), with text of the same size
}

// Chart geometry, in SVG user units (the SVG scales to its box). A wide
// chart is 2*chartW units wide.
const (
	chartW, chartH = 600, 130
	plotL          = 44     // plot area: left edge; the right one is 4 units from the chart's
	plotT, plotB   = 8, 106 // plot area, y
)

// SVG returns the chart as inline SVG. Every text in it is escaped.
func (s series) SVG() template.HTML {
	top := niceCeil(maxOf(s.Values))
	width := chartW
	if s.Wide {
		width = 2 * chartW
	}
	plotR := width - 4
	var b strings.Builder
	b.Grow(4096 + 160*len(s.Values))
	label := html.EscapeString(s.Label)
	b.WriteString(`<svg class="chart" viewBox="0 0 ` + itoa(width) + ` ` + itoa(chartH) + `" role="img" aria-label="` + label + `">`)
	b.WriteString(`<title>` + label + `</title>`)
	// Grid: the top and the baseline, labelled.
	b.WriteString(`<line class="axis" x1="` + itoa(plotL) + `" y1="` + itoa(plotB) + `" x2="` + itoa(plotR) + `" y2="` + itoa(plotB) + `"/>`)
	b.WriteString(`<line class="grid" x1="` + itoa(plotL) + `" y1="` + itoa(plotT) + `" x2="` + itoa(plotR) + `" y2="` + itoa(plotT) + `"/>`)
	if top > 0 {
		b.WriteString(`<text class="tick" x="` + itoa(plotL-4) + `" y="` + itoa(plotT+4) + `" text-anchor="end">` + html.EscapeString(formatValue(top, s.Unit)) + `</text>`)
	}
	b.WriteString(`<text class="tick" x="` + itoa(plotL-4) + `" y="` + itoa(plotB+4) + `" text-anchor="end">0</text>`)
	n := len(s.Values)
	if n > 0 {
		slot := float64(plotR-plotL) / float64(n)
		w := math.Max(slot-2, 1)
		for i, v := range s.Values {
			if v <= 0 || top <= 0 {
				continue
			}
			h := math.Max(v/top*float64(plotB-plotT), 1)
			x := float64(plotL) + float64(i)*slot + (slot-w)/2
			at := s.Start.Add(time.Duration(i) * time.Minute)
			b.WriteString(`<rect class="bar ` + html.EscapeString(s.Class) + `" x="` + ftoa(x) + `" y="` + ftoa(float64(plotB)-h) +
				`" width="` + ftoa(w) + `" height="` + ftoa(h) + `"><title>` +
				at.Format("15:04") + ": " + html.EscapeString(formatValue(v, s.Unit)) + `</title></rect>`)
		}
		// Time labels: the first minute, half an hour later, and now.
		for _, i := range []int{0, n / 2, n - 1} {
			x := float64(plotL) + (float64(i)+0.5)*slot
			anchor := "middle"
			switch i {
			case 0:
				anchor = "start"
				x = plotL
			case n - 1:
				anchor = "end"
				x = float64(plotR)
			}
			b.WriteString(`<text class="tick" x="` + ftoa(x) + `" y="` + itoa(plotB+16) + `" text-anchor="` + anchor + `">` +
				s.Start.Add(time.Duration(i)*time.Minute).Format("15:04") + `</text>`)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from escaped parts
}

// Total returns the sum of the values.
func (s series) Total() float64 {
	t := 0.0
	for _, v := range s.Values {
		t += v
	}
	return t
}

// Peak returns the largest value.
func (s series) Peak() float64 { return maxOf(s.Values) }

func maxOf(vs []float64) float64 {
	m := 0.0
	for _, v := range vs {
		m = math.Max(m, v)
	}
	return m
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so the top of a
// chart is a round number.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// formatValue prints a chart value: integers as such, others with up to
// two decimals.
func formatValue(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if v != math.Trunc(v) {
		s = strconv.FormatFloat(v, 'f', 2, 64)
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
