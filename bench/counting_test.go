package bench

import (
	"context"
	"encoding/binary"
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
// store.ClientSide exactly when st does, and answers Local, LoadShared and
// LoadFlat (the methods by which the manager finds memstore's fast paths) as
// st does, so the manager takes the same paths as with st itself. (It hides
// store.Locker and store.UserIndex, which no benchmark scenario uses.)
func counted(st store.Store) (store.Store, *atomic.Int64) {
	c := countingStore{inner: st, calls: new(atomic.Int64)}
	_, take := st.(store.Taker)
	_, rename := st.(store.Renamer)
	_, flat := st.(flatLoader)
	switch {
	case isClientSide(st):
		return &countingClientSide{c}, c.calls
	case flat && take && rename:
		return &countingFlat{c}, c.calls
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

// flatLoader is what sesame's manager looks for in a store that keeps its
// records flat (memstore): LoadFlat, and FlatLoader returning the store
// itself (so that a decorator that merely embeds such a store is not read
// around).
type flatLoader interface {
	LoadFlat(ctx context.Context, key string) ([]byte, bool, error)
	FlatLoader() any
}

type countingFlat struct{ countingStore }

func (c *countingFlat) LoadFlat(ctx context.Context, key string) ([]byte, bool, error) {
	c.calls.Add(1)
	return c.inner.(flatLoader).LoadFlat(ctx, key)
}

// FlatLoader says that LoadFlat is c's own.
func (c *countingFlat) FlatLoader() any { return c }

func (c *countingFlat) Take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	return c.take(ctx, key, field, id)
}

func (c *countingFlat) Rename(ctx context.Context, oldKey, newKey string, ch store.Change) error {
	return c.rename(ctx, oldKey, newKey, ch)
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
	_ flatLoader       = (*countingFlat)(nil)
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
	// stmts counts the SQL statements clients sent (PostgreSQL and MySQL;
	// see sqlCounter).
	stmts atomic.Int64
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
	var answered, serverFirst, clientSpoke atomic.Bool
	answered.Store(true)
	done := make(chan struct{}, 2)
	go func() { // client to server
		buf := make([]byte, 64<<10)
		var sc sqlCounter
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if answered.Swap(false) {
					p.trips.Add(1)
				}
				clientSpoke.Store(true)
				p.stmts.Add(int64(sc.feed(buf[:n], serverFirst.Load())))
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
				if !clientSpoke.Load() {
					serverFirst.Store(true) // MySQL greets first
				}
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

// sqlCounter counts the SQL statements in what a client sends on one
// connection: PostgreSQL's simple queries (each statement of the text) and
// executions of the extended protocol, MySQL's COM_QUERY (each statement of
// a multi-statement text) and COM_STMT_EXECUTE. Other protocols (Redis)
// count nothing. It tells PostgreSQL (the client speaks first, with a
// startup message) from MySQL (the server greets first).
type sqlCounter struct {
	proto   int // 0 not known yet, then protoPG, protoMySQL or protoOther
	started bool
	buf     []byte
}

const (
	protoPG = iota + 1
	protoMySQL
	protoOther
)

func (c *sqlCounter) feed(b []byte, serverFirst bool) int {
	if c.proto == 0 {
		switch {
		case serverFirst:
			c.proto = protoMySQL
		case len(b) >= 8 && b[0] == 0 && (binary.BigEndian.Uint32(b[4:8]) == 196608 || binary.BigEndian.Uint32(b[4:8])>>16 == 1234):
			c.proto = protoPG
		default:
			c.proto = protoOther
		}
	}
	if c.proto == protoOther {
		return 0
	}
	c.buf = append(c.buf, b...)
	n := 0
	for {
		var size int
		switch {
		case c.proto == protoPG && !c.started:
			// Startup, SSL or GSS request: a length and a code.
			if len(c.buf) < 8 {
				return n
			}
			size = int(binary.BigEndian.Uint32(c.buf))
			if len(c.buf) < size {
				return n
			}
			if binary.BigEndian.Uint32(c.buf[4:8]) == 196608 {
				c.started = true
			}
		case c.proto == protoPG:
			if len(c.buf) < 5 {
				return n
			}
			size = 1 + int(binary.BigEndian.Uint32(c.buf[1:5]))
			if len(c.buf) < size {
				return n
			}
			switch c.buf[0] {
			case 'Q':
				n += countStatements(c.buf[5 : size-1])
			case 'E':
				n++
			}
		default: // MySQL
			if len(c.buf) < 4 {
				return n
			}
			size = 4 + int(c.buf[0]) | int(c.buf[1])<<8 | int(c.buf[2])<<16
			if len(c.buf) < size {
				return n
			}
			if seq := c.buf[3]; seq == 0 && size > 4 { // a command, not the login
				switch c.buf[4] {
				case 0x03: // COM_QUERY
					n += countStatements(c.buf[5:size])
				case 0x17: // COM_STMT_EXECUTE
					n++
				}
			}
		}
		c.buf = c.buf[size:]
	}
}

// countStatements counts the statements of a SQL text: the non-empty parts
// between semicolons outside quotes.
func countStatements(q []byte) int {
	n := 0
	empty := true
	var quote byte
	for i := 0; i < len(q); i++ {
		ch := q[i]
		switch {
		case quote != 0:
			if ch == '\\' && quote != '`' {
				i++
			} else if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"' || ch == '`':
			quote = ch
			empty = false
		case ch == ';':
			if !empty {
				n++
			}
			empty = true
		case ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r':
			empty = false
		}
	}
	if !empty {
		n++
	}
	return n
}
