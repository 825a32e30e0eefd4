package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sesamego/sesame/store"
)

// TestInPlace checks, on the networked engines, which changes the database
// applies in place (one statement) and which go through the transaction of
// lockedUpdate, and that both give store.Merge's outcome.
func TestInPlace(t *testing.T) {
	big := `"` + strings.Repeat("compressible ", 150) + `"`
	tests := []struct {
		name    string
		before  map[string]string
		c       store.Change
		inPlace bool
		want    map[string]string
		wantErr error
	}{
		{"a set", map[string]string{"a": "1"}, store.Change{Set: vals("b", `"x"`)}, true,
			map[string]string{"a": "1", "b": `"x"`}, nil},
		{"a replace and a delete", map[string]string{"a": "1", "b": "2", "c": "3"}, store.Change{Set: vals("a", "10"), Delete: []string{"b", "missing"}}, true,
			map[string]string{"a": "10", "c": "3"}, nil},
		{"increments of existing and missing keys", map[string]string{"n": "41", "m": "-7"}, store.Change{Incr: map[string]int64{"n": 1, "m": 7, "new": -3}}, true,
			map[string]string{"n": "42", "m": "0", "new": "-3"}, nil},
		{"an increment to the int64 limit", map[string]string{"n": "922337203685477580"}, store.Change{Incr: map[string]int64{"n": 9223372036854775807 - 922337203685477580}}, true,
			map[string]string{"n": "9223372036854775807"}, nil},
		{"set, then increment", map[string]string{"n": "100"}, store.Change{Set: vals("n", "10"), Incr: map[string]int64{"n": 5}}, true,
			map[string]string{"n": "15"}, nil},
		{"delete, then increment", map[string]string{"n": "100"}, store.Change{Delete: []string{"n"}, Incr: map[string]int64{"n": 2}}, true,
			map[string]string{"n": "2"}, nil},
		{"clear, set and increment", map[string]string{"a": "1", "n": "5"}, store.Change{Clear: true, Set: vals("b", "2"), Incr: map[string]int64{"n": 1}}, true,
			map[string]string{"b": "2", "n": "1"}, nil},
		{"a large value, compressed", map[string]string{"a": "1"}, store.Change{Set: vals("big", big)}, true,
			map[string]string{"a": "1", "big": big}, nil},
		{"a value that is not JSON text", map[string]string{"a": "1"}, store.Change{Set: vals("sp", " 1 ")}, true,
			map[string]string{"a": "1", "sp": " 1 "}, nil},
		{"unicode keys and values", map[string]string{"ключ": `"значение"`}, store.Change{Set: vals("🔑", `"😀"`), Incr: map[string]int64{"数": 3}}, true,
			map[string]string{"ключ": `"значение"`, "🔑": `"😀"`, "数": "3"}, nil},
		{"metadata with values", map[string]string{"a": "1"}, store.Change{Set: vals("a", "2"), SetUser: true, UserID: "u1", IP: "10.0.0.1", UserAgent: "test"}, true,
			map[string]string{"a": "2"}, nil},

		{"a replace of a compressed value", map[string]string{"big": big}, store.Change{Set: vals("big", "1")}, false,
			map[string]string{"big": "1"}, nil},
		{"a push", map[string]string{"l": "[1]"}, store.Change{Push: map[string]store.Append{"l": {Values: [][]byte{[]byte("2")}}}}, false,
			map[string]string{"l": "[1,2]"}, nil},
		{"a key starting with a tilde", map[string]string{"a": "1"}, store.Change{Set: vals("~k", "1")}, false,
			map[string]string{"a": "1", "~k": "1"}, nil},
		{"an increment of 19 digits", map[string]string{"n": "1000000000000000000"}, store.Change{Incr: map[string]int64{"n": 1}}, false,
			map[string]string{"n": "1000000000000000001"}, nil},
		{"an increment of a string", map[string]string{"n": `"5"`, "a": "1"}, store.Change{Set: vals("a", "2"), Incr: map[string]int64{"n": 1}}, false,
			map[string]string{"n": `"5"`, "a": "1"}, store.ErrNotNumber},
		{"an increment past int64", map[string]string{"n": "922337203685477580"}, store.Change{Incr: map[string]int64{"n": 9223372036854775807}}, false,
			map[string]string{"n": "922337203685477580"}, store.ErrNotNumber},
		{"a set over the size limit", map[string]string{"a": "1"}, store.Change{Set: vals("b", `"`+strings.Repeat("x", 3000)+`"`)}, false,
			map[string]string{"a": "1"}, store.ErrTooLarge},
		{"increments growing past the size limit", map[string]string{"a": `"` + strings.Repeat("x", 2040) + `"`, "n": "9"}, store.Change{Incr: map[string]int64{"n": 100000}}, false,
			map[string]string{"a": `"` + strings.Repeat("x", 2040) + `"`, "n": "9"}, store.ErrTooLarge},
	}
	for _, e := range engines[:2] {
		t.Run(e.name, func(t *testing.T) {
			s := e.open(t, Options{MaxRecordSize: 2048, CompressThreshold: 1024})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					k := key(tt.name)
					create(t, s, newClock(), k, tt.before)
					before, batchedBefore := s.inPlaced.Load(), s.batched.Load()
					c := tt.c
					c.ID = store.NewChangeID()
					err := s.Apply(ctxT(t), k, c)
					if !errors.Is(err, tt.wantErr) || (err != nil && tt.wantErr == nil) {
						t.Fatalf("Apply: got %v, want %v", err, tt.wantErr)
					}
					if got := s.inPlaced.Load() > before; got != tt.inPlace {
						t.Errorf("applied in place: %v, want %v", got, tt.inPlace)
					}
					if s.dialect == MySQL && !tt.inPlace && err == nil && s.batched.Load() <= batchedBefore {
						t.Error("the MySQL transaction was not sent as two batches")
					}
					rec := mustLoad(t, s, k)
					checkVals(t, rec.Values, tt.want)
					if c.SetUser && (rec.UserID != c.UserID || rec.IP != c.IP || rec.UserAgent != c.UserAgent) {
						t.Errorf("got user %q, IP %q, agent %q", rec.UserID, rec.IP, rec.UserAgent)
					}
					if err != nil {
						return
					}
					// The same change again is recognised: nothing changes.
					if err := s.Apply(ctxT(t), k, c); err != nil {
						t.Fatalf("the change again: %v", err)
					}
					checkVals(t, mustLoad(t, s, k).Values, tt.want)
					// The stored size is the record's, so later changes
					// enforce the limit exactly.
					var size int64
					if err := s.db.QueryRow(s.dialect.rebind(`SELECT size FROM `+s.dialect.quote(s.table)+` WHERE id = ?`), k).Scan(&size); err != nil {
						t.Fatal(err)
					}
					if want := store.Size(rec.Values); size != int64(want) {
						t.Errorf("stored size %d, want %d", size, want)
					}
				})
			}
		})
	}
}

