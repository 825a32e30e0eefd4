package redistest

import (
	"os/exec"
	"testing"
)

// StartServer starts a standalone redis-server of its own on a free loopback
// port and returns its address; the server stops, and its files go, when the
// test ends. Tests that disturb the server (CLIENT KILL, CONFIG SET, a
// restart) use it instead of the shared single node of [Addr], whose other
// clients they would disturb too. When redis-server is missing, it calls
// [Unavailable].
func StartServer(tb testing.TB) string {
	tb.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(tb, "redistest: cannot start a Redis server: %v", err)
	}
	dir := tb.TempDir()
	p, addr, err := startServer(server, dir, false, func(port string) []string {
		return []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}
	})
	if err != nil {
		tb.Fatalf("redistest: starting a Redis server: %v", err)
	}
	tb.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	return addr
}
