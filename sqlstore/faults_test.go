package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sesamego/sesame/sqlstore/internal/mysqlengine"
	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

// The fault-injection tests hammer one record with concurrent change sets
// (storetest.Hammer) while connections are cut at the worst moments, and
// check that no acknowledged change is lost, none is applied twice, and
// none is reported failed although it was applied.

// hammerOpts is the load of every fault test: 8 workers, 300 change sets.
var hammerOpts = storetest.HammerOptions{Workers: 8, Ops: 300, Timeout: 5 * time.Second}

// checkHammer fails the test unless the report keeps the store's promise.
func checkHammer(t *testing.T, r storetest.HammerReport, faults int64) {
	t.Helper()
	t.Logf("faults injected: %d; %v", faults, r)
	for msg, n := range r.Errors {
		t.Logf("  %3d × %s", n, msg)
	}
	if faults == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
	if r.Lost != 0 || r.Duplicates != 0 || r.FalseFailures != 0 {
		t.Errorf("lost %d, duplicates %d, false failures %d: want 0, 0, 0", r.Lost, r.Duplicates, r.FalseFailures)
	}
	if r.Acked == 0 {
		t.Error("no change was acknowledged")
	}
}

// faultStores returns a store of dialect d whose connections go through a
// fault-injecting proxy, and a store on the same table that does not (to
// read the result). It skips, or fails under SESAME_REQUIRE_SERVICES=1,
// when the server is down.
func faultStores(t *testing.T, d Dialect) (faulty, check *Store, p *storetest.Proxy) {
	t.Helper()
	var db *sql.DB
	switch d {
	case Postgres:
		check = openPostgres(t, Options{})
		u, err := url.Parse(envOr(postgresEnv, defaultPostgres))
		if err != nil {
			t.Fatalf("%s: %v", postgresEnv, err)
		}
		p = storetest.NewProxy(t, u.Host)
		u.Host = p.Addr()
		if db, err = sql.Open("pgx", u.String()); err != nil {
			t.Fatal(err)
		}
	case MySQL:
		check = openMySQL(t, Options{})
		cfg, err := mysql.ParseDSN(envOr(mysqlEnv, defaultMySQL))
		if err != nil {
			t.Fatalf("%s: %v", mysqlEnv, err)
		}
		p = storetest.NewProxy(t, cfg.Addr)
		cfg.Addr = p.Addr()
		tg, err := parseTarget("mysql:" + cfg.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		if db, err = tg.open(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	faulty, err := New(db, d, Options{Table: check.table})
	if err != nil {
		t.Fatal(err)
	}
	return faulty, check, p
}

// commitChunk reports whether a chunk a client sends holds a COMMIT: the
// statement's text (MySQL; PostgreSQL when pgx prepares it) or the name of
// the statement pgx prepared for it (stmtcache_ and the first 24 bytes of
// its SHA-256, hex).
func commitChunk(chunk []byte) bool {
	return bytes.Contains(bytes.ToLower(chunk), []byte("commit")) || bytes.Contains(chunk, pgCommitStmt)
}

var pgCommitStmt = func() []byte {
	sum := sha256.Sum256([]byte("commit"))
	return []byte("stmtcache_" + hex.EncodeToString(sum[:24]))
}()

// inPlaceChunk reports whether a chunk a client sends holds one of the
// in-place statements of s: its text (MySQL; PostgreSQL when pgx prepares
// it) or the name of the statement pgx prepared for it.
func inPlaceChunk(s *Store, chunk []byte) bool {
	found := false
	s.stmts.Range(func(_, q any) bool {
		text := q.(string)
		sum := sha256.Sum256([]byte(text))
		found = bytes.Contains(chunk, []byte(text[:min(len(text), 40)])) ||
			bytes.Contains(chunk, []byte("stmtcache_"+hex.EncodeToString(sum[:24])))
		return !found
	})
	return found
}

// TestFaultsAtCommit cuts connections around COMMIT (before it is sent,
// after it is sent and before the answer, after the answer), then around
// random chunks, while Hammer runs.
func TestFaultsAtCommit(t *testing.T) {
	for _, d := range []Dialect{Postgres, MySQL} {
		for _, mode := range []struct {
			name    string
			decide  func(faulty *Store) func([]byte) storetest.Fault
			inPlace bool // changes without Push, which the database applies in place
		}{
			{"commit", func(*Store) func([]byte) storetest.Fault { return storetest.RandomFaults(0.2, commitChunk) }, false},
			{"random", func(*Store) func([]byte) storetest.Fault { return storetest.RandomFaults(0.03, nil) }, false},
			{"in place/commit", func(s *Store) func([]byte) storetest.Fault {
				return storetest.RandomFaults(0.2, func(chunk []byte) bool { return commitChunk(chunk) || inPlaceChunk(s, chunk) })
			}, true},
			{"in place/random", func(*Store) func([]byte) storetest.Fault { return storetest.RandomFaults(0.03, nil) }, true},
		} {
			t.Run(d.String()+"/"+mode.name, func(t *testing.T) {
				faulty, check, p := faultStores(t, d)
				decide := mode.decide(faulty)
				// Decide is set before the first connection and never
				// written again; the faults stop with the flag.
				var on atomic.Bool
				on.Store(true)
				p.Decide = func(chunk []byte) storetest.Fault {
					if !on.Load() {
						return storetest.Pass
					}
					return decide(chunk)
				}
				start := time.Now()
				opts := hammerOpts
				opts.WithoutPush = mode.inPlace
				r := storetest.Hammer(t, faulty, check, opts)
				if mode.inPlace && faulty.inPlaced.Load() == 0 {
					// Eight workers change one record: on a loaded machine
					// every in-place try can meet the row lock of another
					// (NOWAIT) and take the transaction path. Then this run
					// proved nothing of the in-place path: hammer once more
					// (both runs must lose and duplicate nothing).
					t.Log("no change was applied in place: hammering once more")
					checkHammer(t, r, p.Faults())
					r = storetest.Hammer(t, faulty, check, opts)
				}
				on.Store(false)
				if mode.inPlace && faulty.inPlaced.Load() == 0 {
					t.Error("no change was applied in place")
				}
				t.Logf("%v: cut before request %d, after request %d, after reply %d; passed %d chunks",
					time.Since(start).Round(time.Millisecond), p.Count(storetest.CutBeforeRequest),
					p.Count(storetest.CutAfterRequest), p.Count(storetest.CutAfterReply), p.Count(storetest.Pass))
				checkHammer(t, r, p.Faults())
			})
		}
	}
}

// TestKilledBackendsDuringHammer kills the store's server connections every
// 50-100 ms while Hammer runs: pg_terminate_backend on PostgreSQL, KILL on
// MySQL.
func TestKilledBackendsDuringHammer(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		check := openPostgres(t, Options{})
		app := tableName()
		db, err := sql.Open("pgx", withParam(envOr(postgresEnv, defaultPostgres), "application_name", app))
		if err != nil {
			t.Fatal(err)
		}
		pingOrSkip(t, db, postgresEnv)
		t.Cleanup(func() { db.Close() })
		s, err := New(db, Postgres, Options{Table: check.table})
		if err != nil {
			t.Fatal(err)
		}
		kill := func(ctx context.Context) (int64, error) {
			var n int64
			err := check.db.QueryRowContext(ctx,
				`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n)
			return n, err
		}
		// A new PostgreSQL connection takes long enough that kills every
		// 50-100 ms fail most tries: fewer change sets keep the test short.
		hammerKilling(t, s, check, kill, 120)
	})
	t.Run("mysql", func(t *testing.T) {
		check := openMySQL(t, Options{})
		cfg, err := mysql.ParseDSN(envOr(mysqlEnv, defaultMySQL))
		if err != nil {
			t.Fatalf("%s: %v", mysqlEnv, err)
		}
		// The configuration Open makes.
		mc, err := mysqlengine.Config("mysql:" + cfg.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		// Learn the id of every connection the store's pool opens.
		ic := &idConnector{ids: map[int64]bool{}}
		if ic.Connector, err = mysql.NewConnector(mc); err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(ic)
		pingOrSkip(t, db, mysqlEnv)
		t.Cleanup(func() { db.Close() })
		s, err := New(db, MySQL, Options{Table: check.table})
		if err != nil {
			t.Fatal(err)
		}
		kill := func(ctx context.Context) (int64, error) {
			var n int64
			for _, id := range ic.take() {
				// A connection that closed already is an unknown thread.
				if _, err := check.db.ExecContext(ctx, fmt.Sprintf("KILL %d", id)); err == nil {
					n++
				}
			}
			return n, nil
		}
		hammerKilling(t, s, check, kill, hammerOpts.Ops)
	})
}

// hammerKilling runs Hammer on s while kill ends its connections every 50
// to 100 ms.
func hammerKilling(t *testing.T, s, check *Store, kill func(ctx context.Context) (int64, error), ops int) {
	t.Helper()
	for _, inPlace := range []bool{false, true} {
		name := "transactions"
		if inPlace {
			name = "in place"
		}
		t.Run(name, func(t *testing.T) {
			hammerKillingOnce(t, s, check, kill, ops, inPlace)
		})
	}
}

func hammerKillingOnce(t *testing.T, s, check *Store, kill func(ctx context.Context) (int64, error), ops int, inPlace bool) {
	t.Helper()
	var killed, rounds atomic.Int64
	opts := hammerOpts
	opts.Ops = ops
	opts.During = func(ctx context.Context) {
		// The first round comes early: changes applied in place are fast
		// enough for a whole hammer to end within 80 ms.
		pause := time.Duration(5+rand.IntN(11)) * time.Millisecond
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = time.Duration(50+rand.IntN(51)) * time.Millisecond
			kctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			n, err := kill(kctx)
			cancel()
			if err != nil {
				t.Errorf("killing connections: %v", err)
				return
			}
			killed.Add(n)
			rounds.Add(1)
		}
	}
	opts.WithoutPush = inPlace
	start := time.Now()
	r := storetest.Hammer(t, s, check, opts)
	if inPlace && s.inPlaced.Load() == 0 {
		// As in TestFaultsAtCommit: eight workers on one record can send
		// every try down the transaction path on a loaded machine (each
		// in-place try meets another's row lock). Then this run proved
		// nothing of the in-place path: hammer once more (both runs must
		// lose and duplicate nothing).
		t.Log("no change was applied in place: hammering once more")
		checkHammer(t, r, killed.Load())
		r = storetest.Hammer(t, s, check, opts)
	}
	if inPlace && s.inPlaced.Load() == 0 {
		t.Error("no change was applied in place")
	}
	t.Logf("%v: %d kill rounds, %d connections killed", time.Since(start).Round(time.Millisecond), rounds.Load(), killed.Load())
	checkHammer(t, r, killed.Load())
}

// idConnector records the MySQL connection id of every connection it
// opens.
type idConnector struct {
	driver.Connector
	mu  sync.Mutex
	ids map[int64]bool
}

func (c *idConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := conn.(driver.QueryerContext).QueryContext(ctx, "SELECT CONNECTION_ID()", nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	dest := make([]driver.Value, 1)
	err = rows.Next(dest)
	rows.Close()
	if err != nil {
		conn.Close()
		return nil, err
	}
	var id int64
	switch v := dest[0].(type) {
	case int64:
		id = v
	case uint64:
		id = int64(v)
	case []byte:
		fmt.Sscan(string(v), &id)
	}
	c.mu.Lock()
	c.ids[id] = true
	c.mu.Unlock()
	return conn, nil
}

// take returns the ids recorded since the last call.
func (c *idConnector) take() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]int64, 0, len(c.ids))
	for id := range c.ids {
		ids = append(ids, id)
	}
	clear(c.ids)
	return ids
}

// TestFaultsTakesAndLocks takes flash messages and locks through a proxy that
// cuts connections: a take retried after a lost reply must return the value
// it took (not lose it), a TryLock retried must not lock its caller out.
func TestFaultsTakesAndLocks(t *testing.T) {
	for _, d := range []Dialect{Postgres, MySQL} {
		t.Run(d.String(), func(t *testing.T) {
			faulty, check, p := faultStores(t, d)
			var on atomic.Bool
			on.Store(true)
			decide := storetest.RandomFaults(0.05, nil)
			p.Decide = func(chunk []byte) storetest.Fault {
				if !on.Load() {
					return storetest.Pass
				}
				return decide(chunk)
			}
			opts := storetest.HammerOptions{Workers: 8, Ops: 150, Timeout: 5 * time.Second}
			for _, run := range []struct {
				what string
				f    func(testing.TB, store.Store, store.Store, storetest.HammerOptions) storetest.OneShotReport
			}{{"takes", storetest.HammerTakes}, {"locks", storetest.HammerLocks}} {
				on.Store(true)
				before := p.Faults()
				r := run.f(t, faulty, check, opts)
				on.Store(false)
				faults := p.Faults() - before
				t.Logf("%s: %v; faults injected: %d", run.what, r, faults)
				if r.Lost != 0 || r.FalseFailures != 0 {
					t.Errorf("%s: lost %d, false failures %d; want none", run.what, r.Lost, r.FalseFailures)
				}
				if r.Acked == 0 || faults == 0 {
					t.Errorf("%s: %d acknowledged, %d faults: the test proves nothing", run.what, r.Acked, faults)
				}
			}
		})
	}
}
