package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterNodes is the number of masters a test cluster has.
const clusterNodes = 3

// Cluster is a running Redis Cluster of three masters on loopback ports,
// started by [StartCluster] or [SharedCluster].
type Cluster struct {
	// Addrs are the masters' host:port addresses.
	Addrs []string

	dir   string
	procs []*process
}

// process is a started server and the result of its Wait.
type process struct {
	cmd    *exec.Cmd
	exited chan error
}

// StartCluster starts a dedicated three-master Redis Cluster and returns its
// addresses; the cluster is stopped and its files removed when the test ends.
// When redis-server or redis-cli is missing, it calls [Unavailable].
func StartCluster(tb testing.TB) []string {
	tb.Helper()
	c, err := startCluster()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			Unavailable(tb, "redistest: cannot start a Redis Cluster: %v", err)
		}
		tb.Fatalf("redistest: starting a Redis Cluster: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("redistest: stopping the cluster: %v", err)
		}
	})
	return c.Addrs
}

var shared struct {
	sync.Mutex
	main    bool // Main is running the tests
	started bool
	c       *Cluster
	err     error
}

// SharedCluster returns the addresses of a three-master Redis Cluster shared
// by every test of the binary, starting it on first use. The binary's TestMain
// must call [Main], which stops it after the tests. When redis-server or
// redis-cli is missing, it calls [Unavailable].
func SharedCluster(tb testing.TB) []string {
	tb.Helper()
	shared.Lock()
	defer shared.Unlock()
	if !shared.main {
		tb.Fatal("redistest: SharedCluster needs TestMain to call redistest.Main")
	}
	if !shared.started {
		shared.started = true
		shared.c, shared.err = startCluster()
	}
	if shared.err != nil {
		if errors.Is(shared.err, exec.ErrNotFound) {
			Unavailable(tb, "redistest: cannot start a Redis Cluster: %v", shared.err)
		}
		tb.Fatalf("redistest: starting a Redis Cluster: %v", shared.err)
	}
	return shared.c.Addrs
}

// Main runs the tests of m, stops the cluster of [SharedCluster] if one was
// started, and exits with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	shared.Lock()
	shared.main = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	if shared.c != nil {
		if err := shared.c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "redistest: stopping the shared cluster:", err)
		}
	}
	shared.Unlock()
	os.Exit(code)
}

// NewClusterClient returns a cluster client for addrs, closed when the test
// ends.
func NewClusterClient(tb testing.TB, addrs []string) *redis.ClusterClient {
	tb.Helper()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	tb.Cleanup(func() { c.Close() })
	return c
}

// startCluster starts the servers, joins them and waits for cluster_state:ok.
func startCluster() (_ *Cluster, err error) {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, err
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sesame-redis-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	for range clusterNodes {
		if err := c.startNode(server); err != nil {
			return nil, err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	for _, addr := range c.Addrs {
		if err := waitClusterOK(ctx, addr); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// startNode starts one cluster-enabled redis-server.
func (c *Cluster) startNode(server string) error {
	p, addr, err := startServer(server, c.dir, true, func(port string) []string {
		return []string{
			"--port", port,
			"--bind", "127.0.0.1",
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(c.dir, "nodes-"+port+".conf"),
			"--save", "",
			"--appendonly", "no",
			"--dir", c.dir,
			"--daemonize", "no",
		}
	})
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	c.Addrs = append(c.Addrs, addr)
	return nil
}

// startServer starts server with the arguments args returns for a free
// loopback port (and, with bus, a free port+10000 for the cluster bus), waits
// until it answers PING, and retries with other ports when one is taken
// between the check and the start.
func startServer(server, dir string, bus bool, args func(port string) []string) (*process, string, error) {
	var lastErr error
	for range 10 {
		port := 30000 + rand.IntN(20000)
		if !free(port) || (bus && !free(port+10000)) {
			continue
		}
		p := strconv.Itoa(port)
		var logs bytes.Buffer
		cmd := exec.Command(server, args(p)...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = &logs, &logs
		setParentDeath(cmd)
		if err := cmd.Start(); err != nil {
			return nil, "", err
		}
		addr := net.JoinHostPort("127.0.0.1", p)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if err := waitPing(addr, exited); err != nil {
			cmd.Process.Kill()
			lastErr = fmt.Errorf("%s on port %s: %w\n%s", filepath.Base(server), p, err, logs.String())
			continue
		}
		return &process{cmd: cmd, exited: exited}, addr, nil
	}
	return nil, "", fmt.Errorf("redistest: no free port for a server: %w", lastErr)
}

// free reports whether nothing listens on the loopback port.
func free(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// waitPing waits until the server at addr answers PING, or it exits.
func waitPing(addr string, exited <-chan error) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("exited: %v", werr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to PING: %w", err)
		}
	}
}

// waitClusterOK waits until the node at addr reports cluster_state:ok.
func waitClusterOK(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for {
		state, err := clusterState(ctx, c)
		if err == nil && state == "ok" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redistest: node %s never reached cluster_state:ok (last %q, %v)", addr, state, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop kills the cluster's servers and removes their files. It is safe to call
// more than once.
func (c *Cluster) Stop() error {
	for _, p := range c.procs {
		p.cmd.Process.Kill()
	}
	for _, p := range c.procs {
		<-p.exited // reaped by the goroutine started with the process
	}
	c.procs, c.Addrs = nil, nil
	if c.dir == "" {
		return nil
	}
	err := os.RemoveAll(c.dir)
	c.dir = ""
	return err
}
