package redisstore

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/internal/redistest"
	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

// The fault-injection tests hammer one record with concurrent change sets
// (storetest.Hammer) while connections are cut under the store's client, and
// check that no acknowledged change is lost, none is applied twice, and none
// is reported failed although it was applied. go-redis re-sends a command
// after a network error, so without the change markers these tests find
// duplicates.

// faultRate is the share of the chunks a client sends that a proxy cuts.
const faultRate = 0.05

// proxyReadTimeout is the read timeout of clients behind a proxy: a reply
// that a cut swallowed is given up on quickly (go-redis waits 3 s by
// default), so the tests stay short.
const proxyReadTimeout = 300 * time.Millisecond

// hammerOpts is the load of every fault test.
var hammerOpts = storetest.HammerOptions{Workers: 8, Ops: 400, Timeout: 5 * time.Second}

// checkHammer fails the test unless r shows every promise kept.
func checkHammer(t *testing.T, r storetest.HammerReport) {
	t.Helper()
	t.Logf("hammer: %v", r)
	for msg, n := range r.Errors {
		t.Logf("  %d× %s", n, msg)
	}
	if r.Lost != 0 || r.Duplicates != 0 || r.FalseFailures != 0 {
		t.Errorf("lost %d, duplicates %d, false failures %d; want none", r.Lost, r.Duplicates, r.FalseFailures)
	}
	if r.Acked == 0 {
		t.Error("no change was acknowledged")
	}
}

// logProxies logs and returns the faults the proxies injected.
func logProxies(t *testing.T, proxies ...*storetest.Proxy) int64 {
	t.Helper()
	var before, after, reply int64
	for _, p := range proxies {
		before += p.Count(storetest.CutBeforeRequest)
		after += p.Count(storetest.CutAfterRequest)
		reply += p.Count(storetest.CutAfterReply)
	}
	t.Logf("faults: %d (%d cut before a request, %d after a request, %d after a reply)", before+after+reply, before, after, reply)
	return before + after + reply
}

// killer sends CLIENT KILL TYPE normal SKIPME yes to every server of addrs
// every 50 ms until ctx ends, counting the connections killed in kills.
func killer(addrs []string, kills *atomic.Int64) func(ctx context.Context) {
	return func(ctx context.Context) {
		var clients []*redis.Client
		for _, a := range addrs {
			c := redis.NewClient(&redis.Options{Addr: a})
			defer c.Close()
			clients = append(clients, c)
		}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, c := range clients {
				n, err := c.ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Result()
				if err == nil {
					kills.Add(n)
				}
			}
		}
	}
}

// TestFaultsProxy puts a fault-injecting proxy between the store and a
// single Redis node.
func TestFaultsProxy(t *testing.T) {
	forEachClientMode(t, func(t *testing.T, opts Options) {
		rate, hopts := scaled(opts, faultRate, hammerOpts)
		st, check, p := proxied(t, rate, opts)
		r := storetest.Hammer(t, st, check, hopts)
		checkHammer(t, r)
		if logProxies(t, p) == 0 {
			t.Error("the proxy injected no fault")
		}
	})
}

// forEachClientMode runs test with the store's commands sent one by one
// over the client's pool, and through its auto-pipeliner. The
// auto-pipeliner sends the commands of the test's workers in a few large
// writes on one connection, so a proxy cutting 5% of the chunks cuts few;
// there the faults are made 4 times as likely and the hammers 4 times as
// long.
func forEachClientMode(t *testing.T, test func(t *testing.T, opts Options)) {
	t.Run("pool", func(t *testing.T) { test(t, Options{}) })
	t.Run("autopipeline", func(t *testing.T) { test(t, Options{AutoPipeline: true}) })
}

// scaled returns the fault rate and hammer options for a store with opts
// (see forEachClientMode).
func scaled(opts Options, rate float64, h storetest.HammerOptions) (float64, storetest.HammerOptions) {
	if opts.AutoPipeline {
		rate *= 4
		h.Ops *= 4
	}
	return rate, h
}

