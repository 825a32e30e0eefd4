package sesame

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame/memstore"
)

func newLockedServer(t *testing.T, o LockOptions, h http.Handler) (*httptest.Server, *http.Client, *Manager) {
	t.Helper()
	m, err := New(Config{Store: memstore.New(), ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		code := 500
		if errors.Is(err, ErrLockTimeout) {
			code = 503
		}
		http.Error(w, err.Error(), code)
	}})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := m.Lock(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) { From(r).Put("n", 0) })
	mux.Handle("/", lock(h))
	srv := httptest.NewTLSServer(m.Handler(mux))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	resp, err := c.Get(srv.URL + "/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return srv, c, m
}

// readModifyWrite is a handler that loses updates without a lock: it reads,
// waits, and writes back.
var readModifyWrite = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	s := From(r)
	n := GetOr(s, "n", 0)
	time.Sleep(2 * time.Millisecond)
	s.Put("n", n+1)
	fmt.Fprint(w, n+1)
})

func TestLockSerialisesReadModifyWrite(t *testing.T) {
	srv, c, _ := newLockedServer(t, LockOptions{Poll: time.Millisecond}, readModifyWrite)
	const n = 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(srv.URL + "/rmw")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	resp, _ := c.Get(srv.URL + "/rmw")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != fmt.Sprint(n+1) {
		t.Errorf("after %d locked read-modify-writes the next sees %s, want %d", n, b, n+1)
	}
}

func TestLockTimesOut(t *testing.T) {
	hold := make(chan struct{})
	entered := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			<-hold
		}
	})
	srv, c, _ := newLockedServer(t, LockOptions{Wait: 50 * time.Millisecond, Poll: 5 * time.Millisecond}, h)
	go func() {
		resp, err := c.Get(srv.URL + "/hold")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	start := time.Now()
	resp, err := c.Get(srv.URL + "/other")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	close(hold)
	if resp.StatusCode != 503 {
		t.Errorf("status %d (%s), want 503 on lock timeout", resp.StatusCode, b)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("waited %v for a 50ms lock timeout", el)
	}
}

func TestLockReleasedOnPanic(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "ok")
	})
	srv, c, _ := newLockedServer(t, LockOptions{TTL: time.Hour, Wait: 200 * time.Millisecond, Poll: 5 * time.Millisecond}, h)
	if resp, err := c.Get(srv.URL + "/panic"); err == nil {
		resp.Body.Close()
	}
	resp, err := c.Get(srv.URL + "/after")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d after a panicking locked handler, want 200 (lock released)", resp.StatusCode)
	}
}

func TestLockNeedsLocker(t *testing.T) {
	m, _ := New(Config{Store: &countingStore{Store: memstore.New()}})
	if _, err := m.Lock(LockOptions{}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Lock on a store without Locker: %v, want ErrNotSupported", err)
	}
}

func TestLockReloadsASessionReadBeforeIt(t *testing.T) {
	// A middleware between Handler and Lock reads the session (as csrf
	// does); the locked handler must still see the value stored under the
	// lock, or read-modify-write loses updates.
	m, err := New(Config{Store: memstore.New(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := m.Lock(LockOptions{Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	peek := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			From(r).Get("n") // read before the lock
			time.Sleep(time.Millisecond)
			next.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) { From(r).Put("n", 0) })
	mux.Handle("/rmw", peek(lock(readModifyWrite)))
	mux.Handle("/changed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		From(r).Put("x", 1)
		lock(readModifyWrite).ServeHTTP(w, r)
	}))
	srv := httptest.NewTLSServer(m.Handler(mux))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	get := func(path string) (int, string) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get("/start")
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); get("/rmw") }()
	}
	wg.Wait()
	if _, body := get("/rmw"); body != "11" {
		t.Errorf("after 10 locked read-modify-writes behind a peeking middleware the next sees %s, want 11", body)
	}
	if code, _ := get("/changed"); code == 200 {
		t.Error("Lock accepted a session changed before the lock")
	}
}
