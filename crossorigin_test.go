package sesame

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCrossOriginRequestsAreRefusedByDefault(t *testing.T) {
	tests := []struct {
		name    string
		cfg     CrossOriginConfig
		method  string
		headers map[string]string
		want    int
	}{
		{"a cross-site POST is refused", CrossOriginConfig{}, "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"a same-site POST from a sibling subdomain is refused", CrossOriginConfig{}, "POST", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"a POST whose Origin is another host is refused", CrossOriginConfig{}, "POST", map[string]string{"Origin": "https://evil.example"}, 403},
		{"a cross-site DELETE is refused", CrossOriginConfig{}, "DELETE", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"a same-origin POST passes", CrossOriginConfig{}, "POST", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"a POST whose Origin is the app passes", CrossOriginConfig{}, "POST", map[string]string{"Origin": "https://shop.example"}, 200},
		{"a POST from a non-browser client passes", CrossOriginConfig{}, "POST", nil, 200},
		{"a cross-site GET passes (links work)", CrossOriginConfig{}, "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
		{"a trusted origin passes", CrossOriginConfig{TrustedOrigins: []string{"https://admin.example"}}, "POST",
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://admin.example"}, 200},
		{"a bypassed request passes", CrossOriginConfig{Bypass: func(r *http.Request) bool { return r.URL.Path == "/hook" }}, "POST",
			map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
		{"Disable turns the check off", CrossOriginConfig{Disable: true}, "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got error
			m, err := New(Config{CrossOrigin: tt.cfg, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				got = err
				DefaultErrorHandler(w, r, err)
			}})
			if err != nil {
				t.Fatal(err)
			}
			ran := false
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran = true
				From(r).Put("changed", true)
			}))
			req := httptest.NewRequest(tt.method, "https://shop.example/hook", strings.NewReader("a=1"))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("got %d, want %d", rec.Code, tt.want)
			}
			if refused := tt.want == 403; refused {
				if ran || len(rec.Result().Cookies()) > 0 {
					t.Errorf("a refused request ran the handler (%v) or set a cookie", ran)
				}
				if !errors.Is(got, ErrCrossOrigin) {
					t.Errorf("the error handler got %v, want ErrCrossOrigin", got)
				}
			}
		})
	}
}

func TestBadTrustedOriginIsAnErrorAtNew(t *testing.T) {
	if _, err := New(Config{CrossOrigin: CrossOriginConfig{TrustedOrigins: []string{"not an origin"}}}); err == nil {
		t.Error("New accepted a malformed trusted origin")
	}
}
