package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// checkUnavailable fails the test unless err wraps store.ErrUnavailable and
// is not a context error.
func checkUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("%s: got %v, want an error wrapping store.ErrUnavailable", what, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Errorf("%s: got %v, want no context error (the store hung?)", what, err)
	}
}

func TestClosedDatabaseGivesUnavailable(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		k := key("closed")
		create(t, s, c, k, map[string]string{"a": "1"})
		// Close the pool under the store; the tables are dropped through
		// a fresh pool at cleanup.
		dropAtCleanup(t, s)
		s.db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, ok, err := s.Load(ctx, k)
		checkUnavailable(t, "Load", err)
		if ok {
			t.Error("Load: got ok true on a closed database")
		}
		checkUnavailable(t, "Apply", s.Apply(ctx, k, store.Change{Set: map[string][]byte{"a": []byte("2")}}))
		checkUnavailable(t, "Apply (create)", s.Apply(ctx, key("other"), store.Change{Create: true, Expires: time.Now().Add(time.Hour)}))
		checkUnavailable(t, "Apply (touch)", s.Apply(ctx, k, store.Change{Expires: time.Now().Add(time.Hour)}))
		checkUnavailable(t, "Delete", s.Delete(ctx, k))
		_, err = s.Prune(ctx)
		checkUnavailable(t, "Prune", err)
		checkUnavailable(t, "List", s.List(ctx, func(store.Entry) error { return nil }))
		_, err = s.TryLock(ctx, k, "t", time.Minute)
		checkUnavailable(t, "TryLock", err)
		_, _, err = s.Take(ctx, k, "a", "")
		checkUnavailable(t, "Take", err)
		checkUnavailable(t, "Rename", s.Rename(ctx, k, key("new"), store.Change{}))
	})
}

// dropAtCleanup drops the tables of s through a pool of its own at cleanup,
// for tests that close the store's pool.
func dropAtCleanup(t *testing.T, s *Store) {
	t.Helper()
	var db *sql.DB
	switch s.dialect {
	case Postgres:
		db = postgresDB(t)
	case MySQL:
		db = mysqlDB(t)
	default:
		return // the temporary directory goes
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, tb := range tables(s) {
			db.ExecContext(ctx, "DROP TABLE IF EXISTS "+s.dialect.quote(tb))
		}
		db.Close()
	})
}

