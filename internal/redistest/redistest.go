// Package redistest gives tests a Redis server to talk to: the single node
// named by SESAME_REDIS_ADDR, and a real Redis Cluster of three masters that it
// starts itself on free loopback ports.
//
// # Single node
//
// [Addr] returns the address of the shared Redis (SESAME_REDIS_ADDR, default
// 127.0.0.1:6379) after checking that it answers. When it does not, the test is
// skipped, or fails when SESAME_REQUIRE_SERVICES=1 (as in CI). [Prefix] hands
// each test its own random key prefix and deletes the keys under it when the
// test ends, so parallel runs never collide.
//
// # Cluster
//
// [StartCluster] starts three redis-server processes with cluster mode on,
// joins them with redis-cli --cluster create, waits until every node reports
// cluster_state:ok, and stops them when the test ends. [SharedCluster] does the
// same once per test binary; the binary's TestMain must then run through
// [Main], which stops the shared cluster and removes its files after the tests.
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"crypto/rand"

	"github.com/redis/go-redis/v9"
)

// Environment variables the helpers read.
const (
	// AddrEnv names the single-node Redis (host:port). Default 127.0.0.1:6379.
	AddrEnv = "SESAME_REDIS_ADDR"

	// RequireEnv, set to 1, turns a missing server or binary into a test
	// failure instead of a skip.
	RequireEnv = "SESAME_REQUIRE_SERVICES"
)

// DefaultAddr is the address used when [AddrEnv] is unset.
const DefaultAddr = "127.0.0.1:6379"

// Required reports whether missing services fail tests (RequireEnv=1).
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Unavailable skips the test with the message, or fails it when services are
// required.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		tb.Fatalf("%s (%s=1, so this is a failure)", msg, RequireEnv)
	}
	tb.Skipf("%s (set %s=1 to make this a failure)", msg, RequireEnv)
}

// Addr returns the single-node Redis address from [AddrEnv] after checking
// that the server answers PING; otherwise it calls [Unavailable].
func Addr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv(AddrEnv)
	if addr == "" {
		addr = DefaultAddr
	}
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		Unavailable(tb, "redistest: no Redis at %s=%s: %v", AddrEnv, addr, err)
	}
	return addr
}

// NewClient returns a client for the single-node Redis of [Addr], closed when
// the test ends.
func NewClient(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: Addr(tb)})
	tb.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a random key prefix of the form "sesametest:<hex>:" and, when
// the test ends, deletes every key under it on every master c reaches.
func Prefix(tb testing.TB, c redis.UniversalClient) string {
	tb.Helper()
	prefix := "sesametest:" + rand.Text()[:12] + ":"
	tb.Cleanup(func() {
		if err := DeletePrefix(context.Background(), c, prefix); err != nil {
			tb.Errorf("redistest: cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

// DeletePrefix deletes every key that starts with prefix (which must not
// contain glob characters) on every master c reaches.
func DeletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	del := func(ctx context.Context, node *redis.Client) error {
		iter := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return err
		}
		for _, k := range keys {
			// One key per call: in a cluster, keys of one node still span slots.
			if err := node.Unlink(ctx, k).Err(); err != nil {
				return err
			}
		}
		return nil
	}
	switch c := c.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, del)
	case *redis.Ring:
		return c.ForEachShard(ctx, del)
	case *redis.Client:
		return del(ctx, c)
	}
	return errors.New("redistest: unsupported client type")
}

// clusterState returns the cluster_state line of CLUSTER INFO.
func clusterState(ctx context.Context, c *redis.Client) (string, error) {
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster_state:"); ok {
			return v, nil
		}
	}
	return "", errors.New("no cluster_state in CLUSTER INFO")
}
