package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the monitor's driver
)

// TestServerCPU measures the CPU time the PostgreSQL server spends per
// request, for each PostgreSQL contender and scenario: it runs the requests
// one after the other and reads, from /proc/PID/schedstat, the CPU time of
// the server processes that serve the contender's connections (found in
// pg_stat_activity by their application_name). Unlike wall time, it is
// hardly changed by other load on the machine; it needs the server on this
// machine (loopback) and Linux. Run with
//
//	go test -run ServerCPU -v
func TestServerCPU(t *testing.T) {
	const requests = 500
	dsn := envOr(postgresEnv, defaultPG)
	mon, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := mon.PingContext(ctx); err != nil {
		unreachable(t, postgresEnv, err)
	}
	var rows []string
	for _, c := range contenders {
		if c.name != "sesame-postgres" && c.name != "scs-pgxstore" {
			continue
		}
		row := "| " + c.name
		for _, sc := range scenarios {
			app := fmt.Sprintf("bench_cpu_%s", randomHex(6))
			a := c.open(t, openOptions{pgAppName: app})
			h := a.Handler(sc.handler(a))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if sc.cookie {
				req.Header.Set("Cookie", seed(t, a))
			}
			for range 20 { // warm up: connections, prepared statements
				serveOnce(t, h, req, "")
			}
			before, err := serverCPU(mon, app)
			if err != nil {
				t.Skipf("server CPU: %v", err)
			}
			for range requests {
				serveOnce(t, h, req, "")
			}
			after, err := serverCPU(mon, app)
			if err != nil {
				t.Fatal(err)
			}
			var used time.Duration
			for pid, ns := range after {
				used += ns - before[pid]
			}
			per := used / requests
			t.Logf("%s %s: %v of server CPU per request (%d backends)", c.name, sc.name, per, len(after))
			row += fmt.Sprintf(" | %.1f", float64(per)/float64(time.Microsecond))
		}
		rows = append(rows, row+" |")
	}
	t.Logf("PostgreSQL server CPU per request, µs:\n| contender | READ | WRITE | NEW | UNTOUCHED |\n|---|--:|--:|--:|--:|\n%s", strings.Join(rows, "\n"))
}

// serverCPU returns the CPU time used so far by each server process whose
// connection has the application_name app.
func serverCPU(mon *sql.DB, app string) (map[int]time.Duration, error) {
	rows, err := mon.Query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
		if err != nil {
			return nil, fmt.Errorf("the server is not on this machine: %w", err)
		}
		f := strings.Fields(string(b))
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, err
		}
		out[pid] = time.Duration(ns)
	}
	return out, rows.Err()
}
