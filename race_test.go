package sesame

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// raceSuite runs the races real browsers start every day, through a real
// cookie jar: requests still carrying the old cookie are answered after the
// login (or logout) that ended it. It runs on every store (flowsSuite).
func raceSuite(t *testing.T, st store.Store) {
	t.Run("a login while the page polls keeps the user logged in 20 times out of 20", func(t *testing.T) {
		app := newTestApp(t, Config{Store: st})
		for trial := range 20 {
			c := app.newClient()
			app.do(c, "GET", "/put?cart=1") // an anonymous session, as a shop has
			before := app.sessionCookie(c)
			var stop atomic.Bool
			var wg sync.WaitGroup
			var lateSetCookies atomic.Int32
			for w := range 3 {
				wg.Go(func() {
					for i := 0; !stop.Load(); i++ {
						path := "/poll"
						if w == 2 {
							path = fmt.Sprintf("/track?page=p%d", i)
						}
						resp, _ := app.do(c, "GET", path)
						if len(resp.Header.Values("Set-Cookie")) > 0 {
							lateSetCookies.Add(1)
						}
					}
				})
			}
			time.Sleep(10 * time.Millisecond)
			resp, _ := app.do(c, "GET", "/login")
			if resp.StatusCode != 200 {
				t.Fatalf("trial %d: login answered %d", trial, resp.StatusCode)
			}
			time.Sleep(30 * time.Millisecond) // polls sent with the old cookie come back now
			stop.Store(true)
			wg.Wait()
			after := app.sessionCookie(c)
			if after == "" || after == before {
				t.Fatalf("trial %d: the browser's cookie is %q after login (was %q): logged out by a late response", trial, after, before)
			}
			if _, body := app.do(c, "GET", "/get?k=user"); body != "alice" {
				t.Fatalf("trial %d: user %q after login, want alice", trial, body)
			}
			if n := lateSetCookies.Load(); n > 0 {
				t.Errorf("trial %d: %d poll responses carried a Set-Cookie", trial, n)
			}
		}
	})

	t.Run("a request still in flight at logout neither re-creates nor re-cookies the session", func(t *testing.T) {
		app := newTestApp(t, Config{Store: st})
		c := app.newClient()
		app.do(c, "GET", "/login")
		old := app.sessionCookie(c)
		var wg sync.WaitGroup
		var setCookies atomic.Int32
		for i := range 4 {
			wg.Go(func() {
				resp, _ := app.do(c, "GET", fmt.Sprintf("/track?page=late%d", i))
				setCookies.Add(int32(len(resp.Header.Values("Set-Cookie"))))
			})
		}
		time.Sleep(time.Millisecond)
		resp, _ := app.do(c, "GET", "/logout")
		if !strings.Contains(resp.Header.Get("Set-Cookie"), "Max-Age=0") {
			t.Errorf("logout Set-Cookie %q does not clear the cookie", resp.Header.Get("Set-Cookie"))
		}
		wg.Wait()
		time.Sleep(20 * time.Millisecond)
		for range 3 { // more requests with the old cookie, answered after logout
			resp, _ := app.do(app.withCookie(old), "GET", "/track?page=after")
			setCookies.Add(int32(len(resp.Header.Values("Set-Cookie"))))
		}
		if n := setCookies.Load(); n > 0 {
			t.Errorf("%d late responses carried a Set-Cookie", n)
		}
		if got := app.sessionCookie(c); got != "" {
			t.Errorf("the browser holds session cookie %q after logout, want none", got)
		}
		mustHoldNoSession(t, app.m.Store(), store.Key(old))
	})

	t.Run("an unknown or expired ID is never deleted by a read", func(t *testing.T) {
		app := newTestApp(t, Config{Store: st})
		c := app.withCookie(newID())
		resp, _ := app.do(c, "GET", "/poll")
		if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("a read with an unknown ID sent Set-Cookie %q", sc)
		}
		resp, _ = app.do(c, "GET", "/put?k=v") // a write starts a session, as it must
		if sc := resp.Header.Get("Set-Cookie"); sc == "" || strings.Contains(sc, "Max-Age=0") {
			t.Errorf("a write with an unknown ID sent Set-Cookie %q, want a new session", sc)
		}
	})

	t.Run("50 concurrent pushes leave 50 elements", func(t *testing.T) {
		app := newTestApp(t, Config{Store: st})
		app.get("/put?k=v")
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() { app.get(fmt.Sprintf("/push?k=log&v=e%d", i)) })
		}
		wg.Wait()
		var got []string
		if err := json.Unmarshal([]byte(app.get("/list?k=log")), &got); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range got {
			seen[e] = true
		}
		if len(got) != 50 || len(seen) != 50 {
			t.Errorf("got %d elements (%d distinct), want 50", len(got), len(seen))
		}
	})

	t.Run("a push onto a value that is not a list fails and stores nothing", func(t *testing.T) {
		app := newTestApp(t, Config{Store: st})
		app.get("/put?k=v")
		resp, _ := app.do(app.client, "GET", "/push?k=k&v=x")
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("push onto a string answered %d, want 500", resp.StatusCode)
		}
		if got := app.get("/get?k=also"); got != "" {
			t.Errorf("the rest of the change set was stored: also = %q", got)
		}
		if got := app.get("/get?k=k"); got != "v" {
			t.Errorf("k = %q, want v", got)
		}
	})
}

func TestRacesOnMemstore(t *testing.T) {
	raceSuite(t, nil)
}
