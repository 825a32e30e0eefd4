package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table returns a tabwriter for aligned columns; Flush it.
func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// printable returns s as it can safely go to a terminal: as it is when it
// holds only printable characters, quoted with escapes otherwise (user
// agents and user IDs come from clients, and escape sequences must not
// reach the operator's terminal).
func printable(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.QuoteToGraphic(s)
		}
	}
	return s
}

// cut shortens s to at most n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// formatTime formats t for people, in the cli's location.
func (c *cli) formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(c.loc).Format("2006-01-02 15:04:05 MST")
}

// ago describes how long before now t was ("3h ago"), or after ("in 2d").
func (c *cli) ago(t time.Time) string {
	d := c.now().Sub(t)
	if d < 0 {
		return "in " + formatAge(-d)
	}
	return formatAge(d) + " ago"
}

// formatAge formats a duration compactly with at most two units: "45s",
// "12m", "3h05m", "2d04h", "1y30d".
func formatAge(d time.Duration) string {
	const day = 24 * time.Hour
	const year = 365 * day
	switch {
	case d < time.Second:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", d/time.Second)
	case d < time.Hour:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d < day:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	case d < year:
		return fmt.Sprintf("%dd%02dh", d/day, d%day/time.Hour)
	}
	return fmt.Sprintf("%dy%dd", d/year, d%year/day)
}

// formatSize formats a byte count: "312 B", "1.5 KiB", "2.0 MiB".
func formatSize(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1024*1024))
}

// plural returns "1 session" or "3 sessions".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// shortHash is the 12-character form of a store key that sesame logs.
func shortHash(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}

// progressBar draws a one-line progress bar with carriage returns.
type progressBar struct {
	w     io.Writer
	label string
	width int
	drawn bool
}

// draw redraws the bar at done of total; a negative total (unknown) draws
// a spinner with the elapsed time instead.
func (p *progressBar) draw(done, total int, elapsed time.Duration) {
	p.drawn = true
	if total == 0 {
		fmt.Fprintf(p.w, "\r%s [%s] 0/0 100%%", p.label, strings.Repeat("#", p.width))
		return
	}
	if total < 0 {
		spin := `|/-\`[int(elapsed/(250*time.Millisecond))%4]
		fmt.Fprintf(p.w, "\r%s %c %s", p.label, spin, formatAge(elapsed))
		return
	}
	done = min(max(done, 0), total)
	filled := p.width * done / total
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %3d%%", p.label,
		strings.Repeat("#", filled), strings.Repeat(".", p.width-filled), done, total, 100*done/total)
}

// end finishes the bar's line.
func (p *progressBar) end() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
