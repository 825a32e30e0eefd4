// Command redisclients compares Redis clients on the commands sesame's Redis
// store sends, at the concurrency of a busy server: READ (HGETALL), WRITE
// (HGETALL, then the apply script: EVALSHA) and NEW (EVALSHA creating a
// session). It records the exact commands redisstore sends for each (through
// a go-redis hook), then replays them from C goroutines through each client,
// each WRITE with a fresh change marker and each NEW under a fresh key, and
// reports per request: throughput, latency, the Redis server's CPU time
// (INFO cpu), and this process's allocations and CPU time.
//
//	cd bench && go run ./cmd/redisclients                  # a private redis-server
//	go run ./cmd/redisclients -n 50000 -c 32,64 -clients pool,autopipeline,rueidis
//
// Clients: "pool" (go-redis, one command per pooled connection at a time,
// PoolSize = C), "autopipeline" (go-redis's AutoPipeline, which
// redisstore.Options.AutoPipeline uses), "rueidis" (github.com/redis/rueidis,
// which pipelines concurrent commands on one connection by default) and
// "rueidiscompat" (rueidis behind its go-redis-like adapter).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/redis/rueidis/rueidiscompat"

	"github.com/sesamego/sesame/redisstore"
	"github.com/sesamego/sesame/store"
)

func main() {
	addr := flag.String("redis", "", "Redis host:port; empty starts a private redis-server")
	server := flag.String("redis-server", "redis-server", "the redis-server binary to start when -redis is empty")
	n := flag.Int("n", 20000, "requests per client, request kind and concurrency")
	cs := flag.String("c", "32,64", "concurrencies, comma-separated")
	clients := flag.String("clients", "pool,autopipeline,rueidis,rueidiscompat", "clients, comma-separated")
	kinds := flag.String("kinds", "read,write,new", "request kinds, comma-separated")
	rounds := flag.Int("rounds", 1, "rounds (the clients alternate within each)")
	flag.Parse()
	log.SetFlags(0)

	if *addr == "" {
		a, stop, err := startRedis(*server)
		if err != nil {
			log.Fatalf("redisclients: %v", err)
		}
		defer stop()
		*addr = a
	}
	info := redis.NewClient(&redis.Options{Addr: *addr})
	defer info.Close()
	rec, err := record(*addr)
	if err != nil {
		log.Fatalf("redisclients: recording the store's commands: %v", err)
	}

	fmt.Printf("redisclients: %d requests per run; Redis %s; %s, GOMAXPROCS %d\n\n", *n, *addr, runtime.Version(), runtime.GOMAXPROCS(0))
	fmt.Println("| round | client | kind | C | req/s | p50 µs | p99 µs | Redis CPU µs/req | client allocs/req | client B/req | client CPU µs/req | errors |")
	fmt.Println("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for round := 1; round <= *rounds; round++ {
		for _, cstr := range strings.Split(*cs, ",") {
			c, err := strconv.Atoi(cstr)
			if err != nil || c < 1 {
				log.Fatalf("redisclients: -c %q", cstr)
			}
			for _, kind := range strings.Split(*kinds, ",") {
				for _, name := range strings.Split(*clients, ",") {
					cl, err := open(name, *addr, c)
					if err != nil {
						log.Fatalf("redisclients: %s: %v", name, err)
					}
					r, err := measure(info, cl, rec, kind, *n, c)
					cl.close()
					if err != nil {
						log.Fatalf("redisclients: %s %s: %v", name, kind, err)
					}
					fmt.Printf("| %d | %s | %s | %d | %.0f | %.0f | %.0f | %.2f | %.1f | %.0f | %.1f | %d |\n",
						round, name, kind, c, r.rps, r.p50, r.p99, r.serverCPU, r.allocs, r.bytes, r.clientCPU, r.errors)
				}
			}
		}
	}
}

