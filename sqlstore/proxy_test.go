package sqlstore

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame/storetest"
)

// This is a copy of storetest.Proxy with one fix: on CutBeforeRequest,
// storetest.Proxy returns without closing either connection, and its
// deferred wait for the server-to-client goroutine then blocks forever (the
// server got no request, so it never answers): the client waits out its
// context and the server keeps the transaction open, holding its row
// locks. Here CutBeforeRequest closes both connections first. Drop this
// file once storetest.Proxy has the fix.

// proxy is a loopback TCP proxy that injects faults into the connections of
// a store's client, for fault-injection tests of networked stores. Point the
// store's client at [proxy.Addr]; set [proxy.Decide] (or use [RandomFaults])
// to choose a fault for each chunk the client sends.
type proxy struct {
	// Decide chooses the fault for a chunk a client sends. It is called
	// from many goroutines. Nil passes everything.
	Decide func(chunk []byte) storetest.Fault

	ln       net.Listener
	upstream string
	counts   [storetest.CutAfterReply + 1]atomic.Int64
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
	closed   atomic.Bool
}

// Newproxy starts a proxy on a loopback port that forwards to upstream
// (host:port). It is closed when the test ends.
func newProxy(t testing.TB, upstream string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &proxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Addr returns the proxy's address (127.0.0.1:port).
func (p *proxy) Addr() string { return p.ln.Addr().String() }

// Count returns how many times the proxy injected f.
func (p *proxy) Count(f storetest.Fault) int64 {
	if f < storetest.Pass || f > storetest.CutAfterReply {
		return 0
	}
	return p.counts[f].Load()
}

// Faults returns how many faults (anything but Pass) the proxy injected.
func (p *proxy) Faults() int64 {
	return p.Count(storetest.CutBeforeRequest) + p.Count(storetest.CutAfterRequest) + p.Count(storetest.CutAfterReply)
}

// Close stops the proxy and closes every connection through it.
func (p *proxy) Close() {
	if p.closed.Swap(true) {
		return
	}
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.handle(client)
	}
}

// handle relays one connection. Client chunks are forwarded one at a time;
// a fault that needs to see the reply holds the next chunk until it came.
func (p *proxy) handle(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client) || !p.track(server) {
		client.Close()
		server.Close()
		return
	}
	defer p.untrack(client)
	defer p.untrack(server)

	var cutAfterReply atomic.Bool
	done := make(chan struct{})
	go func() { // server to client
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
				if cutAfterReply.Load() {
					client.Close()
					server.Close()
					return
				}
			}
			if err != nil {
				client.Close()
				return
			}
		}
	}()
	defer func() { <-done }()
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			f := storetest.Pass
			if p.Decide != nil {
				f = p.Decide(buf[:n])
			}
			p.counts[f].Add(1)
			switch f {
			case storetest.CutBeforeRequest:
				// Close both ends now: the deferred wait for the reader
				// below would otherwise wait for a server that got no
				// request and holds its transaction open forever.
				client.Close()
				server.Close()
				return
			case storetest.CutAfterRequest:
				_, _ = server.Write(buf[:n])
				client.Close() // the reply has nowhere to go
				// Give the server the request before it sees the close.
				time.Sleep(5 * time.Millisecond)
				return
			case storetest.CutAfterReply:
				cutAfterReply.Store(true)
				if _, err := server.Write(buf[:n]); err != nil {
					return
				}
				continue
			default:
				if _, err := server.Write(buf[:n]); err != nil {
					return
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return
			}
			if tc, ok := server.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return
		}
	}
}
