package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// A Fault is what a [Proxy] does to one chunk of bytes a client sends.
type Fault int

// The faults a Proxy injects. Each closes the client's connection (and the
// server's) at a different point of a request.
const (
	// Pass forwards the chunk.
	Pass Fault = iota + 1

	// CutBeforeRequest closes the connection without forwarding the chunk:
	// the server never sees the request.
	CutBeforeRequest

	// CutAfterRequest forwards the chunk, then closes the connection before
	// any reply reaches the client: the server may have done the work, and
	// the client cannot know.
	CutAfterRequest

	// CutAfterReply forwards the chunk and the server's next reply, then
	// closes the connection: the client got its answer, and its next use of
	// the connection fails.
	CutAfterReply
)

func (f Fault) String() string {
	switch f {
	case Pass:
		return "pass"
	case CutBeforeRequest:
		return "cut before request"
	case CutAfterRequest:
		return "cut after request"
	case CutAfterReply:
		return "cut after reply"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// Proxy is a loopback TCP proxy that injects faults into the connections of
// a store's client, for fault-injection tests of networked stores. Point the
// store's client at [Proxy.Addr]; set [Proxy.Decide] (or use [RandomFaults])
// to choose a fault for each chunk the client sends.
type Proxy struct {
	// Decide chooses the fault for a chunk a client sends. It is called
	// from many goroutines. Nil passes everything.
	Decide func(chunk []byte) Fault

	ln       net.Listener
	upstream string
	counts   [CutAfterReply + 1]atomic.Int64
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
	closed   atomic.Bool
}

// NewProxy starts a proxy on a loopback port that forwards to upstream
// (host:port). It is closed when the test ends.
func NewProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("storetest: proxy: %v", err)
	}
	p := &Proxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Addr returns the proxy's address (127.0.0.1:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Count returns how many times the proxy injected f.
func (p *Proxy) Count(f Fault) int64 {
	if f < Pass || f > CutAfterReply {
		return 0
	}
	return p.counts[f].Load()
}

// Faults returns how many faults (anything but Pass) the proxy injected.
func (p *Proxy) Faults() int64 {
	return p.Count(CutBeforeRequest) + p.Count(CutAfterRequest) + p.Count(CutAfterReply)
}

// Close stops the proxy and closes every connection through it.
func (p *Proxy) Close() {
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

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve() {
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
func (p *Proxy) handle(client net.Conn) {
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
	defer func() {
		// Whatever ended the relay, end both sides, so the reply goroutine
		// (and a client waiting for a reply that will never come) returns.
		client.Close()
		server.Close()
		<-done
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			f := Pass
			if p.Decide != nil {
				f = p.Decide(buf[:n])
			}
			p.counts[f].Add(1)
			switch f {
			case CutBeforeRequest:
				return
			case CutAfterRequest:
				_, _ = server.Write(buf[:n])
				client.Close() // the reply has nowhere to go
				// Give the server the request before it sees the close.
				time.Sleep(5 * time.Millisecond)
				return
			case CutAfterReply:
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

// RandomFaults returns a [Proxy.Decide] function that injects a fault into a
// share rate of the chunks that match (all when match is nil), choosing the
// three faults with equal odds.
func RandomFaults(rate float64, match func(chunk []byte) bool) func([]byte) Fault {
	return func(chunk []byte) Fault {
		if (match != nil && !match(chunk)) || rand.Float64() >= rate {
			return Pass
		}
		return Fault(int(CutBeforeRequest) + rand.IntN(3))
	}
}

// HammerOptions configures [Hammer].
type HammerOptions struct {
	// Workers is the number of goroutines applying changes at once. Zero
	// means 8.
	Workers int

	// Ops is the number of changes to apply in all. Zero means 300.
	Ops int

	// Timeout bounds each Apply. Zero means 5 s (sesame's default
	// StoreTimeout).
	Timeout time.Duration

	// WithoutPush leaves Push out of the change sets (each sets a field of
	// its own and increments a counter), for stores that apply such changes
	// by another path (sqlstore applies them in the database). Duplicates
	// are then found by the counter alone.
	WithoutPush bool

	// During, when set, runs in its own goroutine while the changes are
	// applied, until its context is cancelled: kill connections or restart
	// a server there.
	During func(ctx context.Context)
}

// HammerReport is what [Hammer] found. A store keeps its promise when Lost,
// Duplicates and FalseFailures are all zero.
type HammerReport struct {
	Ops           int // changes attempted
	Acked         int // Apply returned nil
	Unknown       int // Apply returned an error wrapping store.ErrOutcomeUnknown
	Failed        int // Apply returned another error
	Applied       int // changes found in the record afterwards
	Counter       int64
	Lost          int // acknowledged but not in the record
	Duplicates    int64
	FalseFailures int // reported as failed (not unknown) but applied
	Errors        map[string]int
}

func (r HammerReport) String() string {
	return fmt.Sprintf("%d ops: %d acknowledged, %d unknown, %d failed; %d applied, counter %d; lost %d, duplicates %d, false failures %d",
		r.Ops, r.Acked, r.Unknown, r.Failed, r.Applied, r.Counter, r.Lost, r.Duplicates, r.FalseFailures)
}

// Hammer applies opts.Ops change sets concurrently to one record of st, each
// incrementing a shared counter, setting a field of its own and pushing its
// number onto a list, each with a fresh [Change.ID]. The record is created
// and, at the end, read through check, a store that does not go through the
// faults (check may be st itself when the faults have stopped). The report
// tells which changes were acknowledged, which were applied, and whether any
// was lost, applied twice, or reported failed although it was applied.
func Hammer(t testing.TB, st, check store.Store, opts HammerOptions) HammerReport {
	t.Helper()
	opts = opts.withDefaults()
	key := NewKey()
	ctx := context.Background()
	if err := check.Apply(ctx, key, store.Change{Create: true, ID: store.NewChangeID(), Set: map[string][]byte{"n": []byte("0")},
		Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("storetest: Hammer: creating the record: %v", err)
	}
	const (
		ack = iota + 1
		unknown
		failed
	)
	outcome := make([]int, opts.Ops)
	errs := make([]error, opts.Ops)
	runConcurrently(opts, func(ctx context.Context, i int) {
		c := store.Change{
			ID:      store.NewChangeID(),
			Set:     map[string][]byte{"op" + strconv.Itoa(i): []byte("true")},
			Incr:    map[string]int64{"n": 1},
			Push:    map[string]store.Append{"log": {Values: [][]byte{[]byte(strconv.Itoa(i))}}},
			Expires: time.Now().Add(time.Hour),
		}
		if opts.WithoutPush {
			c.Push = nil
		}
		err := st.Apply(ctx, key, c)
		switch {
		case err == nil:
			outcome[i] = ack
		case errors.Is(err, store.ErrOutcomeUnknown):
			outcome[i], errs[i] = unknown, err
		default:
			outcome[i], errs[i] = failed, err
		}
	})

	r := HammerReport{Ops: opts.Ops, Errors: map[string]int{}}
	rec := loadRetrying(t, check, key) // the check store may be reconnecting
	r.Counter, _ = strconv.ParseInt(string(rec.Values["n"]), 10, 64)
	var log []int
	if l := rec.Values["log"]; len(l) > 0 {
		log = parseInts(t, l)
	}
	inLog := make(map[int]int, len(log))
	for _, n := range log {
		inLog[n]++
	}
	for i := range opts.Ops {
		_, applied := rec.Values["op"+strconv.Itoa(i)]
		if applied {
			r.Applied++
		}
		if inLog[i] > 1 {
			r.Duplicates += int64(inLog[i] - 1)
		}
		if !opts.WithoutPush && applied != (inLog[i] > 0) {
			t.Errorf("storetest: Hammer: op %d: field set %v but in the list %d times: not atomic", i, applied, inLog[i])
		}
		switch outcome[i] {
		case ack:
			r.Acked++
			if !applied {
				r.Lost++
			}
		case unknown:
			r.Unknown++
		case failed:
			r.Failed++
			if applied {
				r.FalseFailures++
			}
		}
		if errs[i] != nil {
			msg := errs[i].Error()
			if len(msg) > 120 {
				msg = msg[:120]
			}
			r.Errors[msg]++
		}
	}
	if d := r.Counter - int64(r.Applied); d > 0 {
		r.Duplicates += d
	} else if d < 0 {
		t.Errorf("storetest: Hammer: counter %d is below the %d changes applied: not atomic", r.Counter, r.Applied)
	}
	return r
}

func parseInts(t testing.TB, b []byte) []int {
	t.Helper()
	var out []int
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("storetest: Hammer: the list %.80q is not a JSON array of numbers: %v", b, err)
	}
	return out
}

// OneShotReport is what [HammerTakes] and [HammerLocks] found: each of Ops
// independent calls was made once, through the faults, on a record (or lock)
// of its own. A store keeps its promise when Lost and FalseFailures are
// zero.
type OneShotReport struct {
	Ops           int
	Acked         int // the call answered (ok)
	Unknown       int // the call returned an error wrapping store.ErrOutcomeUnknown
	Failed        int // the call returned another error
	Lost          int // acknowledged, but its effect is missing (a take whose value is still there or came back wrong, a lock not held)
	FalseFailures int // reported failed (not unknown), but the effect happened
}

func (r OneShotReport) String() string {
	return fmt.Sprintf("%d ops: %d acknowledged, %d unknown, %d failed; lost %d, false failures %d",
		r.Ops, r.Acked, r.Unknown, r.Failed, r.Lost, r.FalseFailures)
}

// HammerTakes creates opts.Ops records through check, each holding a flash
// message, then takes every message concurrently through st (the store
// behind the faults), each take with a fresh id, and reads the records back
// through check. A take that answered must have removed exactly its record's
// message and returned it; a take that failed (not unknown) must have left
// the message in place, or the flash would be lost to a lost reply.
func HammerTakes(t testing.TB, st, check store.Store, opts HammerOptions) OneShotReport {
	t.Helper()
	tk, ok := st.(store.Taker)
	if !ok {
		t.Fatalf("storetest: HammerTakes: %T is not a store.Taker", st)
	}
	opts = opts.withDefaults()
	keys := make([]string, opts.Ops)
	for i := range keys {
		keys[i] = NewKey()
		c := store.Change{Create: true, ID: store.NewChangeID(), Expires: time.Now().Add(time.Hour),
			Set: map[string][]byte{"flash": fmt.Appendf(nil, `"message %d"`, i), "keep": []byte("1")}}
		if err := check.Apply(context.Background(), keys[i], c); err != nil {
			t.Fatalf("storetest: HammerTakes: creating record %d: %v", i, err)
		}
	}
	type result struct {
		v   []byte
		ok  bool
		err error
	}
	results := make([]result, opts.Ops)
	runConcurrently(opts, func(ctx context.Context, i int) {
		v, ok, err := tk.Take(ctx, keys[i], "flash", store.NewChangeID())
		results[i] = result{v, ok, err}
	})
	r := OneShotReport{Ops: opts.Ops}
	for i, res := range results {
		rec := loadRetrying(t, check, keys[i])
		_, still := rec.Values["flash"]
		want := fmt.Sprintf(`"message %d"`, i)
		switch {
		case res.err == nil:
			r.Acked++
			if !res.ok || string(res.v) != want || still {
				r.Lost++
			}
		case errors.Is(res.err, store.ErrOutcomeUnknown):
			r.Unknown++
		default:
			r.Failed++
			if !still {
				r.FalseFailures++
			}
		}
		if string(rec.Values["keep"]) != "1" {
			t.Errorf("storetest: HammerTakes: record %d lost its other value", i)
		}
	}
	return r
}

// HammerLocks takes opts.Ops locks concurrently through st (the store behind
// the faults), each on a key of its own with a token of its own, and checks
// through check (which must be the same store without the faults) that every
// lock reported taken is held by its token, and that none reported not taken
// or failed (not unknown) is held.
func HammerLocks(t testing.TB, st, check store.Store, opts HammerOptions) OneShotReport {
	t.Helper()
	lk, ok1 := st.(store.Locker)
	ck, ok2 := check.(store.Locker)
	if !ok1 || !ok2 {
		t.Fatalf("storetest: HammerLocks: %T is not a store.Locker", st)
	}
	opts = opts.withDefaults()
	keys, tokens := make([]string, opts.Ops), make([]string, opts.Ops)
	got := make([]bool, opts.Ops)
	errs := make([]error, opts.Ops)
	for i := range keys {
		keys[i], tokens[i] = NewKey(), NewID()
	}
	runConcurrently(opts, func(ctx context.Context, i int) {
		got[i], errs[i] = lk.TryLock(ctx, keys[i], tokens[i], time.Minute)
	})
	r := OneShotReport{Ops: opts.Ops}
	for i := range keys {
		// Held by its token: another token cannot take it, and the
		// holder's own retry can.
		var other bool
		var err error
		for try := 0; try < 50; try++ {
			if other, err = ck.TryLock(context.Background(), keys[i], NewID(), time.Minute); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("storetest: HammerLocks: checking lock %d: %v", i, err)
		}
		held := !other
		switch {
		case errs[i] == nil && got[i]:
			r.Acked++
			if !held {
				r.Lost++
			}
		case errs[i] == nil:
			r.Acked++
			t.Errorf("storetest: HammerLocks: TryLock %d on a free key reported false", i)
		case errors.Is(errs[i], store.ErrOutcomeUnknown):
			r.Unknown++
		default:
			r.Failed++
			if held {
				r.FalseFailures++
			}
		}
	}
	return r
}

func (o HammerOptions) withDefaults() HammerOptions {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Ops <= 0 {
		o.Ops = 300
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	return o
}

// runConcurrently calls fn for 0..opts.Ops-1 on opts.Workers goroutines,
// each call bounded by opts.Timeout, with opts.During running alongside.
func runConcurrently(opts HammerOptions, fn func(ctx context.Context, i int)) {
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

// loadRetrying loads key through st, retrying while the store reconnects.
func loadRetrying(t testing.TB, st store.Store, key string) store.Record {
	t.Helper()
	var err error
	for try := 0; try < 50; try++ {
		var rec store.Record
		var ok bool
		if rec, ok, err = st.Load(context.Background(), key); err == nil {
			if !ok {
				t.Fatalf("storetest: the record %s is gone", key[:12])
			}
			return rec
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("storetest: loading %s: %v", key[:12], err)
	return store.Record{}
}
