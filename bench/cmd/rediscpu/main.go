// Command rediscpu measures what each request costs Redis: it runs N READ,
// WRITE and NEW requests through the real middleware of each contender (in
// process, with httptest; the apps of bench/internal/loadapp) on C
// goroutines, and reports from Redis's INFO, per request: the server's CPU
// time (used_cpu_sys + used_cpu_user), the time of the commands the client
// sent (INFO commandstats), and each command's calls and usec_per_call,
// nested ones included; and, per request, this process's allocations and CPU
// time.
//
//	cd bench && go run ./cmd/rediscpu                       # a private redis-server
//	go run ./cmd/rediscpu -n 20000 -c 32 -contenders "sesame scs"
//	go run ./cmd/rediscpu -redis 127.0.0.1:6379            # an existing server: quiet only
//
// Without -redis it starts a redis-server of its own on a free loopback port
// (without persistence) and stops it at the end, so that nothing else counts
// in its CPU time. -before and -after run a shell command around each
// measured run, with $CONTENDER and $ENDPOINT set: for instance
// "callgrind_control -z" and "callgrind_control -d" on a redis-server run
// under valgrind --tool=callgrind, for instruction counts that do not
// depend on the machine's load.
//
// commandstats counts a command run by a script or inside MULTI/EXEC as well
// as the script or EXEC that ran it, whose time includes it. The "commands
// µs" column therefore adds only the commands a client sends: HGETALL, GET,
// EVALSHA, EVAL, MULTI, EXEC and SCRIPT; the table below lists them all.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/bench/internal/loadapp"
)

func main() {
	addr := flag.String("redis", "", "Redis host:port; empty starts a private redis-server")
	server := flag.String("redis-server", "redis-server", "the redis-server binary to start when -redis is empty")
	n := flag.Int("n", 5000, "requests per contender and endpoint")
	c := flag.Int("c", 32, "concurrent requests")
	contenders := flag.String("contenders", "sesame sesame-autopipeline scs", "contenders: sesame, sesame-autopipeline, scs")
	endpoints := flag.String("endpoints", "read write new", "endpoints: read, write, new")
	pool := flag.Int("pool", 0, "connection pool size (0: go-redis's default; redigo keeps 128 idle)")
	before := flag.String("before", "", "shell command run before each measured run")
	after := flag.String("after", "", "shell command run after each measured run")
	flag.Parse()
	log.SetFlags(0)

	if *addr == "" {
		a, stop, err := startRedis(*server)
		if err != nil {
			log.Fatalf("rediscpu: %v", err)
		}
		defer stop()
		*addr = a
	}
	info := redis.NewClient(&redis.Options{Addr: *addr})
	defer info.Close()

	fmt.Printf("rediscpu: %d requests per run on %d goroutines; Redis %s; %s, GOMAXPROCS %d\n\n", *n, *c, *addr, runtime.Version(), runtime.GOMAXPROCS(0))
	fmt.Println("| contender | endpoint | Redis CPU µs/req | commands µs/req | top-level calls/req | client allocs/req | client CPU µs/req | errors |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|")
	var details []string
	for _, name := range strings.Fields(*contenders) {
		cfg, err := contender(name)
		if err != nil {
			log.Fatalf("rediscpu: %v", err)
		}
		cfg.Redis, cfg.PoolSize = *addr, *pool
		for _, ep := range strings.Fields(*endpoints) {
			if ep != "read" && ep != "write" && ep != "new" {
				log.Fatalf("rediscpu: endpoint %q: want read, write or new", ep)
			}
			cfg.Prefix = fmt.Sprintf("rediscpu:%s:%s:%d:", name, ep, time.Now().UnixNano())
			r, err := measure(info, cfg, name, ep, *n, *c, *before, *after)
			if err != nil {
				log.Fatalf("rediscpu: %s %s: %v", name, ep, err)
			}
			fmt.Printf("| %s | %s | %.2f | %.2f | %.2f | %.1f | %.1f | %d |\n", name, ep, r.cpu, r.commands, r.topCalls, r.allocs, r.clientCPU, r.errors)
			for _, s := range r.stats {
				details = append(details, fmt.Sprintf("| %s | %s | %s | %.2f | %.2f |", name, ep, s.name, float64(s.calls)/float64(*n), s.usecPerCall))
			}
			deletePrefix(info, cfg.Prefix)
		}
	}
	fmt.Println()
	fmt.Println("| contender | endpoint | command | calls/req | usec_per_call |")
	fmt.Println("|---|---|---|--:|--:|")
	for _, d := range details {
		fmt.Println(d)
	}
}

