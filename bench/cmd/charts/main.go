// Command charts turns the raw output of bench/run.sh into the tables and
// the bar charts of docs/BENCHMARKS.md, so that every figure there comes
// from one run's data.
//
//	go run ./cmd/charts -sessions $OUT/sessions.txt -load redis=$OUT/load-redis.txt,memory=$OUT/load-memory.txt -out ../docs/bench
//
// -sessions is `go test -bench Sessions` output (several passes appended to
// one file); each contender's figure is the median of its passes. -load is a
// comma-separated list of NAME=FILE, each FILE load.sh's output (its Markdown
// table); each figure is the median total requests/s over the rounds. It writes one SVG per chart into -out and
// prints Markdown tables (medians, and ratios to the named peers) on
// standard output.
package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"html"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	sessions := flag.String("sessions", "", "go test -bench output of BenchmarkSessions (several passes)")
	load := flag.String("load", "", "load.sh outputs, as NAME=FILE[,NAME=FILE...]")
	out := flag.String("out", "", "directory for the SVG files (none written when empty)")
	flag.Parse()
	if *sessions == "" && *load == "" {
		log.Fatal("charts: give -sessions and/or -load")
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			log.Fatal(err)
		}
	}
	if *sessions != "" {
		f, err := os.Open(*sessions)
		if err != nil {
			log.Fatal(err)
		}
		res, err := parseBench(f)
		f.Close()
		if err != nil {
			log.Fatal(err)
		}
		for _, sc := range scenarios(res) {
			rows := res.rows(sc, "ns/op")
			printTable(os.Stdout, "BenchmarkSessions/"+sc+": µs per request (median of passes; lower is better)", rows, 1e-3, "µs", false)
			printExtra(os.Stdout, res, sc, rows)
			if *out != "" {
				write(*out, "sessions-"+strings.ToLower(sc)+".svg", barChart(sc+": µs per request, in process (lower is better)", rows, 1e-3, "µs"))
			}
		}
	}
	for _, spec := range strings.Split(*load, ",") {
		if spec == "" {
			continue
		}
		name, file, ok := strings.Cut(spec, "=")
		if !ok {
			log.Fatalf("charts: -load %q: want NAME=FILE", spec)
		}
		f, err := os.Open(file)
		if err != nil {
			log.Fatal(err)
		}
		res, err := parseLoad(f)
		f.Close()
		if err != nil {
			log.Fatal(err)
		}
		for _, ep := range scenarios(res) {
			rows := res.rows(ep, "req/s")
			printTable(os.Stdout, "wrk "+name+" "+ep+": requests/s (median of rounds; higher is better)", rows, 1, "req/s", true)
			if *out != "" {
				write(*out, "load-"+name+"-"+strings.ToLower(ep)+".svg", barChart("wrk, "+name+", "+ep+": requests/s (higher is better)", rows, 1, "req/s"))
			}
		}
	}
}

// results holds samples by scenario, contender and unit.
type results struct {
	order   []string // contenders in first-seen order
	samples map[[3]string][]float64
}

func newResults() *results { return &results{samples: map[[3]string][]float64{}} }

func (r *results) add(scenario, contender, unit string, v float64) {
	if !slices.Contains(r.order, contender) {
		r.order = append(r.order, contender)
	}
	k := [3]string{scenario, contender, unit}
	r.samples[k] = append(r.samples[k], v)
}

// row is one contender's median in a scenario.
type row struct {
	name   string
	median float64
	n      int
}

func (r *results) rows(scenario, unit string) []row {
	var rows []row
	for _, c := range r.order {
		s := r.samples[[3]string{scenario, c, unit}]
		if len(s) == 0 {
			continue
		}
		rows = append(rows, row{c, median(s), len(s)})
	}
	return rows
}

func scenarios(r *results) []string {
	var out []string
	for k := range r.samples {
		if !slices.Contains(out, k[0]) {
			out = append(out, k[0])
		}
	}
	rank := map[string]int{"READ": 1, "WRITE": 2, "NEW": 3, "UNTOUCHED": 4, "read": 1, "write": 2, "new": 3}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(rank[a], rank[b]), cmp.Compare(a, b))
	})
	return out
}