// TestFaultsClientKill kills the store's connections with CLIENT KILL every
// 50 ms, on a server of the test's own (killing every client of the shared
// server would disturb other tests using it).
func TestFaultsClientKill(t *testing.T) {
	addr := redistest.StartServer(t)
	forEachClientMode(t, func(t *testing.T, sopts Options) {
		client := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { client.Close() })
		st := newOn(t, client, sopts)

		var kills atomic.Int64
		opts := hammerOpts
		opts.Ops = 1500 // 400 take a fraction of a second: a few kills
		_, opts = scaled(sopts, 0, opts)
		opts.During = killer([]string{addr}, &kills)
		r := storetest.Hammer(t, st, st, opts)
		checkHammer(t, r)
		t.Logf("connections killed: %d", kills.Load())
		if kills.Load() == 0 {
			t.Error("CLIENT KILL killed no connection")
		}
	})
}

// TestFaultsCluster routes every connection of a cluster client through a
// fault-injecting proxy of its node, and kills connections on every node
// with CLIENT KILL meanwhile; then it creates sessions through the same
// proxies.
func TestFaultsCluster(t *testing.T) {
	forEachClientMode(t, testFaultsCluster)
}

func testFaultsCluster(t *testing.T, sopts Options) {
	addrs := redistest.SharedCluster(t)
	proxies := map[string]*storetest.Proxy{}
	var all []*storetest.Proxy
	rate, opts := scaled(sopts, faultRate, hammerOpts)
	opts.Ops = 800 * opts.Ops / hammerOpts.Ops
	for _, a := range addrs {
		p := storetest.NewProxy(t, a)
		p.Decide = storetest.RandomFaults(rate, nil)
		proxies[a] = p
		all = append(all, p)
	}
	var unknownAddrs sync.Map
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		if p, ok := proxies[addr]; ok {
			return d.DialContext(ctx, network, p.Addr())
		}
		unknownAddrs.Store(addr, true)
		return d.DialContext(ctx, network, addr)
	}
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Dialer: dial, ReadTimeout: proxyReadTimeout})
	t.Cleanup(func() { client.Close() })
	direct := redistest.NewClusterClient(t, addrs)
	sopts.Prefix = redistest.Prefix(t, direct)
	st := newOn(t, client, sopts)
	check := newOn(t, direct, Options{Prefix: sopts.Prefix})

	var kills atomic.Int64
	opts.During = killer(addrs, &kills)
	r := storetest.Hammer(t, st, check, opts)
	checkHammer(t, r)
	t.Logf("connections killed: %d", kills.Load())
	if logProxies(t, all...) == 0 {
		t.Error("the proxies injected no fault")
	}
	if kills.Load() == 0 {
		t.Error("CLIENT KILL killed no connection")
	}
	opts.During = nil
	faults := func() (n int64) {
		for _, p := range all {
			n += p.Faults()
		}
		return n
	}
	before := faults()
	checkOneShot(t, "creates", hammerCreates(t, st, check, opts), faults()-before)
	unknownAddrs.Range(func(a, _ any) bool {
		t.Errorf("the cluster client dialed %v, which has no proxy", a)
		return true
	})
}

// checkOneShot fails the test unless r shows every promise kept.
func checkOneShot(t *testing.T, what string, r storetest.OneShotReport, faults int64) {
	t.Helper()
	t.Logf("%s: %v; faults injected: %d", what, r, faults)
	if r.Lost != 0 || r.FalseFailures != 0 {
		t.Errorf("%s: lost %d, false failures %d; want none", what, r.Lost, r.FalseFailures)
	}
	if r.Acked == 0 || faults == 0 {
		t.Errorf("%s: %d acknowledged, %d faults: the test proves nothing", what, r.Acked, faults)
	}
}

