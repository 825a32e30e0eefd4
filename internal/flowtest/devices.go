package flowtest

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/store"
)

// Devices checks "sessions of a user" against a store with a user
// index: listing, revoking one, and logging out the other devices. It is
// run on every store that has a user index.
func Devices(t *testing.T, st store.Store) {
	m, err := sesame.New(sesame.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	user := "user-" + NewID()[:12]
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		s.Regenerate()
		s.SetUser(user)
		s.Put("user", user)
	})
	mux.HandleFunc("GET /devices", func(w http.ResponseWriter, r *http.Request) {
		infos, err := m.UserSessions(r)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		json.NewEncoder(w).Encode(infos)
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		if err := m.RevokeSession(r, r.URL.Query().Get("hash")); err != nil {
			http.Error(w, err.Error(), 400)
		}
	})
	mux.HandleFunc("POST /logout-others", func(w http.ResponseWriter, r *http.Request) {
		n, err := m.LogoutOtherDevices(r)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sesame.GetOr(sesame.From(r), "user", ""))
	})
	srv := httptest.NewTLSServer(m.Handler(mux))
	defer srv.Close()
	newClient := func(ua string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := *srv.Client()
		c.Jar = jar
		c.Transport = uaTransport{srv.Client().Transport, ua}
		return &c
	}
	do := func(c *http.Client, method, path string) string {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return string(b)
	}
	laptop, phone, tablet := newClient("Laptop/1"), newClient("Phone/1"), newClient("Tablet/1")
	for _, c := range []*http.Client{laptop, phone, tablet} {
		do(c, "POST", "/login")
	}
	var infos []sesame.SessionInfo
	json.Unmarshal([]byte(do(laptop, "GET", "/devices")), &infos)
	if len(infos) != 3 {
		t.Fatalf("laptop sees %d sessions, want 3: %+v", len(infos), infos)
	}
	current, phoneHash := 0, ""
	for _, in := range infos {
		if in.Current {
			current++
			if in.UserAgent != "Laptop/1" {
				t.Errorf("current session's user agent %q, want Laptop/1", in.UserAgent)
			}
		}
		if in.UserAgent == "Phone/1" {
			phoneHash = in.Hash
		}
		if in.IP == "" || in.Created.IsZero() || in.LastSeen.IsZero() {
			t.Errorf("session info lacks IP or times: %+v", in)
		}
	}
	if current != 1 || phoneHash == "" {
		t.Fatalf("current=%d phone=%q in %+v", current, phoneHash, infos)
	}
	do(laptop, "POST", "/revoke?hash="+phoneHash)
	if got := do(phone, "GET", "/me"); got != "" {
		t.Errorf("revoked phone still logged in as %q", got)
	}
	if got := do(laptop, "POST", "/logout-others"); got != "1" {
		t.Errorf("logout-others deleted %s sessions, want 1 (the tablet)", got)
	}
	if got := do(tablet, "GET", "/me"); got != "" {
		t.Errorf("tablet still logged in as %q after logout-others", got)
	}
	if got := do(laptop, "GET", "/me"); got != user {
		t.Errorf("laptop logged out by its own logout-others (got %q)", got)
	}
	json.Unmarshal([]byte(do(laptop, "GET", "/devices")), &infos)
	if len(infos) != 1 || !infos[0].Current {
		t.Errorf("after logout-others: %+v, want only the current session", infos)
	}
}

type uaTransport struct {
	rt http.RoundTripper
	ua string
}

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.rt.RoundTrip(r)
}