// TestInPlaceRefusesTombstonesAndOldRows: a tombstone and a row of an
// earlier version go through the transaction, which refuses the first and
// moves the second to vals, after which its changes are in place.
func TestInPlaceRefusesTombstonesAndOldRows(t *testing.T) {
	for _, e := range engines[:2] {
		t.Run(e.name, func(t *testing.T) {
			s := e.open(t, Options{})
			c := newClock()
			k := key("tomb")
			mustApply(t, s, k, store.Change{Create: true, Now: c.now(), Expires: c.now().Add(time.Hour),
				Set: map[string][]byte{store.GoneField: []byte("true")}})
			if err := s.Apply(ctxT(t), k, store.Change{Set: vals("a", "1")}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a change to a tombstone: got %v, want ErrNotFound", err)
			}
			old := key("old")
			data, _ := store.EncodeValues(map[string][]byte{"n": []byte("1")}, 0)
			d := s.dialect
			if _, err := s.db.Exec(d.rebind(`INSERT INTO `+d.quote(s.table)+` (id, data, user_id, ip, user_agent, created, last_seen, expires) VALUES (?, ?, '', '', '', ?, ?, ?)`),
				old, data, d.timeArg(c.now()), d.timeArg(c.now()), d.timeArg(c.now().Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			for i, wantInPlace := range []bool{false, true} {
				before := s.inPlaced.Load()
				mustApply(t, s, old, store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"n": 1}})
				if got := s.inPlaced.Load() > before; got != wantInPlace {
					t.Errorf("change %d to a row of an earlier version in place: %v, want %v", i+1, got, wantInPlace)
				}
			}
			checkVals(t, mustLoad(t, s, old).Values, map[string]string{"n": "3"})
		})
	}
}

