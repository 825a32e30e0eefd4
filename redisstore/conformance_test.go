package redisstore

import (
	"testing"

	"github.com/sesamego/sesame/internal/redistest"
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
			}, storetest.Options{NativeExpiry: true, IdempotentChanges: true})
			t.Run("Tokens", func(t *testing.T) {
				storetest.RunTokens(t, func(t *testing.T) store.TokenStore {
					return b.new(t, Options{})
				})
			})
		})
	}
}

// TestConformanceAutoPipeline runs the conformance suite with
// Options.AutoPipeline, on a single node and on the Cluster.
func TestConformanceAutoPipeline(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			storetest.RunWith(t, func(t *testing.T) store.Store {
				return b.new(t, Options{AutoPipeline: true})
			}, storetest.Options{NativeExpiry: true, IdempotentChanges: true})
		})
	}
}

// TestSentinel runs the conformance suite through a Sentinel-managed
// primary, reached with a redis+sentinel URL.
func TestSentinel(t *testing.T) {
	addr := redistest.StartSentinel(t)
	s, err := Open("redis+sentinel://"+addr+"?master_name="+redistest.SentinelMaster+"&dial_timeout=1s", Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if !s.atomicRename {
		t.Error("a Sentinel client renames in steps; want the atomic script")
	}
	storetest.RunWith(t, func(t *testing.T) store.Store {
		st, err := New(s.client, Options{Prefix: redistest.Prefix(t, s.client)})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}, storetest.Options{NativeExpiry: true, IdempotentChanges: true})
}
