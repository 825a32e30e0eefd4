package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// cart returns a shopping cart of about 10 KB: the JSON of 100 line items.
func cart() []byte {
	type item struct {
		SKU      string `json:"sku"`
		Name     string `json:"name"`
		Qty      int    `json:"qty"`
		Price    int    `json:"price_cents"`
		Currency string `json:"currency"`
		Gift     bool   `json:"gift"`
	}
	names := []string{"Darjeeling First Flush", "Assam Breakfast", "Sencha Kagoshima", "Earl Grey Bergamot", "Rooibos Vanilla"}
	var c struct {
		Items []item `json:"items"`
		Note  string `json:"note"`
	}
	for i := range 100 {
		c.Items = append(c.Items, item{
			SKU:      fmt.Sprintf("TEA-%04d", 37*i%9973),
			Name:     fmt.Sprintf("%s %dg", names[i%len(names)], 50*(1+i%4)),
			Qty:      1 + i%3,
			Price:    450 + 37*i%2000,
			Currency: "EUR",
			Gift:     i%7 == 0,
		})
	}
	c.Note = "Leave at the door"
	b, _ := json.Marshal(c)
	return b
}

func storedBytes(t testing.TB, s *Store, k string) int {
	t.Helper()
	expr := "length(data) + COALESCE(length(vals), 0)"
	switch s.dialect {
	case Postgres:
		expr = "octet_length(data) + COALESCE(octet_length(vals::text), 0)"
	case SQLite:
		expr = "length(data) + COALESCE(length(CAST(vals AS BLOB)), 0)"
	}
	var n int
	q := s.dialect.rebind("SELECT " + expr + " FROM " + s.dialect.quote(s.table) + " WHERE id = ?")
	if err := s.db.QueryRow(q, k).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCompressionSaving stores a 10 KB cart with and without compression
// and reports the bytes stored.
func TestCompressionSaving(t *testing.T) {
	c := cart()
	if len(c) < 9000 || len(c) > 12000 {
		t.Fatalf("got a cart of %d bytes, want about 10 KB", len(c))
	}
	forEachEngine(t, func(t *testing.T, e testEngine) {
		sizes := map[string]int{}
		for _, mode := range []struct {
			name      string
			threshold int
		}{{"compressed", 0}, {"plain", -1}} {
			s := e.open(t, Options{CompressThreshold: mode.threshold})
			k := key("cart")
			mustApply(t, s, k, store.Change{Create: true, Set: map[string][]byte{"cart": c, "n": []byte("1")}, Expires: time.Now().Add(time.Hour)})
			if got := mustLoad(t, s, k).Values["cart"]; string(got) != string(c) {
				t.Fatalf("%s: the cart did not come back byte for byte", mode.name)
			}
			sizes[mode.name] = storedBytes(t, s, k)
		}
		t.Logf("%d-byte cart: %d bytes stored compressed, %d plain (%.0f%% saved)",
			len(c), sizes["compressed"], sizes["plain"], 100*(1-float64(sizes["compressed"])/float64(sizes["plain"])))
		if sizes["compressed"] >= sizes["plain"]/2 {
			t.Errorf("got %d bytes compressed, %d plain: want compression to halve the cart at least", sizes["compressed"], sizes["plain"])
		}
	})
}

// BenchmarkCart measures the cost of compression on a record holding a
// 10 KB cart: Load, an Apply that rewrites the cart, and an Apply that only
// increments a counter beside it (the whole record is re-encoded).
func BenchmarkCart(b *testing.B) {
	c := cart()
	for _, e := range engines {
		for _, mode := range []struct {
			name      string
			threshold int
		}{{"compressed", 0}, {"plain", -1}} {
			b.Run(e.name+"/"+mode.name, func(b *testing.B) {
				s := e.open(b, Options{CompressThreshold: mode.threshold})
				k := key("cart")
				ctx := b.Context()
				err := s.Apply(ctx, k, store.Change{Create: true, Set: map[string][]byte{"cart": c, "n": []byte("1")}, Expires: time.Now().Add(time.Hour)})
				if err != nil {
					b.Fatal(err)
				}
				b.Run("Load", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, ok, err := s.Load(ctx, k); !ok || err != nil {
							b.Fatal(ok, err)
						}
					}
				})
				b.Run("ApplyCart", func(b *testing.B) {
					ch := store.Change{Set: map[string][]byte{"cart": c}}
					b.ReportAllocs()
					for b.Loop() {
						if err := s.Apply(ctx, k, ch); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("ApplyIncr", func(b *testing.B) {
					ch := store.Change{Incr: map[string]int64{"n": 1}}
					b.ReportAllocs()
					for b.Loop() {
						if err := s.Apply(ctx, k, ch); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// BenchmarkApplyStrategy compares, on PostgreSQL, the ways of applying a
// change set atomically: (a) a short transaction that locks the row
// (BEGIN, SELECT ... FOR UPDATE, merge in Go, UPDATE, COMMIT), either
// through database/sql (a-tx4: four round trips) or pipelined (a-pipe: two
// round trips, what the store does when a change cannot be applied in
// place), (b) a naive UPDATE with jsonb operators on a jsonb column of
// values (one round trip; a prototype for the measurement only: it cannot
// keep values byte for byte, compress them, enforce the size limit or
// report ErrNotNumber), and (c) the store's in-place statement (one round
// trip; see inplace.go), which does all of that. The Parallel variants run
// 8 writers on one record.
//
// "durable" is PostgreSQL's default, where every commit waits for the WAL
// flush (which dominates on most disks); "async" sets synchronous_commit=off
// on the connections, which shows the cost of the strategies themselves.
func BenchmarkApplyStrategy(b *testing.B) {
	for _, mode := range []struct{ name, param string }{{"durable", ""}, {"async", "synchronous_commit=off"}} {
		b.Run(mode.name, func(b *testing.B) {
			dsn := envOr(postgresEnv, defaultPostgres)
			if mode.param != "" {
				k, v, _ := strings.Cut(mode.param, "=")
				dsn = withParam(dsn, k, v)
			}
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				b.Fatal(err)
			}
			pingOrSkip(b, db, postgresEnv)
			benchStrategies(b, newStore(b, db, Postgres, Options{}))
		})
	}
}

func benchStrategies(b *testing.B, s *Store) {
	ctx := b.Context()
	// The same table: without pipelining nor in-place changes, and
	// pipelined without in-place changes.
	s4, err := New(s.db, s.dialect, Options{Table: s.table})
	if err != nil {
		b.Fatal(err)
	}
	s4.noPipeline = true
	s4.inPlaceOff.Store(true)
	sp, err := New(s.db, s.dialect, Options{Table: s.table})
	if err != nil {
		b.Fatal(err)
	}
	sp.inPlaceOff.Store(true)
	vals := map[string][]byte{
		"user_id": []byte("1234567"), "views": []byte("41"),
		"csrf":   []byte(`"q9c3Yx0VdE1bP7v2m8sK4tA6wZ5rL1nH0jG3fD2sA9k"`),
		"_flash": []byte(`{"notice":"Welcome back!"}`),
		"cart":   []byte(`{"items":[{"sku":"TEA-042","qty":2},{"sku":"MUG-007","qty":1}],"total":3150}`),
	}
	k := key("strategy")
	if err := s.Apply(ctx, k, store.Change{Create: true, Set: vals, Expires: time.Now().Add(24 * time.Hour)}); err != nil {
		b.Fatal(err)
	}
	jt := s.dialect.quote(s.table + "_json")
	mustExec := func(q string, args ...any) {
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
	}
	mustExec(`CREATE TABLE ` + jt + ` (id CHAR(64) PRIMARY KEY, data JSONB NOT NULL, last_seen TIMESTAMPTZ NOT NULL, expires TIMESTAMPTZ NOT NULL)`)
	b.Cleanup(func() { s.db.Exec("DROP TABLE IF EXISTS " + jt) })
	obj := map[string]json.RawMessage{}
	for k, v := range vals {
		obj[k] = v
	}
	doc, _ := json.Marshal(obj)
	mustExec(`INSERT INTO `+jt+` VALUES ($1, $2, now(), now() + interval '1 day')`, k, string(doc))
	setJSON := `UPDATE ` + jt + ` SET data = data || jsonb_build_object($2::text, $3::jsonb), last_seen = $4 WHERE id = $1 AND expires > $4`
	incrJSON := `UPDATE ` + jt + ` SET data = jsonb_set(data, ARRAY[$2::text], to_jsonb(COALESCE((data->>$2)::bigint, 0) + $3)), last_seen = $4 WHERE id = $1 AND expires > $4`
	loadJSON := `SELECT data::text, last_seen, expires FROM ` + jt + ` WHERE id = $1 AND expires > $2`

	execOne := func(b *testing.B, q string, args ...any) {
		res, err := s.db.ExecContext(ctx, q, args...)
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			b.Fatalf("got %d rows, want 1", n)
		}
	}
	set := store.Change{Set: map[string][]byte{"_flash": []byte(`{"notice":"Saved."}`)}}
	incr := store.Change{Incr: map[string]int64{"views": 1}}
	cases := []struct {
		name string
		f    func(b *testing.B)
	}{
		{"a-tx4/Set", func(b *testing.B) {
			if err := s4.Apply(ctx, k, set); err != nil {
				b.Fatal(err)
			}
		}},
		{"a-pipe/Set", func(b *testing.B) {
			if err := sp.Apply(ctx, k, set); err != nil {
				b.Fatal(err)
			}
		}},
		{"c-inplace/Set", func(b *testing.B) {
			if err := s.Apply(ctx, k, set); err != nil {
				b.Fatal(err)
			}
		}},
		{"b-json/Set", func(b *testing.B) { execOne(b, setJSON, k, "_flash", `{"notice":"Saved."}`, time.Now()) }},
		{"a-tx4/Incr", func(b *testing.B) {
			if err := s4.Apply(ctx, k, incr); err != nil {
				b.Fatal(err)
			}
		}},
		{"a-pipe/Incr", func(b *testing.B) {
			if err := sp.Apply(ctx, k, incr); err != nil {
				b.Fatal(err)
			}
		}},
		{"c-inplace/Incr", func(b *testing.B) {
			if err := s.Apply(ctx, k, incr); err != nil {
				b.Fatal(err)
			}
		}},
		{"b-json/Incr", func(b *testing.B) { execOne(b, incrJSON, k, "views", 1, time.Now()) }},
		{"a/Load", func(b *testing.B) {
			if _, ok, err := s.Load(ctx, k); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}},
		{"b-json/Load", func(b *testing.B) {
			var data string
			var ls, ex time.Time
			if err := s.db.QueryRowContext(ctx, loadJSON, k, time.Now()).Scan(&data, &ls, &ex); err != nil {
				b.Fatal(err)
			}
			m := map[string]json.RawMessage{}
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				b.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.f(b)
			}
		})
		if strings.HasSuffix(c.name, "Load") {
			continue
		}
		b.Run(c.name+"Parallel", func(b *testing.B) {
			b.SetParallelism(4) // 8 writers on 2 cores
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.f(b)
				}
			})
		})
	}
}

// BenchmarkCartCodec isolates the CPU cost of compression from the
// database: encoding and decoding a record that holds the 10 KB cart, as
// every Apply on such a record does once each (and Load decodes once).
func BenchmarkCartCodec(b *testing.B) {
	values := map[string][]byte{"cart": cart(), "n": []byte("1"), "user_id": []byte("1234567")}
	for _, mode := range []struct {
		name      string
		threshold int
	}{{"compressed", store.DefaultCompressThreshold}, {"plain", 0}} {
		data, err := store.EncodeValues(values, mode.threshold)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(mode.name+"/Encode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := store.EncodeValues(values, mode.threshold); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data)), "stored-bytes")
		})
		b.Run(mode.name+"/Decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := store.DecodeValues(data, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyID measures what remembering change IDs costs a write: an
// increment without an ID (nothing remembered) and with a fresh ID (one
// more row in the ops table, in the same transaction), on the networked
// engines.
func BenchmarkApplyID(b *testing.B) {
	for _, e := range engines[:2] {
		b.Run(e.name, func(b *testing.B) {
			s := e.open(b, Options{})
			k := key("id")
			ctx := b.Context()
			if err := s.Apply(ctx, k, store.Change{Create: true, Set: map[string][]byte{"n": []byte("1")}, Expires: time.Now().Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			for _, withID := range []bool{false, true} {
				name := "NoID"
				if withID {
					name = "ID"
				}
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						ch := store.Change{Incr: map[string]int64{"n": 1}}
						if withID {
							ch.ID = store.NewChangeID()
						}
						if err := s.Apply(ctx, k, ch); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
