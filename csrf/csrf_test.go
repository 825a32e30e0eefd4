package csrf

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sesamego/sesame"
)

type app struct {
	t       *testing.T
	srv     *httptest.Server
	client  *http.Client
	lastErr error
}

func newApp(t *testing.T) *app {
	t.Helper()
	// The session middleware checks origins itself by default; it is off
	// here so that the Protector's own check is what these tests see.
	m, err := sesame.New(sesame.Config{CrossOrigin: sesame.CrossOriginConfig{Disable: true}})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{t: t}
	p, err := New(Config{Sessions: m, TrustedOrigins: []string{"https://trusted.example"},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			a.lastErr = err
			http.Error(w, "forbidden", http.StatusForbidden)
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, string(TemplateField(r)))
	})
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, Token(r)) })
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.From(r)
		s.Regenerate()
		s.Put("user", "alice")
		io.WriteString(w, Token(r))
	})
	mux.HandleFunc("POST /transfer", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "done") })
	a.srv = httptest.NewTLSServer(m.Handler(p.Handler(mux)))
	t.Cleanup(a.srv.Close)
	a.client = a.newClient()
	return a
}

func (a *app) newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *a.srv.Client()
	c.Jar = jar
	return &c
}

var valueRE = regexp.MustCompile(`value="([^"]+)"`)

