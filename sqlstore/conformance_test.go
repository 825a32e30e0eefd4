package sqlstore

import (
	"testing"

	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

// TestConformance runs the store conformance suite on every engine.
func TestConformance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		e.open(t, Options{}) // skip (or fail) once when the server is down
		storetest.Run(t, func(t *testing.T) store.Store { return e.open(t, Options{}) })
	})
}

// BenchmarkStore runs the shared store benchmarks on every engine.
func BenchmarkStore(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			storetest.RunBenchmarks(b, func(b *testing.B) store.Store { return e.open(b, Options{}) })
		})
	}
}