// TestFaultsTakesAndLocks takes flash messages and locks through a proxy that
// cuts connections: go-redis re-sends them, and a repeated take must return
// the value it took (not lose it), a repeated TryLock must not lock its own
// caller out.
func TestFaultsTakesAndLocks(t *testing.T) {
	direct := redistest.NewClient(t)
	p := storetest.NewProxy(t, redistest.Addr(t))
	p.Decide = storetest.RandomFaults(0.1, nil)
	client := redis.NewClient(&redis.Options{Addr: p.Addr(), ReadTimeout: proxyReadTimeout})
	t.Cleanup(func() { client.Close() })
	prefix := redistest.Prefix(t, direct)
	st := newOn(t, client, Options{Prefix: prefix})
	check := newOn(t, direct, Options{Prefix: prefix})
	opts := storetest.HammerOptions{Workers: 8, Ops: 200, Timeout: 5 * time.Second}

	before := p.Faults()
	r := storetest.HammerTakes(t, st, check, opts)
	checkOneShot(t, "takes", r, p.Faults()-before)
	before = p.Faults()
	r = storetest.HammerLocks(t, st, check, opts)
	checkOneShot(t, "locks", r, p.Faults()-before)
}

// runOps calls fn for 0..opts.Ops-1 on opts.Workers goroutines, each call
// bounded by opts.Timeout, with opts.During running alongside (as
// storetest's hammers do).
func runOps(opts storetest.HammerOptions, fn func(ctx context.Context, i int)) {
	duringCtx, stop := context.WithCancel(context.Background())
	var during sync.WaitGroup
	if opts.During != nil {
		during.Go(func() { opts.During(duringCtx) })
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= opts.Ops {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
				fn(ctx, i)
				cancel()
			}
		})
	}
	wg.Wait()
	stop()
	during.Wait()
}

// Outcomes of one change in the hammers below.
const (
	acked = iota + 1
	unknownOutcome
	failed
)

func outcomeOf(err error) int {
	switch {
	case err == nil:
		return acked
	case errors.Is(err, store.ErrOutcomeUnknown):
		return unknownOutcome
	}
	return failed
}