// TestKilledConnections kills the server side of every connection of the
// store's pool and checks that each call after that either fails with
// ErrUnavailable or succeeds, never hangs or panics, and that the store
// works again within a few calls.
func TestKilledConnections(t *testing.T) {
	for _, d := range []Dialect{Postgres, MySQL} {
		t.Run(d.String(), func(t *testing.T) {
			var s *Store
			var admin *sql.DB
			var kill func(ctx context.Context) (int, error)
			switch d {
			case Postgres:
				// A unique application_name marks this pool's backends.
				app := tableName()
				db, err := sql.Open("pgx", withParam(envOr(postgresEnv, defaultPostgres), "application_name", app))
				if err != nil {
					t.Fatal(err)
				}
				pingOrSkip(t, db, postgresEnv)
				s = newStore(t, db, Postgres, Options{})
				admin = postgresDB(t)
				kill = func(ctx context.Context) (int, error) {
					var n int
					err := admin.QueryRowContext(ctx,
						`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n)
					return n, err
				}
			case MySQL:
				s = openMySQL(t, Options{})
				admin = mysqlDB(t)
				kill = func(ctx context.Context) (int, error) {
					// Pin every pooled connection to learn its id, then
					// kill them all from the admin connection.
					var conns []*sql.Conn
					var ids []int64
					for range 4 {
						c, err := s.db.Conn(ctx)
						if err != nil {
							return 0, err
						}
						var id int64
						if err := c.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
							return 0, err
						}
						conns, ids = append(conns, c), append(ids, id)
					}
					for _, c := range conns {
						c.Close()
					}
					for _, id := range ids {
						if _, err := admin.ExecContext(ctx, fmt.Sprintf("KILL %d", id)); err != nil {
							return 0, err
						}
					}
					return len(ids), nil
				}
			}
			defer admin.Close()
			s.db.SetMaxIdleConns(4)
			c := newClock()
			k := key("killed")
			create(t, s, c, k, map[string]string{"n": "0"})
			want := 0 // the value of n the successful increments made

			ops := []struct {
				name string
				f    func(ctx context.Context) error
				incr bool
			}{
				{"Load", func(ctx context.Context) error { _, _, err := s.Load(ctx, k); return err }, false},
				{"Apply (transaction)", func(ctx context.Context) error {
					return s.Apply(ctx, k, store.Change{Incr: map[string]int64{"n": 1}})
				}, true},
				{"Apply (touch)", func(ctx context.Context) error {
					return s.Apply(ctx, k, store.Change{Expires: time.Now().Add(time.Hour)})
				}, false},
				{"Apply (create)", func(ctx context.Context) error {
					return s.Apply(ctx, key(tableName()), store.Change{Create: true, Expires: time.Now().Add(time.Hour)})
				}, false},
				{"List", func(ctx context.Context) error { return s.List(ctx, func(store.Entry) error { return nil }) }, false},
			}
			for _, op := range ops {
				// Warm several connections so that the pool holds idle ones.
				warm(t, s, k, 4)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				n, err := kill(ctx)
				if err != nil || n == 0 {
					cancel()
					t.Fatalf("killing the store's connections: got %d, %v, want some killed", n, err)
				}
				failures := 0
				for i := range 10 {
					cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
					err := op.f(cctx)
					ccancel()
					if err == nil {
						if op.incr {
							want++
						}
						break
					}
					failures++
					t.Logf("%s, call %d after the kill: %v", op.name, i, err)
					checkUnavailable(t, fmt.Sprintf("%s, call %d after the kill", op.name, i), err)
					if i == 9 {
						t.Fatalf("%s: the store did not recover within 10 calls", op.name)
					}
				}
				cancel()
				t.Logf("%s: killed %d connections; %d calls failed before the store recovered", op.name, n, failures)
			}
			rec := mustLoad(t, s, k)
			if got := string(rec.Values["n"]); got != fmt.Sprint(want) {
				t.Errorf("got n = %s after the kills, want %d (no increment lost or doubled)", got, want)
			}
		})
	}
}

// warm makes the pool hold n live connections by holding them at once;
// broken ones met on the way are discarded.
func warm(t *testing.T, s *Store, k string, n int) {
	t.Helper()
	ctx := ctxT(t)
	var conns []*sql.Conn
	for tries := 0; len(conns) < n; tries++ {
		if tries > 10*n {
			t.Fatalf("got %d live connections, want %d", len(conns), n)
		}
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PingContext(ctx); err != nil {
			c.Close() // database/sql drops a connection that failed so
			continue
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	mustLoad(t, s, k)
}

func withParam(dsn, k, v string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + k + "=" + v
}

func TestDoneContextIsNotUnavailable(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		k := key("ctx")
		create(t, s, c, k, map[string]string{"a": "1"})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := s.Load(ctx, k)
		if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Load: got %v, want context.Canceled and not ErrUnavailable", err)
		}
		err = s.Apply(ctx, k, store.Change{Set: map[string][]byte{"a": []byte("2")}})
		if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Apply: got %v, want context.Canceled and not ErrUnavailable", err)
		}
	})
}

// TestFailedWriteRollsBack makes the database refuse the write of a
// transaction (a CHECK constraint, or a trigger on SQLite) and checks that
// the error is reported, the record is kept, and the connection, the only
// one of the pool, is clean for the next change.
func TestFailedWriteRollsBack(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		s.db.SetMaxOpenConns(1)
		tb := s.dialect.quote(s.table)
		ddl := `ALTER TABLE ` + tb + ` ADD CONSTRAINT ` + s.dialect.quote(s.table+"_small") + ` CHECK (size < 200)`
		if s.dialect == SQLite {
			ddl = `CREATE TRIGGER ` + s.dialect.quote(s.table+"_small") + ` BEFORE UPDATE ON ` + tb +
				` WHEN NEW.size >= 200 BEGIN SELECT RAISE(ABORT, 'too big'); END`
		}
		if _, err := s.db.Exec(ddl); err != nil {
			t.Fatal(err)
		}
		c := newClock()
		k := key("rollback")
		create(t, s, c, k, map[string]string{"a": "1"})
		big := store.Change{Set: map[string][]byte{"big": []byte(`"` + strings.Repeat("x", 300) + `"`)}}
		for i := range 3 {
			err := s.Apply(ctxT(t), k, big)
			checkUnavailable(t, fmt.Sprintf("refused write %d", i), err)
			if _, _, err := s.Take(ctxT(t), k, "a", ""); err != nil {
				// Take writes a smaller record: allowed.
				t.Fatalf("Take after a refused write: %v", err)
			}
			mustApply(t, s, k, store.Change{Set: map[string][]byte{"a": []byte(fmt.Sprint(i))}})
		}
		rec := mustLoad(t, s, k)
		if len(rec.Values) != 1 || string(rec.Values["a"]) != "2" {
			t.Errorf("got values %q, want only a = 2", rec.Values)
		}
	})
}

// TestLockWaitHonoursContext blocks a change behind a row lock held by
// another transaction (on SQLite, behind the store's write lock) and checks
// that the change gives up when its context ends, leaves no lock behind,
// and that the record works once the other transaction is done.
func TestLockWaitHonoursContext(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		k := key("wait")
		create(t, s, c, k, map[string]string{"n": "0"})
		var release func()
		if s.dialect == SQLite {
			s.wsem <- struct{}{}
			release = func() { <-s.wsem }
		} else {
			tx, err := s.db.BeginTx(ctxT(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			var one int
			if err := tx.QueryRow(s.dialect.rebind("SELECT 1 FROM "+s.dialect.quote(s.table)+" WHERE id = ? FOR UPDATE"), k).Scan(&one); err != nil {
				t.Fatal(err)
			}
			release = func() { tx.Rollback() }
		}
		for _, ch := range []store.Change{{Incr: map[string]int64{"n": 1}}, {Expires: c.now().Add(2 * time.Hour)}} {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			start := time.Now()
			err := s.Apply(ctx, k, ch)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Apply(%+v) behind a lock: got %v, want DeadlineExceeded", ch, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Apply took %v to give up, want about 300ms", d)
			}
		}
		release()
		mustApply(t, s, k, store.Change{Incr: map[string]int64{"n": 1}})
		if got := string(mustLoad(t, s, k).Values["n"]); got != "1" {
			t.Errorf("got n = %s, want 1 (the timed-out increment not applied)", got)
		}
	})
}
