package sesame

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sesamego/sesame/memstore"
)

func TestAnomalyPolicies(t *testing.T) {
	type req struct{ ip, ua string }
	login := req{"203.0.113.10", "Firefox/140"}
	tests := []struct {
		name        string
		policy      AnomalyPolicy
		next        req
		wantAnomaly string
		wantUser    string
	}{
		{"the same client is no anomaly", AnomalyPolicy{Action: AnomalyFlag}, login, "", "alice"},
		{"a new address in the same /24 is no anomaly", AnomalyPolicy{Action: AnomalyFlag}, req{"203.0.113.99", "Firefox/140"}, "", "alice"},
		{"another network is flagged", AnomalyPolicy{Action: AnomalyFlag}, req{"198.51.100.7", "Firefox/140"}, "ip", "alice"},
		{"another user agent is flagged", AnomalyPolicy{Action: AnomalyFlag}, req{"203.0.113.10", "curl/8"}, "user-agent", "alice"},
		{"user agents can be ignored", AnomalyPolicy{Action: AnomalyFlag, IgnoreUserAgent: true}, req{"203.0.113.10", "curl/8"}, "", "alice"},
		{"a wider prefix tolerates more", AnomalyPolicy{Action: AnomalyFlag, IPv4Prefix: 8}, req{"203.1.2.3", "Firefox/140"}, "", "alice"},
		{"destroy ends the session", AnomalyPolicy{Action: AnomalyDestroy}, req{"198.51.100.7", "Firefox/140"}, "ip", ""},
		{"ignore does nothing", AnomalyPolicy{Action: AnomalyIgnore}, req{"198.51.100.7", "curl/8"}, "", "alice"},
		{"the zero policy does nothing", AnomalyPolicy{}, req{"198.51.100.7", "curl/8"}, "", "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []Event
			m, err := New(Config{Store: memstore.New(), Anomaly: tt.policy, Logger: discardLogger(),
				OnEvent: func(_ context.Context, e Event) { events = append(events, e) }})
			if err != nil {
				t.Fatal(err)
			}
			var anomaly, user string
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := From(r)
				if r.URL.Path == "/login" {
					s.Regenerate()
					s.SetUser("alice")
					return
				}
				anomaly, user = s.Anomaly(), s.UserID()
				io.WriteString(w, "ok")
			}))
			do := func(path string, rq req, cookie *http.Cookie) *httptest.ResponseRecorder {
				r := httptest.NewRequest("GET", "https://example.com"+path, nil)
				r.RemoteAddr = rq.ip + ":1234"
				r.Header.Set("User-Agent", rq.ua)
				if cookie != nil {
					r.AddCookie(cookie)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				return rec
			}
			cookies := do("/login", login, nil).Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("login set %d cookies", len(cookies))
			}
			do("/", tt.next, cookies[0])
			if anomaly != tt.wantAnomaly || user != tt.wantUser {
				t.Errorf("anomaly %q user %q, want %q and %q", anomaly, user, tt.wantAnomaly, tt.wantUser)
			}
			flagged := false
			for _, e := range events {
				if e.Kind == EventAnomaly {
					flagged = true
				}
			}
			if flagged != (tt.wantAnomaly != "") {
				t.Errorf("EventAnomaly emitted = %v, want %v", flagged, tt.wantAnomaly != "")
			}
		})
	}
}

func TestSameNetworkIPv6(t *testing.T) {
	p := AnomalyPolicy{}
	if !p.sameNetwork("2001:db8:1:2::1", "2001:db8:1:2:ffff::9") {
		t.Error("two addresses in one /64 compared as different")
	}
	if p.sameNetwork("2001:db8:1:2::1", "2001:db8:1:3::1") {
		t.Error("two /64s compared as the same")
	}
	if p.sameNetwork("192.0.2.1", "2001:db8::1") {
		t.Error("IPv4 and IPv6 compared as the same")
	}
	if !p.sameNetwork("::ffff:192.0.2.1", "192.0.2.7") {
		t.Error("an IPv4-mapped address did not match its IPv4 network")
	}
}