func vals(kv ...string) map[string][]byte {
	m := make(map[string][]byte, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []byte(kv[i+1])
	}
	return m
}

func checkVals(t *testing.T, got map[string][]byte, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d values %q, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || string(g) != v {
			t.Errorf("%q: got %.60q, want %.60q", k, g, v)
		}
	}
}

// TestInPlaceMySQLWithoutBatches: on a *sql.DB whose connections cannot
// run batches (no multiStatements, or no interpolateParams), MySQL writes
// go through the transaction, and still work.
func TestInPlaceMySQLWithoutBatches(t *testing.T) {
	for _, off := range []string{"multiStatements", "interpolateParams"} {
		t.Run("without "+off, func(t *testing.T) {
			cfg, err := mysql.ParseDSN(envOr(mysqlEnv, defaultMySQL))
			if err != nil {
				t.Skipf("%s is not a go-sql-driver DSN: %v", mysqlEnv, err)
			}
			cfg.ParseTime, cfg.InterpolateParams, cfg.MultiStatements = true, off != "interpolateParams", off != "multiStatements"
			db, err := sql.Open("mysql", cfg.FormatDSN())
			if err != nil {
				t.Fatal(err)
			}
			pingOrSkip(t, db, mysqlEnv)
			s := newStore(t, db, MySQL, Options{})
			k := key("nobatch")
			mustApply(t, s, k, store.Change{ID: store.NewChangeID(), Create: true, Set: vals("n", "1"), Expires: time.Now().Add(time.Hour)})
			c := store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"n": 1}}
			mustApply(t, s, k, c)
			mustApply(t, s, k, c) // recognised
			checkVals(t, mustLoad(t, s, k).Values, map[string]string{"n": "2"})
			if !s.noBatch.Load() || s.inPlaced.Load() != 0 {
				t.Errorf("noBatch %v, %d changes in place; want batches off and none", s.noBatch.Load(), s.inPlaced.Load())
			}
		})
	}
}

// TestInPlacePlanPG checks that every in-place statement PostgreSQL runs
// finds the session row through the primary key: its generic plan (the one
// PostgreSQL keeps for a connection after a few runs), with sequential
// scans disabled, scans no table and uses the primary key's index. A cast
// of the key to text, which that index of the CHAR(64) id column does not
// serve, made every write scan the whole session table (or every live row
// through the expiry index).
func TestInPlacePlanPG(t *testing.T) {
	s := openPostgres(t, Options{})
	ctx := ctxT(t)
	k := key("plan")
	mustApply(t, s, k, store.Change{Create: true, Set: vals("n", "1", "a", `"x"`), Expires: time.Now().Add(time.Hour)})
	for _, c := range []store.Change{
		{Incr: map[string]int64{"n": 1}},
		{ID: store.NewChangeID(), Incr: map[string]int64{"n": 1}, Expires: time.Now().Add(time.Hour)},
		{ID: store.NewChangeID(), Set: vals("b", "2"), Delete: []string{"a"}, SetUser: true, UserID: "u"},
		{ID: store.NewChangeID(), Clear: true, Set: vals("a", "1")},
	} {
		mustApply(t, s, k, c)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`SET plan_cache_mode = force_generic_plan`, `SET enable_seqscan = off`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	param := regexp.MustCompile(`\$([0-9]+)`)
	n := 0
	s.stmts.Range(func(sh, q any) bool {
		n++
		params := 0
		for _, m := range param.FindAllStringSubmatch(q.(string), -1) {
			p, _ := strconv.Atoi(m[1])
			params = max(params, p)
		}
		name := fmt.Sprintf("inplace_plan_%d", n)
		if _, err := conn.ExecContext(ctx, `PREPARE `+name+` AS `+q.(string)); err != nil {
			t.Fatalf("%+v: %v", sh, err)
		}
		nulls := strings.TrimSuffix(strings.Repeat("NULL, ", params), ", ")
		rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE `+name+`(`+nulls+`)`)
		if err != nil {
			t.Fatalf("%+v: %v", sh, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if p := strings.Join(plan, "\n"); strings.Contains(p, "Seq Scan") || !strings.Contains(p, "using "+s.table+"_pkey on "+s.table+" ") {
			t.Errorf("%+v: the statement does not find the row by its key:\n%s\n%s", sh, q, p)
		}
		return true
	})
	if n < 4 {
		t.Fatalf("%d in-place statements, want 4", n)
	}
}