// hammerUpdates is storetest.Hammer without pushes: each change sets a
// field of its own, increments a shared counter and touches the record, the
// plain update of every request that writes (a Hammer change also pushes,
// which takes another path through the script). The counter must equal the
// number of fields set: one more is a change applied twice.
func hammerUpdates(t *testing.T, st, check *Store, opts storetest.HammerOptions) storetest.HammerReport {
	t.Helper()
	key := mustCreate(t, check, store.Change{ID: store.NewChangeID(), Set: values("n", "0")})
	outcome := make([]int, opts.Ops)
	errs := make([]error, opts.Ops)
	runOps(opts, func(ctx context.Context, i int) {
		err := st.Apply(ctx, key, store.Change{
			ID:      store.NewChangeID(),
			Set:     values("op"+strconv.Itoa(i), "true"),
			Incr:    map[string]int64{"n": 1},
			Expires: time.Now().Add(time.Hour),
		})
		outcome[i], errs[i] = outcomeOf(err), err
	})
	r := storetest.HammerReport{Ops: opts.Ops, Errors: map[string]int{}}
	var rec store.Record
	for range 50 { // the check store may be reconnecting
		var ok bool
		var err error
		if rec, ok, err = check.Load(context.Background(), key); err == nil && ok {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.Counter, _ = strconv.ParseInt(string(rec.Values["n"]), 10, 64)
	for i := range opts.Ops {
		_, applied := rec.Values["op"+strconv.Itoa(i)]
		if applied {
			r.Applied++
		}
		switch outcome[i] {
		case acked:
			r.Acked++
			if !applied {
				r.Lost++
			}
		case unknownOutcome:
			r.Unknown++
		case failed:
			r.Failed++
			if applied {
				r.FalseFailures++
			}
		}
		if errs[i] != nil {
			r.Errors[errs[i].Error()]++
		}
	}
	r.Duplicates = r.Counter - int64(r.Applied)
	if n, err := check.client.HGet(context.Background(), check.recordKey(key), fieldSize).Int(); err != nil || n != store.Size(rec.Values) {
		t.Errorf("_n = %d, %v; want store.Size %d", n, err, store.Size(rec.Values))
	}
	return r
}

// hammerCreates creates opts.Ops sessions through st, each under a key of
// its own and with a change ID, and looks for them through check. A create
// that answered must have created its session; one that failed (not
// unknown) must not have, which is also what a create applied twice shows:
// its repeat fails with ErrExists.
func hammerCreates(t *testing.T, st, check *Store, opts storetest.HammerOptions) storetest.OneShotReport {
	t.Helper()
	keys := make([]string, opts.Ops)
	outcome := make([]int, opts.Ops)
	errs := make([]error, opts.Ops)
	runOps(opts, func(ctx context.Context, i int) {
		keys[i] = newKey()
		err := st.Apply(ctx, keys[i], store.Change{
			ID:      store.NewChangeID(),
			Create:  true,
			Set:     values("name", `"gopher"`, "i", strconv.Itoa(i)),
			Expires: time.Now().Add(time.Hour),
		})
		outcome[i], errs[i] = outcomeOf(err), err
	})
	r := storetest.OneShotReport{Ops: opts.Ops}
	for i := range opts.Ops {
		rec, ok, err := check.Load(context.Background(), keys[i])
		if err != nil {
			t.Fatal(err)
		}
		created := ok && string(rec.Values["i"]) == strconv.Itoa(i)
		switch outcome[i] {
		case acked:
			r.Acked++
			if !created {
				r.Lost++
			}
		case unknownOutcome:
			r.Unknown++
		case failed:
			r.Failed++
			if created {
				r.FalseFailures++
				t.Logf("create %d: %v", i, errs[i])
			}
		}
	}
	return r
}

// proxied returns a store whose client reaches the shared Redis through a
// fault-injecting proxy that cuts rate of the chunks, a store on the same
// records with a direct client, and the proxy.
func proxied(t *testing.T, rate float64, opts Options) (st, check *Store, p *storetest.Proxy) {
	direct := redistest.NewClient(t)
	p = storetest.NewProxy(t, redistest.Addr(t))
	p.Decide = storetest.RandomFaults(rate, nil)
	client := redis.NewClient(&redis.Options{Addr: p.Addr(), ReadTimeout: proxyReadTimeout})
	t.Cleanup(func() { client.Close() })
	opts.Prefix = redistest.Prefix(t, direct)
	return newOn(t, client, opts), newOn(t, direct, Options{Prefix: opts.Prefix}), p
}

// TestFaultsPlainUpdates runs hammerUpdates through a proxy that cuts
// connections, and against a server that kills them.
func TestFaultsPlainUpdates(t *testing.T) {
	forEachClientMode(t, testFaultsPlainUpdates)
}

func testFaultsPlainUpdates(t *testing.T, sopts Options) {
	t.Run("proxy", func(t *testing.T) {
		rate, hopts := scaled(sopts, faultRate, hammerOpts)
		st, check, p := proxied(t, rate, sopts)
		checkHammer(t, hammerUpdates(t, st, check, hopts))
		if logProxies(t, p) == 0 {
			t.Error("the proxy injected no fault")
		}
	})
	t.Run("client kill", func(t *testing.T) {
		addr := redistest.StartServer(t)
		client := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { client.Close() })
		st := newOn(t, client, sopts)
		var kills atomic.Int64
		opts := hammerOpts
		opts.Ops = 1500
		_, opts = scaled(sopts, 0, opts)
		opts.During = killer([]string{addr}, &kills)
		checkHammer(t, hammerUpdates(t, st, st, opts))
		t.Logf("connections killed: %d", kills.Load())
		if kills.Load() == 0 {
			t.Error("CLIENT KILL killed no connection")
		}
	})
}

// TestFaultsCreates runs hammerCreates through a proxy that cuts
// connections: the path of every new session.
func TestFaultsCreates(t *testing.T) {
	forEachClientMode(t, func(t *testing.T, opts Options) {
		rate, hopts := scaled(opts, faultRate, hammerOpts)
		st, check, p := proxied(t, rate, opts)
		before := p.Faults()
		checkOneShot(t, "creates", hammerCreates(t, st, check, hopts), p.Faults()-before)
	})
}