// recording is what the store sent: the script's SHA-1, one WRITE's
// record key and script arguments, and one NEW's.
type recording struct {
	sha                string
	writeKey           string
	writeArgs, newArgs []any
}

// recorder is a go-redis hook keeping the arguments of EVALSHA commands.
type recorder struct {
	mu    sync.Mutex
	evals [][]any
}

func (r *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (r *recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.EqualFold(cmd.Name(), "evalsha") {
			r.mu.Lock()
			r.evals = append(r.evals, slices.Clone(cmd.Args()))
			r.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}

const prefix = "redisclients:"

// record creates a session and writes it as sesame's middleware does,
// keeping the commands.
func record(addr string) (recording, error) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	rec := &recorder{}
	c.AddHook(rec)
	st, err := redisstore.New(c, redisstore.Options{Prefix: prefix})
	if err != nil {
		return recording{}, err
	}
	ctx := context.Background()
	key := store.Key(rand.Text())
	now := time.Now()
	create := store.Change{ID: store.NewChangeID(), Create: true, Now: now, Created: now, Expires: now.Add(2 * time.Hour),
		Set: map[string][]byte{"n": []byte("41"), "name": []byte(`"gopher"`)}}
	if err := st.Apply(ctx, key, create); err != nil {
		return recording{}, err
	}
	if _, ok, err := st.Load(ctx, key); err != nil || !ok {
		return recording{}, fmt.Errorf("load: %v %v", ok, err)
	}
	write := store.Change{ID: store.NewChangeID(), Now: now, Expires: now.Add(2 * time.Hour), Incr: map[string]int64{"n": 1}}
	if err := st.Apply(ctx, key, write); err != nil {
		return recording{}, err
	}
	if len(rec.evals) != 2 {
		return recording{}, fmt.Errorf("%d EVALSHA commands recorded, want 2", len(rec.evals))
	}
	// EVALSHA sha 2 key marker args...
	nw, wr := rec.evals[0], rec.evals[1]
	return recording{sha: nw[1].(string), writeKey: wr[3].(string), writeArgs: wr[5:], newArgs: nw[5:]}, nil
}

// client is one Redis client under test.
type client struct {
	hgetall func(ctx context.Context, key string) error
	evalsha func(ctx context.Context, sha string, keys []string, args []any) error
	close   func()
}

func open(name, addr string, c int) (client, error) {
	switch name {
	case "pool", "autopipeline":
		rc := redis.NewClient(&redis.Options{Addr: addr, PoolSize: c})
		var cmd redis.Cmdable = rc
		if name == "autopipeline" {
			ap, err := rc.AutoPipeline()
			if err != nil {
				rc.Close()
				return client{}, err
			}
			cmd = ap
		}
		return client{
			hgetall: func(ctx context.Context, key string) error { return cmd.HGetAll(ctx, key).Err() },
			evalsha: func(ctx context.Context, sha string, keys []string, args []any) error {
				return cmd.EvalSha(ctx, sha, keys, args...).Err()
			},
			close: func() { rc.Close() },
		}, nil
	case "rueidis":
		rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
		if err != nil {
			return client{}, err
		}
		return client{
			hgetall: func(ctx context.Context, key string) error {
				return rc.Do(ctx, rc.B().Hgetall().Key(key).Build()).Error()
			},
			evalsha: func(ctx context.Context, sha string, keys []string, args []any) error {
				s := make([]string, len(args))
				for i, a := range args {
					s[i] = fmt.Sprint(a)
				}
				return rc.Do(ctx, rc.B().Evalsha().Sha1(sha).Numkeys(int64(len(keys))).Key(keys...).Arg(s...).Build()).Error()
			},
			close: rc.Close,
		}, nil
	case "rueidiscompat":
		rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
		if err != nil {
			return client{}, err
		}
		cmd := rueidiscompat.NewAdapter(rc)
		return client{
			hgetall: func(ctx context.Context, key string) error { return cmd.HGetAll(ctx, key).Err() },
			evalsha: func(ctx context.Context, sha string, keys []string, args []any) error {
				return cmd.EvalSha(ctx, sha, keys, args...).Err()
			},
			close: rc.Close,
		}, nil
	}
	return client{}, fmt.Errorf("unknown client %q", name)
}

type result struct {
	rps, p50, p99, serverCPU, allocs, bytes, clientCPU float64
	errors                                             int64
}

// measure replays n requests of kind on c goroutines through cl.
func measure(info *redis.Client, cl client, rec recording, kind string, n, c int) (result, error) {
	// The records a run needs: WRITE and READ share one; NEW makes its own.
	base := strings.TrimSuffix(rec.writeKey, rec.writeKey[strings.LastIndex(rec.writeKey, ":")+1:])
	op := func(ctx context.Context, i int) error {
		switch kind {
		case "read":
			return cl.hgetall(ctx, rec.writeKey)
		case "write":
			if err := cl.hgetall(ctx, rec.writeKey); err != nil {
				return err
			}
			return cl.evalsha(ctx, rec.sha, []string{rec.writeKey, "{" + rec.writeKey + "}:c:" + randomID()}, rec.writeArgs)
		case "new":
			k := base + randomID()
			return cl.evalsha(ctx, rec.sha, []string{k, "{" + k + "}:c:" + randomID()}, rec.newArgs)
		}
		return fmt.Errorf("kind %q: want read, write or new", kind)
	}
	ctx := context.Background()
	if err := op(ctx, -1); err != nil { // connections, and a check of the replay
		return result{}, err
	}
	warm := min(n/10, 2000)
	run(warm, c, func(i int) (time.Duration, error) { return 0, op(ctx, i) })

	cpu0, err := serverCPU(info)
	if err != nil {
		return result{}, err
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := processCPU()
	start := time.Now()
	lat, errs := run(n, c, func(i int) (time.Duration, error) {
		s := time.Now()
		err := op(ctx, i)
		return time.Since(s), err
	})
	elapsed := time.Since(start)
	t1 := processCPU()
	runtime.ReadMemStats(&m1)
	cpu1, err := serverCPU(info)
	if err != nil {
		return result{}, err
	}
	slices.Sort(lat)
	return result{
		rps:       float64(n) / elapsed.Seconds(),
		p50:       float64(lat[len(lat)/2]) / 1e3,
		p99:       float64(lat[len(lat)*99/100]) / 1e3,
		serverCPU: (cpu1 - cpu0) * 1e6 / float64(n),
		// The latency slice and the goroutines are this tool's: a few
		// allocations per run, not per request.
		allocs:    float64(m1.Mallocs-m0.Mallocs) / float64(n),
		bytes:     float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n),
		clientCPU: float64(t1-t0) / 1e3 / float64(n),
		errors:    errs,
	}, nil
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// run calls do for 0..n-1 on c goroutines and returns the durations it
// reported and the number of errors.
func run(n, c int, do func(i int) (time.Duration, error)) ([]time.Duration, int64) {
	lat := make([]time.Duration, n)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				d, err := do(i)
				if err != nil {
					errs.Add(1)
				}
				lat[i] = d
			}
		})
	}
	wg.Wait()
	return lat, errs.Load()
}

// serverCPU returns Redis's used_cpu_sys + used_cpu_user, in seconds.
func serverCPU(c *redis.Client) (float64, error) {
	s, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		return 0, err
	}
	var total float64
	found := 0
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, err
			}
			total += f
			found++
		}
	}
	if found != 2 {
		return 0, errors.New("INFO cpu has no used_cpu_sys and used_cpu_user")
	}
	return total, nil
}

// startRedis starts redis-server on a free loopback port, without
// persistence, and returns its address and a function that stops it.
func startRedis(bin string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for range 100 {
		if c.Ping(context.Background()).Err() == nil {
			return addr, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("%s on port %d did not answer", bin, port)
}