func median(s []float64) float64 {
	s = slices.Clone(s)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchLine matches "BenchmarkSessions/READ/sesame-memstore-2  123  4567 ns/op ...".
var benchLine = regexp.MustCompile(`^BenchmarkSessions/([^/\s]+)/(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func parseBench(r io.Reader) (*results, error) {
	res := newResults()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("charts: %q: %w", sc.Text(), err)
			}
			res.add(m[1], m[2], f[i+1], v)
		}
	}
	if len(res.samples) == 0 {
		return nil, fmt.Errorf("charts: no BenchmarkSessions lines")
	}
	return res, sc.Err()
}

// parseLoad reads the rows of load.sh's table:
// | round | contender | endpoint | A | B | total req/s | non-2xx | kept |
func parseLoad(r io.Reader) (*results, error) {
	res := newResults()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		cells := strings.Split(strings.Trim(strings.TrimSpace(sc.Text()), "|"), "|")
		if len(cells) < 6 {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if _, err := strconv.Atoi(cells[0]); err != nil {
			continue // header or separator
		}
		total, err := strconv.ParseFloat(cells[5], 64)
		if err != nil {
			return nil, fmt.Errorf("charts: load row %q: %w", sc.Text(), err)
		}
		res.add(cells[2], cells[1], "req/s", total)
	}
	if len(res.samples) == 0 {
		return nil, fmt.Errorf("charts: no load.sh rows")
	}
	return res, sc.Err()
}

// peers names, for a sesame contender, the peer on the same kind of store.
var peers = map[string][]string{
	"sesame-memstore":     {"scs-memstore"},
	"sesame-redis":        {"scs-redis"},
	"sesame-postgres":     {"scs-pgxstore"},
	"sesame-mysql":        {"scs-mysqlstore"},
	"sesame-cookiestore":  {"gorilla-cookie"},
	"sesame-filestore":    {"gorilla-filesystem"},
	"sesame":              {"scs"},
	"sesame-autopipeline": {"scs"},
}

// peerOf names the peer a contender is compared with ("" for none).
func peerOf(name string, rows []row) string {
	for _, want := range peers[name] {
		for _, r := range rows {
			if r.name == want {
				return want
			}
		}
	}
	return ""
}

func printTable(w io.Writer, title string, rows []row, scale float64, unit string, higherIsBetter bool) {
	fmt.Fprintf(w, "\n%s\n\n| contender | %s | passes | sesame's advantage over the peer |\n|---|--:|--:|---|\n", title, unit)
	byName := map[string]row{}
	for _, r := range rows {
		byName[r.name] = r
	}
	for _, r := range rows {
		ratio := ""
		if p := peerOf(r.name, rows); p != "" {
			x := byName[p].median / r.median
			if higherIsBetter {
				x = r.median / byName[p].median
			}
			ratio = fmt.Sprintf("%.2fx vs %s", x, p)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s |\n", r.name, format(r.median*scale), r.n, ratio)
	}
}

// printExtra prints the client CPU time and the allocations per request of
// each contender (medians of the passes).
func printExtra(w io.Writer, res *results, scenario string, rows []row) {
	fmt.Fprintf(w, "\n| contender | CPU µs/op | B/op | allocs/op |\n|---|--:|--:|--:|\n")
	for _, r := range rows {
		cell := func(unit string, scale float64) string {
			s := res.samples[[3]string{scenario, r.name, unit}]
			if len(s) == 0 {
				return "-"
			}
			return format(median(s) * scale)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.name, cell("cpu-ns/op", 1e-3), cell("B/op", 1), cell("allocs/op", 1))
	}
}

func format(v float64) string {
	switch {
	case v >= 1000:
		s := strconv.FormatFloat(v, 'f', 0, 64)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// barChart draws one horizontal bar per row, sesame's bars in one colour
// and the others in grey, with the value at the end of each bar.
func barChart(title string, rows []row, scale float64, unit string) string {
	const (
		width, labelW, valueW = 760, 190, 110
		barH, gap, top        = 22, 8, 44
	)
	maxV := 0.0
	for _, r := range rows {
		maxV = max(maxV, r.median*scale)
	}
	height := top + len(rows)*(barH+gap) + 12
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	span := float64(width - labelW - valueW - 20)
	for i, r := range rows {
		y := top + i*(barH+gap)
		w := 1.0
		if maxV > 0 {
			w = max(1, span*r.median*scale/maxV)
		}
		fill := "#9aa3ad"
		if strings.HasPrefix(r.name, "sesame") {
			fill = "#2f7d4f"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW, y+barH-6, html.EscapeString(r.name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelW+8, y, w, barH, fill)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s %s</text>`+"\n", float64(labelW+8)+w+6, y+barH-6, format(r.median*scale), unit)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func write(dir, name, content string) {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		log.Fatal(err)
	}
}