// token fetches a page with a form and returns its hidden token.
func (a *app) token(c *http.Client) string {
	a.t.Helper()
	resp, err := c.Get(a.srv.URL + "/form")
	if err != nil {
		a.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := valueRE.FindStringSubmatch(string(b))
	if m == nil {
		a.t.Fatalf("no token in %q", b)
	}
	return m[1]
}

func (a *app) post(c *http.Client, path string, form url.Values, hdr map[string]string) (int, string) {
	a.t.Helper()
	a.lastErr = nil
	req, _ := http.NewRequest("POST", a.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

func TestProtection(t *testing.T) {
	a := newApp(t)
	tok := a.token(a.client)
	other := a.newClient()
	otherTok := a.token(other)
	tests := []struct {
		name    string
		form    url.Values
		hdr     map[string]string
		want    int
		wantErr error
	}{
		{"a same-origin post with the form token passes", url.Values{"_csrf": {tok}}, map[string]string{"Sec-Fetch-Site": "same-origin"}, 200, nil},
		{"a post with the token in the header passes", nil, map[string]string{"X-CSRF-Token": tok}, 200, nil},
		{"a post without any token is rejected", url.Values{"amount": {"1"}}, nil, 403, ErrMissingToken},
		{"a cross-site post is rejected even with a token", url.Values{"_csrf": {tok}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, ErrCrossOrigin},
		{"a same-site post from a sibling subdomain is rejected", url.Values{"_csrf": {tok}}, map[string]string{"Sec-Fetch-Site": "same-site"}, 403, ErrCrossOrigin},
		{"a post whose Origin does not match the host is rejected", url.Values{"_csrf": {tok}}, map[string]string{"Origin": "https://evil.example"}, 403, ErrCrossOrigin},
		{"a post from a trusted origin passes", url.Values{"_csrf": {tok}}, map[string]string{"Origin": "https://trusted.example", "Sec-Fetch-Site": "cross-site"}, 200, nil},
		{"another session's token is rejected", url.Values{"_csrf": {otherTok}}, nil, 403, ErrBadToken},
		{"a mangled token is rejected", url.Values{"_csrf": {tok[:len(tok)-2] + "AA"}}, nil, 403, ErrBadToken},
		{"a truncated token is rejected", url.Values{"_csrf": {tok[:20]}}, nil, 403, ErrBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _ := a.post(a.client, "/transfer", tt.form, tt.hdr)
			if code != tt.want {
				t.Errorf("status %d, want %d (err %v)", code, tt.want, a.lastErr)
			}
			if tt.wantErr != nil && !errors.Is(a.lastErr, tt.wantErr) {
				t.Errorf("error %v, want %v", a.lastErr, tt.wantErr)
			}
		})
	}
}

func TestTokensAreMaskedPerResponse(t *testing.T) {
	a := newApp(t)
	t1, t2 := a.token(a.client), a.token(a.client)
	if t1 == t2 {
		t.Fatal("two responses carried the same masked token")
	}
	for _, tok := range []string{t1, t2} {
		if code, _ := a.post(a.client, "/transfer", url.Values{"_csrf": {tok}}, nil); code != 200 {
			t.Errorf("masked token rejected: %d", code)
		}
	}
}

func TestLoginIsProtectedAndRotatesToken(t *testing.T) {
	a := newApp(t)
	// An attacker cannot log the victim in: no token, no login.
	if code, _ := a.post(a.client, "/login", nil, nil); code != 403 {
		t.Fatalf("login without a token: %d, want 403", code)
	}
	before := a.token(a.client)
	code, after := a.post(a.client, "/login", url.Values{"_csrf": {before}}, nil)
	if code != 200 {
		t.Fatalf("login with the token: %d", code)
	}
	if code, _ := a.post(a.client, "/transfer", url.Values{"_csrf": {before}}, nil); code != 403 || !errors.Is(a.lastErr, ErrBadToken) {
		t.Errorf("pre-login token after login: %d %v, want 403 ErrBadToken", code, a.lastErr)
	}
	if code, _ := a.post(a.client, "/transfer", url.Values{"_csrf": {after}}, nil); code != 200 {
		t.Errorf("post-login token: %d, want 200", code)
	}
}

func TestNoHeadersIsAllowedByOriginCheck(t *testing.T) {
	// Non-browser clients send neither Sec-Fetch-Site nor Origin; the token
	// still guards them.
	a := newApp(t)
	tok := a.token(a.client)
	if code, _ := a.post(a.client, "/transfer", url.Values{"_csrf": {tok}}, nil); code != 200 {
		t.Errorf("status %d, want 200", code)
	}
}

func TestNewRequiresSessions(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without Sessions succeeded")
	}
	m, _ := sesame.New(sesame.Config{})
	if _, err := New(Config{Sessions: m, TrustedOrigins: []string{"not a url"}}); err == nil {
		t.Error("New accepted a malformed trusted origin")
	}
}

func TestMaskRoundTrip(t *testing.T) {
	raw := newToken()
	for i := 0; i < 100; i++ {
		if !verify(raw, mask(raw)) {
			t.Fatal("mask/verify round trip failed")
		}
	}
	if verify(raw, mask(newToken())) {
		t.Fatal("a different token verified")
	}
}

func FuzzVerify(f *testing.F) {
	raw := newToken()
	f.Add(mask(raw))
	f.Add("")
	f.Add(strings.Repeat("A", 86))
	f.Fuzz(func(t *testing.T, sent string) {
		ok := verify(raw, sent)
		if ok {
			got, _ := unmask(sent)
			want, _ := b64.DecodeString(raw)
			if string(got) != string(want) {
				t.Fatalf("verify accepted %q that does not carry the token", sent)
			}
		}
	})
}

func TestEverySingleByteMutationIsRejected(t *testing.T) {
	raw := newToken()
	good := mask(raw)
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(good); i++ {
		for _, c := range []byte(alphabet) {
			if c == good[i] {
				continue
			}
			b := []byte(good)
			b[i] = c
			if verify(raw, string(b)) {
				t.Fatalf("mutation at %d (%q) accepted", i, c)
			}
		}
	}
}

// TestTheSessionMiddlewareRefusesCrossOriginFirst: with the manager's default
// configuration a cross-origin POST never reaches the Protector.
func TestTheSessionMiddlewareRefusesCrossOriginFirst(t *testing.T) {
	var got error
	m, err := sesame.New(sesame.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		sesame.DefaultErrorHandler(w, r, err)
	}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Sessions: m})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the handler ran")
	})))
	req := httptest.NewRequest("POST", "https://shop.example/", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || !errors.Is(got, sesame.ErrCrossOrigin) {
		t.Errorf("got %d with %v, want 403 and sesame.ErrCrossOrigin", rec.Code, got)
	}
}

