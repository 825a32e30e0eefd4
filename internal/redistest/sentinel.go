package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SentinelMaster is the master name the sentinel of [StartSentinel]
// monitors.
const SentinelMaster = "sesame"

// StartSentinel starts a Redis primary and a Sentinel monitoring it as
// [SentinelMaster], and returns the sentinel's address; both stop, and their
// files go, when the test ends. When redis-server is missing, it calls
// [Unavailable].
func StartSentinel(tb testing.TB) string {
	tb.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(tb, "redistest: cannot start Redis Sentinel: %v", err)
	}
	dir := tb.TempDir()
	var procs []*process
	tb.Cleanup(func() {
		for _, p := range procs {
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	master, masterAddr, err := startServer(server, dir, false, func(port string) []string {
		return []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}
	})
	if err != nil {
		tb.Fatalf("redistest: starting the primary: %v", err)
	}
	procs = append(procs, master)
	_, masterPort, _ := net.SplitHostPort(masterAddr)
	sentinel, addr, err := startServer(server, dir, false, func(port string) []string {
		// Sentinel rewrites its configuration file, so each try gets its own.
		conf := filepath.Join(dir, "sentinel-"+port+".conf")
		text := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %s 1\n", port, dir, SentinelMaster, masterPort)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			panic(err) // a temp dir that cannot be written
		}
		return []string{conf, "--sentinel"}
	})
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			Unavailable(tb, "redistest: cannot start Redis Sentinel: %v", err)
		}
		tb.Fatalf("redistest: starting the sentinel: %v", err)
	}
	procs = append(procs, sentinel)
	return addr
}