// contender returns the app of a contender's name.
func contender(name string) (loadapp.Config, error) {
	switch name {
	case "sesame":
		return loadapp.Config{Lib: "sesame", Store: "redis", Client: "pool"}, nil
	case "sesame-autopipeline":
		return loadapp.Config{Lib: "sesame", Store: "redis", Client: "autopipeline"}, nil
	case "scs":
		return loadapp.Config{Lib: "scs", Store: "redis"}, nil
	}
	return loadapp.Config{}, fmt.Errorf("unknown contender %q", name)
}

// topLevel are the commands a client sends (the others run inside them).
var topLevel = map[string]bool{"hgetall": true, "get": true, "evalsha": true, "eval": true, "multi": true, "exec": true, "script": true}

type cmdStat struct {
	name        string
	calls       int64
	usec        int64
	usecPerCall float64
}

type result struct {
	cpu, commands, topCalls, allocs, clientCPU float64
	errors                                     int64
	stats                                      []cmdStat
}

// measure runs n requests to endpoint ep of the app cfg on c goroutines,
// after a warm-up, and returns what they cost per request.
func measure(info *redis.Client, cfg loadapp.Config, name, ep string, n, c int, before, after string) (result, error) {
	app, err := loadapp.New(cfg)
	if err != nil {
		return result{}, err
	}
	defer app.Close()
	rec := httptest.NewRecorder()
	app.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/seed", nil))
	if rec.Code != http.StatusOK {
		return result{}, fmt.Errorf("/seed answered %d: %s", rec.Code, rec.Body)
	}
	var cookie []string
	for _, ck := range rec.Result().Cookies() {
		cookie = append(cookie, ck.Name+"="+ck.Value)
	}
	var errs atomic.Int64
	do := func() {
		req := httptest.NewRequest(http.MethodGet, "/"+ep, nil)
		if ep != "new" {
			req.Header.Set("Cookie", strings.Join(cookie, "; "))
		}
		w := httptest.NewRecorder()
		app.Handler.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			errs.Add(1)
		}
	}
	run(200, c, do) // warm-up: connections, scripts
	errs.Store(0)

	ctx := context.Background()
	if err := hook(before, name, ep); err != nil {
		return result{}, err
	}
	if err := info.ConfigResetStat(ctx).Err(); err != nil {
		return result{}, err
	}
	cpu0, err := serverCPU(info)
	if err != nil {
		return result{}, err
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := processCPU()
	run(n, c, do)
	t1 := processCPU()
	runtime.ReadMemStats(&m1)
	cpu1, err := serverCPU(info)
	if err != nil {
		return result{}, err
	}
	stats, err := commandStats(info)
	if err != nil {
		return result{}, err
	}
	if err := hook(after, name, ep); err != nil {
		return result{}, err
	}

	r := result{
		cpu:       (cpu1 - cpu0) * 1e6 / float64(n),
		allocs:    float64(m1.Mallocs-m0.Mallocs) / float64(n),
		clientCPU: float64(t1-t0) / float64(time.Microsecond) / float64(n),
		errors:    errs.Load(),
		stats:     stats,
	}
	for _, s := range stats {
		if topLevel[s.name] {
			r.commands += float64(s.usec) / float64(n)
			r.topCalls += float64(s.calls) / float64(n)
		}
	}
	return r, nil
}

// run calls do n times on c goroutines.
func run(n, c int, do func()) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				do()
			}
		})
	}
	wg.Wait()
}

// hook runs a shell command with CONTENDER and ENDPOINT set.
func hook(cmd, name, ep string) error {
	if cmd == "" {
		return nil
	}
	c := exec.Command("sh", "-c", cmd)
	c.Env = append(os.Environ(), "CONTENDER="+name, "ENDPOINT="+ep)
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	return nil
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
				return 0, fmt.Errorf("INFO cpu: %s: %w", line, err)
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

// commandStats parses INFO commandstats, leaving out the commands of this
// tool (INFO, CONFIG), busiest first.
func commandStats(c *redis.Client) ([]cmdStat, error) {
	s, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		return nil, err
	}
	var stats []cmdStat
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		st := cmdStat{name: strings.TrimPrefix(name, "cmdstat_")}
		if cmd, _, _ := strings.Cut(st.name, "|"); cmd == "info" || cmd == "config" {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				st.calls, _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				st.usec, _ = strconv.ParseInt(v, 10, 64)
			case "usec_per_call":
				st.usecPerCall, _ = strconv.ParseFloat(v, 64)
			}
		}
		stats = append(stats, st)
	}
	slices.SortFunc(stats, func(a, b cmdStat) int { return int(b.usec - a.usec) })
	return stats, sc.Err()
}

// deletePrefix deletes the keys a run left (records and markers).
func deletePrefix(c *redis.Client, prefix string) {
	ctx := context.Background()
	for _, pattern := range []string{prefix + "*", "{" + prefix + "*"} {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 1000 {
				c.Del(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	}
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
