package bench

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	scs "github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/memstore"
)

var memSessions = flag.Int("mem.sessions", 20_000, "sessions TestMemoryPerSession creates in each store (the published figure uses 200000)")

// heapInUse returns the live heap after two collections.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// bytesPerSession serves n NEW requests through h, each of which stores an
// idle session of three small values, and returns the growth of the live
// heap per session.
func bytesPerSession(t *testing.T, n int, h http.Handler) float64 {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	before := heapInUse()
	for range n {
		r := *req
		w := httptest.NewRecorder()
		h.ServeHTTP(w, &r)
		if w.Code != http.StatusOK {
			t.Fatalf("got status %d: %s", w.Code, w.Body)
		}
	}
	return float64(heapInUse()-before) / float64(n)
}

// TestMemoryPerSession measures the memory an idle session of three small
// values (n = 41, name = "gopher", lang = "en") takes in sesame's memstore
// and in scs's, as the growth of the live heap after -mem.sessions NEW
// requests, and fails if sesame's takes more. Run
//
//	go test -run MemoryPerSession -v -mem.sessions 200000
func TestMemoryPerSession(t *testing.T) {
	n := *memSessions
	ms, err := memstore.NewWithOptions(memstore.Options{MaxMemory: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	m, err := sesame.New(sesame.Config{Store: ms})
	if err != nil {
		t.Fatal(err)
	}
	sesamePer := bytesPerSession(t, n, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		s.Put("n", 41)
		s.Put("name", "gopher")
		s.Put("lang", "en")
		w.Write(okBody)
	})))
	if got := ms.Stats(); got.Records != n || got.Evicted != 0 {
		t.Fatalf("sesame's store holds %+v, want %d records and no eviction", got, n)
	}
	runtime.KeepAlive(ms)

	scsStore := scsmem.New()
	defer scsStore.StopCleanup()
	sm := scs.New()
	sm.Store = scsStore
	scsPer := bytesPerSession(t, n, sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "n", 41)
		sm.Put(r.Context(), "name", "gopher")
		sm.Put(r.Context(), "lang", "en")
		w.Write(okBody)
	})))
	if all, err := scsStore.All(); err != nil || len(all) != n {
		t.Fatalf("scs's store holds %d records (%v), want %d", len(all), err, n)
	}
	runtime.KeepAlive(scsStore)

	t.Logf("%d sessions: sesame-memstore %.0f B/session (counted against MaxMemory: %d), scs-memstore %.0f B/session",
		n, sesamePer, ms.Stats().Memory/int64(n), scsPer)
	if sesamePer > scsPer {
		t.Errorf("got sesame's memstore at %.0f B/session, more than scs's %.0f", sesamePer, scsPer)
	}
}
