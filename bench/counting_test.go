package bench

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/sesamego/sesame/store"
)

// counted wraps st in a decorator that counts every call sesame's manager
// makes to it (Load, Apply, Delete, and the optional Take and Rename that it
// finds by type assertion), so a benchmark can report store round trips per
// request. The decorator implements store.Taker, store.Renamer and
// store.ClientSide exactly when st does, and answers Local and LoadShared
// (the methods by which the manager finds memstore's fast paths) as st does,
// so the manager takes the same paths as with st itself. (It hides
// store.Locker and store.UserIndex, which no benchmark scenario uses.)
func counted(st store.Store) (store.Store, *atomic.Int64) {
	c := countingStore{inner: st, calls: new(atomic.Int64)}
	_, take := st.(store.Taker)
	_, rename := st.(store.Renamer)
	switch {
	case isClientSide(st):
		return &countingClientSide{c}, c.calls
	case take && rename:
		return &countingTakerRenamer{c}, c.calls
	case take:
		return &countingTaker{c}, c.calls
	case rename:
		return &countingRenamer{c}, c.calls
	}
	return &c, c.calls
}

type countingStore struct {
	inner store.Store
	calls *atomic.Int64
}

func (c *countingStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	c.calls.Add(1)
	return c.inner.Load(ctx, key)
}

func (c *countingStore) Apply(ctx context.Context, key string, ch store.Change) error {
	c.calls.Add(1)
	return c.inner.Apply(ctx, key, ch)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	c.calls.Add(1)
	return c.inner.Delete(ctx, key)
}

// sharedLoader and localStore are the method sets by which sesame's manager
// finds memstore's copy-free load and its "never waits on I/O".
type (
	sharedLoader interface {
		LoadShared(ctx context.Context, key string) (store.Record, bool, error)
	}
	localStore interface{ Local() bool }
)

// LoadShared forwards memstore's copy-free load, and falls back to Load,
// whose copy is just as safe to share.
func (c *countingStore) LoadShared(ctx context.Context, key string) (store.Record, bool, error) {
	if sl, ok := c.inner.(sharedLoader); ok {
		c.calls.Add(1)
		return sl.LoadShared(ctx, key)
	}
	return c.Load(ctx, key)
}

// Local answers for the wrapped store: the manager skips per-call deadline
// timers for local stores (memstore).
func (c *countingStore) Local() bool {
	l, ok := c.inner.(localStore)
	return ok && l.Local()
}

func isClientSide(st store.Store) bool {
	cs, ok := st.(store.ClientSide)
	return ok && cs.ClientSide()
}

// countingClientSide counts the calls made on the store the wrapped
// client-side store returns for each request (the cookie store's).
type countingClientSide struct{ countingStore }

// ClientSide reports true: counted makes one only for a client-side store.
func (c *countingClientSide) ClientSide() bool { return true }

func (c *countingClientSide) ForRequest(w http.ResponseWriter, r *http.Request) store.Store {
	return &countingStore{inner: c.inner.(store.ClientSide).ForRequest(w, r), calls: c.calls}
}

func (c *countingStore) take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	c.calls.Add(1)
	return c.inner.(store.Taker).Take(ctx, key, field, id)
}

func (c *countingStore) rename(ctx context.Context, oldKey, newKey string, ch store.Change) error {
	c.calls.Add(1)
	return c.inner.(store.Renamer).Rename(ctx, oldKey, newKey, ch)
}

type countingTaker struct{ countingStore }

func (c *countingTaker) Take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	return c.take(ctx, key, field, id)
}

type countingRenamer struct{ countingStore }

func (c *countingRenamer) Rename(ctx context.Context, oldKey, newKey string, ch store.Change) error {
	return c.rename(ctx, oldKey, newKey, ch)
}

type countingTakerRenamer struct{ countingStore }

func (c *countingTakerRenamer) Take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	return c.take(ctx, key, field, id)
}

func (c *countingTakerRenamer) Rename(ctx context.Context, oldKey, newKey string, ch store.Change) error {
	return c.rename(ctx, oldKey, newKey, ch)
}

var (
	_ localStore       = (*countingStore)(nil)
	_ sharedLoader     = (*countingStore)(nil)
	_ store.ClientSide = (*countingClientSide)(nil)
	_ store.Taker      = (*countingTaker)(nil)
	_ store.Renamer    = (*countingRenamer)(nil)
	_ store.Taker      = (*countingTakerRenamer)(nil)
	_ store.Renamer    = (*countingTakerRenamer)(nil)
)

// tripProxy is a TCP proxy on loopback that counts network round trips
// between its clients and one server: on each connection, every burst of
// bytes the client sends after it has received something from the server
// (or first) is one round trip. A pipelined batch is therefore one trip,
// whatever the driver or protocol (Redis, PostgreSQL, MySQL). It adds a hop,
// so it is used to count, never to time.
type tripProxy struct {
	ln    net.Listener
	to    string
	trips atomic.Int64
}

func startTripProxy(tb testing.TB, to string) *tripProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &tripProxy{ln: ln, to: to}
	go p.serve()
	tb.Cleanup(func() { ln.Close() })
	return p
}

func (p *tripProxy) Addr() string { return p.ln.Addr().String() }

func (p *tripProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.relay(c)
	}
}

func (p *tripProxy) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.to)
	if err != nil {
		return
	}
	defer server.Close()
	var answered atomic.Bool
	answered.Store(true)
	done := make(chan struct{}, 2)
	go func() { // client to server
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if answered.Swap(false) {
					p.trips.Add(1)
				}
				if _, werr := server.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		server.(*net.TCPConn).CloseWrite()
		done <- struct{}{}
	}()
	go func() { // server to client
		buf := make([]byte, 64<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				answered.Store(true)
				if _, werr := client.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		client.(*net.TCPConn).CloseWrite()
		done <- struct{}{}
	}()
	<-done
	<-done
}
