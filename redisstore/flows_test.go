package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/internal/flowtest"
	"github.com/sesamego/sesame/internal/redistest"
	"github.com/sesamego/sesame/redisstore"
)

// The session manager's flows (HTTP through a cookie jar: races, flashes,
// concurrent requests, devices) on Redis and Redis Cluster.

func newFlowStore(t *testing.T, cluster bool) *redisstore.Store {
	t.Helper()
	var c redis.UniversalClient
	if cluster {
		c = redistest.NewClusterClient(t, redistest.StartCluster(t))
	} else {
		c = redistest.NewClient(t)
	}
	st, err := redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestFlows(t *testing.T)          { flowtest.Flows(t, newFlowStore(t, false)) }
func TestFlowsOnCluster(t *testing.T) { flowtest.Flows(t, newFlowStore(t, true)) }

func TestDevices(t *testing.T)          { flowtest.Devices(t, newFlowStore(t, false)) }
func TestDevicesOnCluster(t *testing.T) { flowtest.Devices(t, newFlowStore(t, true)) }
