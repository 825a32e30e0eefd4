package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestRoundTrips counts, per scenario, the store calls sesame's manager
// makes (Load, Apply, Delete, Take, Rename: the contract's round trips) and,
// for stores behind a network, the network round trips those calls cost,
// measured by a counting TCP proxy between the store and its server (a
// pipelined batch counts once), and for SQL stores the statements they
// run (a batch counts each of its statements). scs contenders are counted
// too (Find, Commit, Delete). Targets for sesame: READ 1, WRITE 2, NEW 1, UNTOUCHED 0
// store calls; sesame contenders that miss them fail the test. Run with
//
//	go test -run RoundTrips -v
func TestRoundTrips(t *testing.T) {
	const requests = 20
	want := map[string]float64{"READ": 1, "WRITE": 2, "NEW": 1, "UNTOUCHED": 0}
	var rows []string
	for _, c := range contenders {
		if strings.HasPrefix(c.name, "bare") || strings.HasPrefix(c.name, "gorilla") {
			continue
		}
		row := "| " + c.name
		t.Run(c.name, func(t *testing.T) {
			for _, sc := range scenarios {
				var mu sync.Mutex
				var proxies []*tripProxy
				route := func(addr string) string {
					p := startTripProxy(t, addr)
					mu.Lock()
					proxies = append(proxies, p)
					mu.Unlock()
					return p.Addr()
				}
				a := c.open(t, openOptions{route: route})
				h := a.Handler(sc.handler(a))
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				if sc.cookie {
					req.Header.Set("Cookie", seed(t, a))
				}
				for range 3 { // warm up: connections, scripts, statements
					serveOnce(t, h, req, "")
				}
				calls := a.StoreCalls()
				calls.Store(0)
				for _, p := range proxies {
					p.trips.Store(0)
					p.stmts.Store(0)
				}
				for range requests {
					serveOnce(t, h, req, "")
				}
				perReq := float64(calls.Load()) / requests
				cell := fmt.Sprintf("%g", perReq)
				if len(proxies) > 0 {
					var trips, stmts int64
					for _, p := range proxies {
						trips += p.trips.Load()
						stmts += p.stmts.Load()
					}
					cell += fmt.Sprintf(" (%g net", float64(trips)/requests)
					if stmts > 0 || strings.Contains(c.name, "postgres") || strings.Contains(c.name, "mysql") || strings.Contains(c.name, "pgx") {
						cell += fmt.Sprintf(", %g SQL", float64(stmts)/requests)
					}
					cell += ")"
				}
				t.Logf("%s: %s store calls per request", sc.name, cell)
				row += " | " + cell
				if c.sesame && perReq != want[sc.name] {
					t.Errorf("%s: got %g store calls per request, want %g", sc.name, perReq, want[sc.name])
				}
			}
		})
		rows = append(rows, row+" |")
	}
	t.Logf("store calls per request (network round trips and SQL statements in parentheses):\n"+
		"| contender | READ | WRITE | NEW | UNTOUCHED |\n|---|--:|--:|--:|--:|\n%s", strings.Join(rows, "\n"))
}
