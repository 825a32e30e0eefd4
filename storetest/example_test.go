package storetest_test

import (
	"fmt"
	"testing"

	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

// A store's package runs the suite from one of its tests, with a function
// that returns a fresh store for each subtest.
func ExampleRun() {
	testConformance := func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
	}
	_ = testConformance // in a _test.go file: func TestConformance(t *testing.T) { ... }
}

// A store with a size limit other than the default says so (and a store
// whose records expire by themselves, like Redis, sets NativeExpiry).
func ExampleRunWith() {
	testConformance := func(t *testing.T) {
		newStore := func(t *testing.T) store.Store {
			s, err := memstore.NewWithOptions(memstore.Options{MaxRecordSize: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		storetest.RunWith(t, newStore, storetest.Options{MaxRecordSize: 64 << 10})
	}
	_ = testConformance
}

// Benchmarks work the same way.
func ExampleRunBenchmarks() {
	benchmarkStore := func(b *testing.B) {
		storetest.RunBenchmarks(b, func(*testing.B) store.Store { return memstore.New() })
	}
	_ = benchmarkStore
}

func ExampleNewKey() {
	key := storetest.NewKey() // fresh and random: safe on a shared server
	fmt.Println(len(key), store.ValidKey(key))
	// Output: 64 true
}
