package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

var poolDuration = flag.Duration("pool-duration", 2*time.Second, "how long TestPoolUnderBurst runs its 64 clients per engine and setting")

// poolRun is what one run of 64 concurrent clients saw.
type poolRun struct {
	requests, errors int64
	opened           int // connections the pool opened meanwhile
	stats            sql.DBStats
	serverNew        int64 // connections the server accepted meanwhile (every client's)
	serverOurs       int   // connections of this pool the server lists at the end (-1: unknown)
}

func (r poolRun) String() string {
	return fmt.Sprintf("%d requests, %d errors; pool: opened %d, open at the end %d, closed as surplus idle %d, lifetime %d, idle time %d, waits %d (%v); server: %d new connections (all clients), %d of ours at the end",
		r.requests, r.errors, r.opened, r.stats.OpenConnections, r.stats.MaxIdleClosed, r.stats.MaxLifetimeClosed,
		r.stats.MaxIdleTimeClosed, r.stats.WaitCount, r.stats.WaitDuration.Round(time.Millisecond), r.serverNew, r.serverOurs)
}

// TestPoolUnderBurst runs waves of 64 concurrent clients, each a session
// doing a READ and a WRITE (Load, then an Apply with a change ID), with a
// pause of 2 ms between waves, for -pool-duration, on a store from Open, once with the pool settings of the
// previous version (20 open, 10 idle) and once with Open's, and reports
// database/sql's pool statistics and the server's connection counters.
// With Open's settings the pool must open at most DefaultMaxOpenConns
// connections, close none, and no request may fail or time out.
func TestPoolUnderBurst(t *testing.T) {
	const clients = 64
	app := fmt.Sprintf("sesame_pool_%d", time.Now().UnixNano())
	targets := []struct {
		name, env, target string
		dialect           Dialect
	}{
		{"postgres", postgresEnv, withParam(envOr(postgresEnv, defaultPostgres), "application_name", app), Postgres},
		{"mysql", mysqlEnv, mysqlTarget(), MySQL},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			for _, setting := range []struct {
				name  string
				apply func(db *sql.DB)
			}{
				{"previous (20 open, 10 idle)", func(db *sql.DB) { db.SetMaxIdleConns(10) }},
				{"Open's", func(*sql.DB) {}},
			} {
				run, err := burst(t, tg.target, tg.dialect, app, clients, setting.apply)
				if errors.Is(err, store.ErrUnavailable) {
					unreachable(t, tg.env, err)
				}
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s, %s settings: %v", tg.name, setting.name, run)
				if setting.name != "Open's" {
					continue
				}
				if run.errors > 0 {
					t.Errorf("%d of %d requests failed", run.errors, run.requests)
				}
				if run.opened > DefaultMaxOpenConns || run.stats.MaxIdleClosed > 0 || run.stats.MaxLifetimeClosed > 0 || run.stats.MaxIdleTimeClosed > 0 {
					t.Errorf("the pool closed connections: %v", run)
				}
				if run.stats.OpenConnections > DefaultMaxOpenConns || run.serverOurs > DefaultMaxOpenConns {
					t.Errorf("more than %d connections: %v", DefaultMaxOpenConns, run)
				}
			}
		})
	}
}

// mysqlTarget returns the MySQL test server as an Open target.
func mysqlTarget() string {
	dsn := envOr(mysqlEnv, defaultMySQL)
	if strings.HasPrefix(dsn, "mysql://") {
		return dsn
	}
	return "mysql:" + dsn
}

// burst runs clients concurrent clients on a store opened on target for
// -pool-duration.
func burst(t *testing.T, target string, d Dialect, app string, clients int, setup func(*sql.DB)) (poolRun, error) {
	ctx := ctxT(t)
	s, err := Open(ctx, target, Options{Table: tableName()})
	if err != nil {
		return poolRun{}, err
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		return poolRun{}, err
	}
	defer func() {
		for _, tb := range append(tables(s), s.table+"_migrations") {
			s.db.Exec("DROP TABLE IF EXISTS " + d.quote(tb))
		}
	}()
	setup(s.db)
	// The server's counters, read through a connection of their own.
	monTarget, _, _ := strings.Cut(target, "application_name=")
	tg, _ := parseTarget(strings.TrimRight(monTarget, "?&"))
	mon, err := tg.open()
	if err != nil {
		return poolRun{}, err
	}
	defer mon.Close()
	mon.SetMaxOpenConns(1)
	serverNew := func() int64 {
		var n int64
		var name string
		var err error
		if d == Postgres {
			err = mon.QueryRowContext(ctx, `SELECT sessions FROM pg_stat_database WHERE datname = current_database()`).Scan(&n)
		} else {
			err = mon.QueryRowContext(ctx, `SHOW GLOBAL STATUS LIKE 'Connections'`).Scan(&name, &n)
		}
		if err != nil {
			t.Logf("server counter: %v", err)
		}
		return n
	}
	keys := make([]string, clients)
	for i := range keys {
		keys[i] = key(fmt.Sprintf("client %d", i))
		mustApply(t, s, keys[i], store.Change{Create: true, Set: map[string][]byte{"n": []byte("0"), "name": []byte(`"gopher"`)}, Expires: time.Now().Add(time.Hour)})
	}
	before := s.db.Stats()
	new0 := serverNew()
	var run poolRun
	end := time.Now().Add(*poolDuration)
	var requests, failures atomic.Int64
	// Waves: every client makes a request at once, then all pause for a
	// moment, as bursts of traffic come and go; between waves every
	// connection goes back to the pool.
	for time.Now().Before(end) {
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				_, _, err := s.Load(rctx, keys[i])
				if err == nil {
					err = s.Apply(rctx, keys[i], store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"n": 1}})
				}
				requests.Add(1)
				if err != nil && failures.Add(1) <= 3 {
					t.Logf("client %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		time.Sleep(2 * time.Millisecond)
	}
	run.requests, run.errors = requests.Load(), failures.Load()
	after := s.db.Stats()
	run.stats = after
	run.stats.MaxIdleClosed -= before.MaxIdleClosed
	run.stats.MaxLifetimeClosed -= before.MaxLifetimeClosed
	run.stats.MaxIdleTimeClosed -= before.MaxIdleTimeClosed
	run.stats.WaitCount -= before.WaitCount
	run.stats.WaitDuration -= before.WaitDuration
	run.opened = after.OpenConnections - before.OpenConnections + int(run.stats.MaxIdleClosed+run.stats.MaxLifetimeClosed+run.stats.MaxIdleTimeClosed)
	run.serverNew = serverNew() - new0
	run.serverOurs = -1
	if d == Postgres {
		if err := mon.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&run.serverOurs); err != nil {
			t.Logf("pg_stat_activity: %v", err)
		}
	}
	return run, nil
}