func TestEveryRefusalIsForbidden(t *testing.T) {
	for _, err := range []error{ErrCrossOrigin, ErrMissingToken, ErrBadToken} {
		if !errors.Is(err, sesame.ErrForbidden) || sesame.StatusCode(err) != http.StatusForbidden {
			t.Errorf("%v: errors.Is(sesame.ErrForbidden) false or status %d, want a 403 refusal", err, sesame.StatusCode(err))
		}
	}
	if !errors.Is(ErrCrossOrigin, sesame.ErrCrossOrigin) {
		t.Error("csrf.ErrCrossOrigin does not match sesame.ErrCrossOrigin")
	}
	if errors.Is(ErrMissingToken, sesame.ErrCrossOrigin) || errors.Is(ErrBadToken, ErrMissingToken) {
		t.Error("token failures match the wrong sentinels")
	}
}

// TestOneErrorHandlerForEveryRefusal: without an ErrorHandler of its own,
// the Protector answers with the session manager's, so the app's one
// handler renders store outages, cross-origin refusals and token failures.
func TestOneErrorHandlerForEveryRefusal(t *testing.T) {
	var got []error
	m, err := sesame.New(sesame.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = append(got, err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(sesame.StatusCode(err))
		io.WriteString(w, `{"error":"refused"}`)
	}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Sessions: m})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	tests := []struct {
		name string
		site string
		want error
	}{
		{"a cross-site post is refused by the session middleware", "cross-site", sesame.ErrCrossOrigin},
		{"a same-origin post without a token is refused by the Protector", "same-origin", ErrMissingToken},
	}
	for _, tt := range tests {
		got = nil
		req := httptest.NewRequest("POST", "https://shop.example/", nil)
		req.Header.Set("Sec-Fetch-Site", tt.site)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if len(got) != 1 || !errors.Is(got[0], tt.want) || rec.Code != 403 || rec.Body.String() != `{"error":"refused"}` {
			t.Errorf("%s: handler got %v, answered %d %q; want %v rendered as the app's JSON 403", tt.name, got, rec.Code, rec.Body, tt.want)
		}
	}
}

// TestProtectorWithoutMiddleware: a server that does not run net/http
// middleware (fiber, fasthttp) loads the session with Manager.Load, checks
// with Check and renders the token with the Protector's methods.
func TestProtectorWithoutMiddleware(t *testing.T) {
	m, err := sesame.New(sesame.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Sessions: m, FieldName: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Load(httptest.NewRequest("GET", "https://shop.example/form", nil))
	if err != nil {
		t.Fatal(err)
	}
	s := sesame.FromContext(r.Context())
	field := string(p.TemplateField(s))
	tok := valueRE.FindStringSubmatch(field)
	if tok == nil || !strings.Contains(field, `name="tok"`) {
		t.Fatalf("TemplateField = %q, want a hidden input named tok with a token", field)
	}
	h, err := m.Save(r)
	if err != nil {
		t.Fatal(err)
	}
	post := func(token string) error {
		req := httptest.NewRequest("POST", "https://shop.example/transfer", strings.NewReader(url.Values{"tok": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", strings.Split(h.Get("Set-Cookie"), ";")[0])
		req, err := m.Load(req)
		if err != nil {
			t.Fatal(err)
		}
		return p.Check(req)
	}
	if err := post(tok[1]); err != nil {
		t.Errorf("Check with the token: %v", err)
	}
	if err := post(""); !errors.Is(err, ErrMissingToken) {
		t.Errorf("Check without the token: %v, want ErrMissingToken", err)
	}
	if got := p.Token(nil); got != "" {
		t.Errorf("Token(nil) = %q, want empty", got)
	}
}
