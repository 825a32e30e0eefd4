package redisstore

import (
	"testing"

	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

// TestConformance runs the store conformance suite against a single Redis
// node and against a three-master Redis Cluster.
func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			storetest.RunWith(t, func(t *testing.T) store.Store {
				return b.new(t, Options{})
			}, storetest.Options{NativeExpiry: true})
		})
	}
}
