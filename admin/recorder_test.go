package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame"
)

// clock is a settable time for the recorder.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestRecorder() (*Recorder, *clock) {
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)}
	r := NewRecorder()
	r.now = c.now
	return r, c
}

func TestRecorderCountsPerMinute(t *testing.T) {
	r, c := newTestRecorder()
	ctx := context.Background()
	r.Observe(ctx, sesame.Event{Kind: sesame.EventCreated, UserID: "bob"})
	r.Observe(ctx, sesame.Event{Kind: sesame.EventCreated})
	r.Observe(ctx, sesame.Event{Kind: sesame.EventRegenerated})
	r.Observe(ctx, sesame.Event{Kind: sesame.EventDestroyed, Reason: "logout-everywhere", Count: 3, UserID: "bob"})
	r.Observe(ctx, sesame.Event{Kind: sesame.EventExpired, Reason: "idle"})
	r.Observe(ctx, sesame.Event{Kind: sesame.EventStoreOp, Op: "load", Duration: 2 * time.Millisecond})
	r.Observe(ctx, sesame.Event{Kind: sesame.EventStoreOp, Op: "load", Duration: 4 * time.Millisecond, Err: errors.New("dial tcp: refused")})
	r.Observe(ctx, sesame.Event{Kind: sesame.EventStoreOp, Op: "list", Duration: time.Millisecond}) // an op sesame may add
	c.t = c.t.Add(time.Minute)
	r.Observe(ctx, sesame.Event{Kind: sesame.EventCreated})

	h := r.history(c.t)
	if len(h.Minutes) != 60 {
		t.Fatalf("%d minutes, want 60", len(h.Minutes))
	}
	last, prev := h.Minutes[59], h.Minutes[58]
	if last.created != 1 || prev.created != 2 || prev.regenerated != 1 || prev.destroyed != 3 || prev.expired != 1 {
		t.Errorf("minute counts: this minute %+v, the previous %+v", last, prev)
	}
	load := prev.ops[0]
	if load.n != 2 || load.errors != 1 || load.avg() != 3*time.Millisecond || load.max != 4*time.Millisecond {
		t.Errorf("load stats = %+v, want 2 calls, 1 error, mean 3ms, max 4ms", load)
	}
	if other := prev.ops[opsKnown-1]; other.n != 1 {
		t.Errorf("an unknown op is not counted as other: %+v", other)
	}
	if len(h.Failures) != 1 || h.Failures[0].Op != "load" || !strings.Contains(h.Failures[0].Error, "refused") {
		t.Errorf("failures = %+v", h.Failures)
	}
	// An hour later the buckets are stale: nothing is counted twice.
	c.t = c.t.Add(time.Hour)
	h = r.history(c.t)
	for i, m := range h.Minutes {
		if m.created != 0 || m.destroyed != 0 {
			t.Fatalf("minute %d an hour later still counts %+v", i, m)
		}
	}
	if len(h.Failures) != 0 {
		t.Errorf("failures of over an hour ago are still listed: %+v", h.Failures)
	}
	r.Observe(ctx, sesame.Event{Kind: sesame.EventCreated})
	if got := r.history(c.t).Minutes[59].created; got != 1 {
		t.Errorf("a reused bucket counts %d, want 1 (the old minute's counts dropped)", got)
	}
}

func TestRecorderKeepsTheLatestAnomalies(t *testing.T) {
	r, c := newTestRecorder()
	for i := range keepAnomalies + 5 {
		c.t = c.t.Add(time.Second)
		r.Observe(context.Background(), sesame.Event{Kind: sesame.EventAnomaly, Hash: fmt.Sprintf("%012x", i), UserID: "bob", Reason: "ip"})
	}
	h := r.history(c.t)
	if len(h.Anomalies) != keepAnomalies {
		t.Fatalf("%d anomalies kept, want %d", len(h.Anomalies), keepAnomalies)
	}
	if h.Anomalies[0].Hash != fmt.Sprintf("%012x", keepAnomalies+4) || h.Anomalies[keepAnomalies-1].Hash != fmt.Sprintf("%012x", 5) {
		t.Errorf("anomalies run from %s to %s, want the newest first", h.Anomalies[0].Hash, h.Anomalies[keepAnomalies-1].Hash)
	}
	if _, ok := h.anomalyOf(fmt.Sprintf("%012x", 7) + strings.Repeat("0", 52)); !ok {
		t.Error("anomalyOf does not find a kept anomaly by its session's hash")
	}
	if _, ok := h.anomalyOf(fmt.Sprintf("%012x", 2) + strings.Repeat("0", 52)); ok {
		t.Error("anomalyOf finds an anomaly that was dropped")
	}
}

