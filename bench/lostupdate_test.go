package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The lost-update probe: writers concurrent requests on one session, each
// setting a different key, trials times per contender, with and without 1 ms
// of work between loading the session and saving it.
const (
	probeWriters = 100
	probeTrials  = 10
)

// TestLostUpdates runs the lost-update probe through a real HTTP server
// (httptest.NewServer) and a client with a cookie jar, like a browser: the
// session is created by one request, then probeWriters requests on it run at
// once, each setting its own key; a last request counts the keys that
// survived. It logs min / median / max of the survivors over probeTrials
// trials as a Markdown table row per contender and mode, and fails when a
// sesame store that keeps sessions on the server loses a key. Cookie stores
// (sesame's and gorilla's) cannot merge concurrent changes: their rows are
// reported, not checked. Skipped in -short mode. Run with
//
//	go test -run LostUpdates -v
func TestLostUpdates(t *testing.T) {
	if testing.Short() {
		t.Skip("the lost-update probe takes a while; run without -short")
	}
	var rows []string
	for _, c := range contenders {
		if strings.HasPrefix(c.name, "bare") {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			a := c.open(t, openOptions{plainHTTP: true})
			srv := httptest.NewServer(a.Handler(probeMux(a)))
			defer srv.Close()
			tr := &http.Transport{MaxIdleConns: 2 * probeWriters, MaxIdleConnsPerHost: 2 * probeWriters}
			defer tr.CloseIdleConnections()
			warmUp(t, tr, srv.URL)
			row := "| " + c.name
			for _, work := range []time.Duration{0, time.Millisecond} {
				var kept []int
				failed, lost := 0, 0
				for range probeTrials {
					n, f := probeOnce(t, tr, srv.URL, work)
					kept = append(kept, n)
					failed += f
					// Writes the server acknowledged (200) but that did not
					// survive. A failed request (503) stored nothing and
					// said so.
					lost += max(0, probeWriters-f-n)
				}
				slices.Sort(kept)
				cell := fmt.Sprintf("%d / %s / %d", kept[0], median(kept), kept[len(kept)-1])
				if failed > 0 {
					cell += fmt.Sprintf(" (%d of %d requests failed with an error, %d acknowledged writes lost)",
						failed, probeWriters*probeTrials, lost)
				}
				t.Logf("work %v: survivors min / median / max = %s (all: %v)", work, cell, kept)
				row += " | " + cell
				if c.sesame && !c.cookie {
					if lost > 0 {
						t.Errorf("work %v: %d acknowledged writes lost (survivors %v)", work, lost, kept)
					}
					if failed > 0 {
						t.Errorf("work %v: %d of %d requests failed (survivors %v); see the error handler's log", work, failed, probeWriters*probeTrials, kept)
					}
				}
			}
			rows = append(rows, row+" |")
		})
	}
	t.Logf("lost-update probe, %d concurrent writers, %d trials, keys kept (min / median / max):\n"+
		"| contender | no work | 1 ms of work between load and save |\n|---|---|---|\n%s",
		probeWriters, probeTrials, strings.Join(rows, "\n"))
}

func median(sorted []int) string {
	n := len(sorted)
	if n%2 == 1 {
		return strconv.Itoa(sorted[n/2])
	}
	a, b := sorted[n/2-1], sorted[n/2]
	if (a+b)%2 == 0 {
		return strconv.Itoa((a + b) / 2)
	}
	return fmt.Sprintf("%.1f", float64(a+b)/2)
}

// probeMux routes the probe's requests to a's handlers.
func probeMux(a app) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", untouched)
	mux.HandleFunc("/seed", a.Seed)
	mux.HandleFunc("/count", a.Count)
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		work, err := time.ParseDuration(r.URL.Query().Get("work"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.Set(w, r, r.URL.Query().Get("k"), work)
	})
	return mux
}

// warmUp opens probeWriters connections, so trials do not wait for dials.
func warmUp(t *testing.T, tr *http.Transport, base string) {
	c := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	for range probeWriters {
		wg.Go(func() {
			if _, err := get(c, base+"/ping"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// probeOnce runs one trial and returns the keys that survived and the
// number of set requests that did not get a 200.
func probeOnce(t *testing.T, tr *http.Transport, base string, work time.Duration) (kept, failed int) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: tr, Jar: jar}
	if _, err := get(c, base+"/seed"); err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range probeWriters {
		wg.Go(func() {
			<-start
			_, err := get(c, fmt.Sprintf("%s/set?k=k%03d&work=%s", base, i, work))
			if err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				t.Logf("set k%03d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	body, err := get(c, base+"/count")
	if err != nil {
		t.Fatal(err)
	}
	kept, err = strconv.Atoi(body)
	if err != nil {
		t.Fatalf("count: %q: %v", body, err)
	}
	return kept, failed
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b), nil
}
