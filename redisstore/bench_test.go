package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

// BenchmarkStore runs the shared store benchmarks (Load, Apply of a set,
// ApplyIncr, Create, LoadParallel) on a single node and on the Cluster.
func BenchmarkStore(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			storetest.RunBenchmarks(b, func(b *testing.B) store.Store { return be.new(b, Options{}) })
		})
	}
}

// cart returns the JSON of a shopping cart of n line items, about 100 bytes
// each.
func cart(n int) []byte {
	type item struct {
		SKU      string `json:"sku"`
		Name     string `json:"name"`
		Qty      int    `json:"qty"`
		Price    int    `json:"price_cents"`
		Currency string `json:"currency"`
	}
	items := make([]item, n)
	names := []string{"Organic sencha green tea 100g", "Stoneware mug, ocean blue", "Bamboo matcha tea whisk", "Cast-iron tetsubin teapot 0.8l"}
	for i := range items {
		items[i] = item{fmt.Sprintf("SKU-%05d", 7919*i%100000), names[i%len(names)], 1 + i%3, 499 + 137*i%5000, "EUR"}
	}
	b, _ := json.Marshal(map[string]any{"items": items, "coupon": "SPRING25"})
	return b
}

// BenchmarkCart measures a session holding a 10 KB cart (100 line items),
// stored compressed (the default) and uncompressed: the bytes Redis holds
// (the value's HSTRLEN and the hash's MEMORY USAGE), and the cost of Load and
// of an Apply that rewrites the cart.
func BenchmarkCart(b *testing.B) {
	value := cart(100)
	for _, mode := range []struct {
		name      string
		threshold int
	}{{"compressed", 0}, {"uncompressed", -1}} {
		b.Run(mode.name, func(b *testing.B) {
			s := newSingle(b, Options{CompressThreshold: mode.threshold})
			ctx := context.Background()
			key := mustCreate(b, s, store.Change{Set: map[string][]byte{"cart": value, "user_id": []byte("42")}})
			field, _ := s.client.HStrLen(ctx, s.recordKey(key), "v:cart").Result()
			mem, _ := s.client.MemoryUsage(ctx, s.recordKey(key)).Result()
			b.Run("Load", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, ok, err := s.Load(ctx, key); err != nil || !ok {
						b.Fatal(ok, err)
					}
				}
				b.ReportMetric(float64(len(value)), "cart-B")
				b.ReportMetric(float64(field), "stored-B")
				b.ReportMetric(float64(mem), "hash-mem-B")
			})
			b.Run("Apply", func(b *testing.B) {
				c := store.Change{Set: map[string][]byte{"cart": value}}
				b.ReportAllocs()
				for b.Loop() {
					c.Expires = time.Now().Add(time.Hour)
					if err := s.Apply(ctx, key, c); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// TestCartCompression checks that the default threshold compresses a 10 KB
// cart and logs what it saves.
func TestCartCompression(t *testing.T) {
	value := cart(100)
	if len(value) < 9000 || len(value) > 12000 {
		t.Fatalf("the cart is %d bytes, want about 10 KB", len(value))
	}
	ctx := context.Background()
	sizes := map[string]int64{}
	for name, threshold := range map[string]int{"compressed": 0, "uncompressed": -1} {
		s := newSingle(t, Options{CompressThreshold: threshold})
		key := mustCreate(t, s, store.Change{Set: map[string][]byte{"cart": value}})
		n, err := s.client.HStrLen(ctx, s.recordKey(key), "v:cart").Result()
		if err != nil {
			t.Fatal(err)
		}
		mem, _ := s.client.MemoryUsage(ctx, s.recordKey(key)).Result()
		sizes[name] = n
		t.Logf("%s: cart %d bytes, stored %d bytes, hash MEMORY USAGE %d bytes", name, len(value), n, mem)
		if got := mustLoad(t, s, key).Values["cart"]; string(got) != string(value) {
			t.Errorf("%s: the cart does not come back", name)
		}
	}
	if sizes["uncompressed"] != int64(len(value)) || sizes["compressed"] > sizes["uncompressed"]/3 {
		t.Errorf("stored %d bytes compressed, %d uncompressed; want under a third", sizes["compressed"], sizes["uncompressed"])
	}
}