func TestRecorderUserChanged(t *testing.T) {
	r, c := newTestRecorder()
	built := c.t
	c.t = c.t.Add(time.Second)
	r.Observe(context.Background(), sesame.Event{Kind: sesame.EventCreated, UserID: "bob"})
	r.Observe(context.Background(), sesame.Event{Kind: sesame.EventStoreOp, Op: "load", UserID: "carol"})
	if !r.userChanged("bob", built) {
		t.Error("bob logged in after the index was built, but userChanged says no")
	}
	if r.userChanged("carol", built) {
		t.Error("a store call is not a change of carol's sessions")
	}
	if r.userChanged("bob", c.t.Add(time.Second)) {
		t.Error("bob's login is older than the index, but userChanged says yes")
	}
	r.forgetBefore(c.t.Add(time.Second))
	if r.userChanged("bob", built) {
		t.Error("forgetBefore kept bob")
	}
	// Past maxTouched users, every user counts as changed since then.
	for i := range maxTouched + 1 {
		r.Observe(context.Background(), sesame.Event{Kind: sesame.EventCreated, UserID: fmt.Sprint("u", i)})
	}
	if len(r.touched) > maxTouched {
		t.Errorf("%d users remembered, want at most %d", len(r.touched), maxTouched)
	}
	if !r.userChanged("someone-else", built) {
		t.Error("after the overflow an unknown user is not reported as changed")
	}
}

func TestRecorderHandlerWarnsOfLargeCookies(t *testing.T) {
	tests := []struct {
		name     string
		cookies  []string // Cookie header lines
		wantKind string   // "" for no warning
		wantName string
	}{
		{"no cookies", nil, "", ""},
		{"small cookies", []string{"sid=abc; theme=dark"}, "", ""},
		{"a long header", []string{"a=" + strings.Repeat("x", 600), "b=" + strings.Repeat("y", 700)}, "header", "b"},
		{"one cookie near 4 KB", []string{"sid=abc; big=" + strings.Repeat("z", 3600)}, "cookie", "big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c := newTestRecorder()
			req := httptest.NewRequest("GET", "/cart", nil)
			for _, l := range tt.cookies {
				req.Header.Add("Cookie", l)
			}
			called := false
			r.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })).ServeHTTP(httptest.NewRecorder(), req)
			if !called {
				t.Fatal("the handler was not called")
			}
			h := r.history(c.t)
			if !h.Measured {
				t.Error("history does not say cookies are measured")
			}
			switch {
			case tt.wantKind == "" && len(h.Warnings) != 0:
				t.Errorf("warnings = %+v, want none", h.Warnings)
			case tt.wantKind != "" && (len(h.Warnings) != 1 || h.Warnings[0].Kind != tt.wantKind || h.Warnings[0].Cookie != tt.wantName || h.Warnings[0].Path != "/cart"):
				t.Errorf("warnings = %+v, want one %s warning naming %s", h.Warnings, tt.wantKind, tt.wantName)
			}
			for _, w := range h.Warnings {
				if strings.Contains(fmt.Sprint(w), "zzz") || strings.Contains(fmt.Sprint(w), "yyy") {
					t.Errorf("a warning holds a cookie value: %+v", w)
				}
			}
		})
	}
	var nilRecorder *Recorder
	next := http.NotFoundHandler()
	if got := nilRecorder.Handler(next); fmt.Sprint(got) != fmt.Sprint(next) {
		t.Error("a nil Recorder's Handler does not return next")
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"longer text", 6, "longer…"},
		{"héllo", 2, "h…"}, // never half a rune
	}
	for _, tt := range tests {
		if got := cut(tt.s, tt.n); got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
