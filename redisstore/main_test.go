package redisstore

import (
	"context"
	"crypto/rand"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/internal/redistest"
	"github.com/sesamego/sesame/store"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	redistest.Main(m)
}

// backend makes a fresh Store (own key prefix, cleaned up) on one kind of
// Redis deployment.
type backend struct {
	name string
	new  func(t testing.TB, opts Options) *Store
}

// backends are the deployments every contract test runs against.
var backends = []backend{
	{"single", newSingle},
	{"cluster", newCluster},
}

func newSingle(t testing.TB, opts Options) *Store {
	t.Helper()
	client := redistest.NewClient(t)
	return newOn(t, client, opts)
}

func newCluster(t testing.TB, opts Options) *Store {
	t.Helper()
	client := redistest.NewClusterClient(t, redistest.SharedCluster(t))
	return newOn(t, client, opts)
}

func newOn(t testing.TB, client redis.UniversalClient, opts Options) *Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = redistest.Prefix(t, client)
	}
	s, err := New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newKey returns a fresh random record key.
func newKey() string { return store.Key(rand.Text()) }

// counter is a go-redis hook counting round trips: each command sent alone
// and each pipeline is one.
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// rounds adds a round-trip counter to s's client and returns a function
// that reports how many round trips fn made. Only use it where nothing else
// uses the client meanwhile.
func rounds(s *Store) func(fn func()) int {
	c := &counter{}
	s.client.AddHook(c)
	return func(fn func()) int {
		before := c.n.Load()
		fn()
		return int(c.n.Load() - before)
	}
}

// shift makes s's clock run d ahead of the real one.
func shift(s *Store, d time.Duration) {
	s.now = func() time.Time { return time.Now().Add(d) }
}
