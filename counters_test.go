package sesame

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sesamego/sesame/memstore"
)

func TestCounters(t *testing.T) {
	type op struct {
		add    bool
		key    string
		by     int64
		remove bool
	}
	tests := []struct {
		name string
		ops  []op
		want map[string]int64
	}{
		{"none", nil, nil},
		{"one key added twice", []op{{add: true, key: "a", by: 1}, {add: true, key: "a", by: 2}}, map[string]int64{"a": 3}},
		{"two keys", []op{{add: true, key: "a", by: 1}, {add: true, key: "b", by: -1}}, map[string]int64{"a": 1, "b": -1}},
		{"three keys", []op{{add: true, key: "a", by: 1}, {add: true, key: "b", by: 2}, {add: true, key: "c", by: 3}, {add: true, key: "c", by: 3}},
			map[string]int64{"a": 1, "b": 2, "c": 6}},
		{"removing the first key keeps the other", []op{{add: true, key: "a", by: 1}, {add: true, key: "b", by: 2}, {remove: true, key: "a"}},
			map[string]int64{"b": 2}},
		{"removing a key in the map", []op{{add: true, key: "a", by: 1}, {add: true, key: "b", by: 2}, {add: true, key: "c", by: 3}, {remove: true, key: "c"}},
			map[string]int64{"a": 1, "b": 2}},
		{"removing a missing key", []op{{add: true, key: "a", by: 1}, {remove: true, key: "z"}}, map[string]int64{"a": 1}},
		{"a removed key added again", []op{{add: true, key: "a", by: 1}, {remove: true, key: "a"}, {add: true, key: "a", by: 5}}, map[string]int64{"a": 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c counters
			for _, o := range tt.ops {
				if o.remove {
					c.remove(o.key)
				} else {
					c.add(o.key, o.by)
				}
			}
			got := c.fill(nil)
			if !maps.Equal(got, tt.want) || c.len() != len(tt.want) {
				t.Errorf("got %v (len %d), want %v", got, c.len(), tt.want)
			}
			for k, v := range tt.want {
				if g, ok := c.get(k); !ok || g != v {
					t.Errorf("get(%q) = %d, %v, want %d", k, g, ok, v)
				}
			}
			if _, ok := c.get("never"); ok {
				t.Error("get of a missing key found it")
			}
		})
	}
}

// The maps that carry increments to a flat store are reused, so each must
// leave as empty as it came: one session's counters never reach another's.
func TestIncrementsDoNotLeakBetweenSessions(t *testing.T) {
	ms := memstore.New()
	m, err := New(Config{Store: ms, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var cookies []*http.Cookie
	for _, key := range []string{"a", "b", "c", "d"} {
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := From(r).Increment(key, 1); err != nil {
				t.Fatal(err)
			}
		}))
		// A new session, then an update of it: both commit increments.
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/", nil))
		c := w.Result().Cookies()[0]
		cookies = append(cookies, c)
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		r.AddCookie(c)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	for i, key := range []string{"a", "b", "c", "d"} {
		var keys []string
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { keys = From(r).Keys() }))
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		r.AddCookie(cookies[i])
		h.ServeHTTP(httptest.NewRecorder(), r)
		if len(keys) != 1 || keys[0] != key {
			t.Errorf("session %d holds %v, want only %q", i, keys, key)
		}
	}
}
