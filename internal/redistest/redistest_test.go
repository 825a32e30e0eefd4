package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { Main(m) }

func TestClusterStartAndStop(t *testing.T) {
	c, err := startCluster()
	if err != nil {
		Unavailable(t, "cannot start a cluster: %v", err)
	}
	addrs, dir := slices.Clone(c.Addrs), c.dir
	if len(addrs) != clusterNodes {
		t.Fatalf("%d nodes, want %d", len(addrs), clusterNodes)
	}
	client := NewClusterClient(t, addrs)
	ctx := context.Background()
	for i := range 50 {
		if err := client.Set(ctx, fmt.Sprint("redistest:", i), i, 0).Err(); err != nil {
			t.Fatalf("SET across the slots: %v", err)
		}
	}
	var masters, holding atomic.Int32
	err = client.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		masters.Add(1)
		if n, _ := node.DBSize(ctx).Result(); n > 0 {
			holding.Add(1)
		}
		return nil
	})
	if err != nil || masters.Load() != clusterNodes || holding.Load() != clusterNodes {
		t.Errorf("%d masters, %d holding keys (%v); want %d each", masters.Load(), holding.Load(), err, clusterNodes)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster dir %s left behind (%v)", dir, err)
	}
	for _, addr := range addrs {
		if conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			conn.Close()
			t.Errorf("%s still answers after Stop", addr)
		}
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestSharedClusterIsShared(t *testing.T) {
	a := SharedCluster(t)
	b := SharedCluster(t)
	if !slices.Equal(a, b) {
		t.Errorf("two calls gave %v and %v", a, b)
	}
}

func TestPrefixCleansUp(t *testing.T) {
	client := NewClient(t)
	ctx := context.Background()
	var prefix string
	t.Run("writer", func(t *testing.T) {
		prefix = Prefix(t, client)
		for i := range 20 {
			if err := client.Set(ctx, fmt.Sprint(prefix, i), i, time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if keys, err := client.Keys(ctx, prefix+"*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("keys left under %s: %v, %v", prefix, keys, err)
	}
}
