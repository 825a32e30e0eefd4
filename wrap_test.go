package sesame_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/cookiestore"
	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/internal/flowtest"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/seal"
	"github.com/sesamego/sesame/store"
)

// opCounter is a store.Wrapper that counts the calls it sees, by operation.
type opCounter struct {
	mu sync.Mutex
	n  map[store.Op]int
}

func (o *opCounter) Around(ctx context.Context, c *store.Call, next func(context.Context) error) error {
	o.mu.Lock()
	if o.n == nil {
		o.n = map[store.Op]int{}
	}
	o.n[c.Op]++
	o.mu.Unlock()
	return next(ctx)
}

func (o *opCounter) count(op store.Op) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[op]
}

// serverStores are the server-side stores of the core module, new for each
// test.
var serverStores = []struct {
	name string
	new  func(t *testing.T) store.Store
}{
	{"memstore", func(*testing.T) store.Store { return memstore.New() }},
	{"filestore", func(t *testing.T) store.Store {
		fs, err := filestore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}},
}

// The manager's flows pass on wrapped stores, and the calls that need an
// optional interface go through the wrapper: the flash race (exactly once
// only with store.Taker) and the devices list (store.UserIndex).
func TestFlowsThroughAWrapper(t *testing.T) {
	for _, s := range serverStores {
		t.Run(s.name, func(t *testing.T) {
			oc := &opCounter{}
			st := store.Wrap(s.new(t), oc)
			flowtest.Flows(t, st)
			flowtest.Devices(t, st)
			for _, op := range []store.Op{store.OpLoad, store.OpApply, store.OpTake, store.OpUserSessions, store.OpDeleteUserSessions} {
				if oc.count(op) == 0 {
					t.Errorf("no %s call went through the wrapper", op)
				}
			}
		})
	}
}

// Manager.Lock works on a wrapped store (it used to answer ErrNotSupported
// behind a wrapper), and its lock calls go through the wrapper.
func TestLockThroughAWrapper(t *testing.T) {
	for _, s := range serverStores {
		t.Run(s.name, func(t *testing.T) {
			oc := &opCounter{}
			m, err := sesame.New(sesame.Config{Store: store.Wrap(s.new(t), oc)})
			if err != nil {
				t.Fatal(err)
			}
			lock, err := m.Lock(sesame.LockOptions{Poll: time.Millisecond})
			if err != nil {
				t.Fatalf("Lock on a wrapped %s: %v", s.name, err)
			}
			mux := http.NewServeMux()
			mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) { sesame.From(r).Put("n", 0) })
			mux.Handle("/rmw", lock(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Read, wait, write back: loses updates unless serialised.
				s := sesame.From(r)
				n := sesame.GetOr(s, "n", 0)
				time.Sleep(2 * time.Millisecond)
				s.Put("n", n+1)
				fmt.Fprint(w, n+1)
			})))
			srv := httptest.NewTLSServer(m.Handler(mux))
			defer srv.Close()
			c := srv.Client()
			c.Jar, _ = cookiejar.New(nil)
			get := func(path string) string {
				resp, err := c.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
				}
				return string(b)
			}
			get("/start")
			const n = 10
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() { get("/rmw") })
			}
			wg.Wait()
			if got := get("/rmw"); got != fmt.Sprint(n+1) {
				t.Errorf("after %d locked read-modify-writes the next sees %s, want %d", n, got, n+1)
			}
			if oc.count(store.OpLock) < n+1 || oc.count(store.OpUnlock) != n+1 {
				t.Errorf("the wrapper saw %d lock and %d unlock calls, want at least %d and %d",
					oc.count(store.OpLock), oc.count(store.OpUnlock), n+1, n+1)
			}
		})
	}
}

// A wrapped cookie store still tells sesame that records live in the client
// (store.ClientSide), so logout deletes the record's cookies instead of
// leaving a tombstone in them.
func TestCookiestoreThroughAWrapper(t *testing.T) {
	k, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := seal.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cookiestore.New(cookiestore.Options{Keys: kr})
	if err != nil {
		t.Fatal(err)
	}
	oc := &opCounter{}
	m, err := sesame.New(sesame.Config{Store: store.Wrap(cs, oc)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) { sesame.From(r).Put("color", "blue") })
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sesame.GetOr(sesame.From(r), "color", ""))
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) { sesame.From(r).Destroy() })
	srv := httptest.NewTLSServer(m.Handler(mux))
	defer srv.Close()
	c := srv.Client()
	c.Jar, _ = cookiejar.New(nil)
	get := func(path string) string {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	get("/put")
	if got := get("/get"); got != "blue" {
		t.Fatalf("color = %q through a wrapped cookie store, want blue", got)
	}
	get("/logout")
	u, _ := url.Parse(srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == cs.Name() {
			t.Errorf("the browser keeps the record cookie %s after logout", ck.Name)
		}
	}
	if oc.count(store.OpLoad) == 0 || oc.count(store.OpDelete) == 0 {
		t.Errorf("the wrapper saw %d loads and %d deletes, want some of each", oc.count(store.OpLoad), oc.count(store.OpDelete))
	}
}
