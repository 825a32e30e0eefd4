package csrf

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/sesamego/sesame"
)

// Reasons a request is rejected. The error handler receives an error that
// wraps one of them; test with errors.Is. Each also wraps
// [sesame.ErrForbidden], so one test in an app's error handler covers them
// and the session middleware's cross-origin refusal alike.
var (
	// ErrCrossOrigin: the request came from another origin. It wraps
	// [sesame.ErrCrossOrigin] too.
	ErrCrossOrigin error = &refusal{"csrf: cross-origin request", sesame.ErrCrossOrigin}
	// ErrMissingToken: the request carried no token.
	ErrMissingToken error = &refusal{"csrf: missing token", sesame.ErrForbidden}
	// ErrBadToken: the token is malformed, or does not match the session's
	// (another session's token, a token from before login, an expired
	// session).
	ErrBadToken error = &refusal{"csrf: invalid token", sesame.ErrForbidden}
)

// refusal is a sentinel error that [errors.Is] also matches with the
// sesame error it refines, without repeating that error's message.
type refusal struct {
	msg  string
	kind error
}

func (e *refusal) Error() string { return e.msg }
func (e *refusal) Unwrap() error { return e.kind }

// sessionKey holds the raw token in the session. Keys starting with "__" are
// reserved: Session.All and Session.Clear leave them alone.
const sessionKey = "__csrf"

const tokenLen = 32

var b64 = base64.RawURLEncoding.Strict()

// Defaults for Config.
const (
	DefaultFieldName  = "_csrf"
	DefaultHeaderName = "X-CSRF-Token"
)

// Config configures a [Protector].
type Config struct {
	// Sessions is the manager whose session holds the token. Required. The
	// Protector's Handler must run inside Sessions.Handler.
	Sessions *sesame.Manager

	// TrustedOrigins are origins ("https://admin.example.com") allowed to
	// send unsafe requests besides the app's own. The session middleware
	// checks origins too, before the Protector, unless its CrossOrigin
	// check is disabled: give it the same origins
	// (sesame.CrossOriginConfig.TrustedOrigins).
	TrustedOrigins []string

	// FieldName is the form field carrying the token. Empty means "_csrf".
	FieldName string

	// HeaderName is the request header carrying the token. Empty means
	// "X-CSRF-Token".
	HeaderName string

	// ErrorHandler answers rejected requests; err wraps the reason (and
	// sesame.ErrForbidden, or sesame.ErrStoreUnavailable when the session
	// could not be loaded). Nil means the session manager's error handler
	// ([sesame.Manager.Error]: its Config.ErrorHandler, by default 403
	// Forbidden, or 503 when the session store is down, with no detail), so
	// that one handler renders every refusal in the app's format.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Skip, when set, exempts requests for which it returns true from every
	// check (webhooks authenticated otherwise). Use sparingly.
	Skip func(r *http.Request) bool
}

// Protector is CSRF middleware. It is safe for concurrent use.
type Protector struct {
	m       *sesame.Manager
	cop     *http.CrossOriginProtection
	field   string
	header  string
	onError func(http.ResponseWriter, *http.Request, error)
	skip    func(*http.Request) bool
}

// New returns a Protector for cfg. It registers a hook with cfg.Sessions that
// replaces the token whenever a session is regenerated.
func New(cfg Config) (*Protector, error) {
	if cfg.Sessions == nil {
		return nil, errors.New("csrf: Config.Sessions is required")
	}
	p := &Protector{
		m:       cfg.Sessions,
		cop:     http.NewCrossOriginProtection(),
		field:   cfg.FieldName,
		header:  cfg.HeaderName,
		onError: cfg.ErrorHandler,
		skip:    cfg.Skip,
	}
	for _, o := range cfg.TrustedOrigins {
		if err := p.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("csrf: trusted origin %q: %w", o, err)
		}
	}
	if p.field == "" {
		p.field = DefaultFieldName
	}
	if p.header == "" {
		p.header = DefaultHeaderName
	}
	if p.onError == nil {
		p.onError = cfg.Sessions.Error
	}
	cfg.Sessions.OnRegenerate(func(s *sesame.Session) { s.Put(sessionKey, newToken()) })
	return p, nil
}

type ctxKey struct{}

// Handler returns middleware that rejects forged unsafe requests and makes
// [Token] and [TemplateField] work for the handlers it wraps. Safe methods
// (GET, HEAD, OPTIONS, TRACE) always pass; they must not change state.
func (p *Protector) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, p))
		w.Header().Add("Vary", "Sec-Fetch-Site, Origin")
		if err := p.Check(r); err != nil {
			p.onError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Check reports whether r may proceed: nil for safe methods and for unsafe
// requests from the app's origin with the session's token, else an error
// wrapping ErrCrossOrigin, ErrMissingToken, ErrBadToken or
// sesame.ErrStoreUnavailable.
//
// The token is read from the header first; without it, from the form field
// of a URL-encoded body (parsed as [http.Request.PostFormValue] does) or of a
// multipart body, where Check reads at most the first 64 KiB looking for the
// field and then replaces r.Body with one that gives back what it read, so
// the handler still reads the whole body (with [http.Request.FormFile] or
// [http.Request.MultipartReader]). A multipart body whose token field is not
// within its first 64 KiB (after a file part, say) is refused with an error
// wrapping ErrMissingToken: put [TemplateField] before the form's file
// inputs, or send the token in the header (see the package documentation).
func (p *Protector) Check(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return nil
	}
	if p.skip != nil && p.skip(r) {
		return nil
	}
	if err := p.cop.Check(r); err != nil {
		return fmt.Errorf("%w: %w", ErrCrossOrigin, err)
	}
	sent, err := p.sentToken(r)
	if err != nil {
		return err
	}
	if sent == "" {
		return ErrMissingToken
	}
	s := p.m.Session(r)
	if s == nil {
		return errors.New("csrf: request did not pass through the sessions' Handler or Load")
	}
	if err := s.Err(); err != nil {
		return err
	}
	stored, ok := sesame.Get[string](s, sessionKey)
	if !ok {
		return fmt.Errorf("%w: the session has no token (expired or never issued)", ErrBadToken)
	}
	if !verify(stored, sent) {
		return ErrBadToken
	}
	return nil
}

// maxMultipartScan is how much of a multipart body Check reads looking for
// the token field: 64 KiB. A token field takes about 100 bytes; a form that
// puts it first (as [TemplateField] at the top of the form does) has it in
// the first few hundred, and ordinary text fields before it (names, an
// address, a comment) fit many times over, while a file of any size does
// not. So Check never holds more than 64 KiB of an upload, whatever its size,
// where parsing the whole form (as PostFormValue does) kept up to 32 MB in
// memory and the rest in temporary files before the handler ran, and took
// the body from handlers that stream it.
const maxMultipartScan = 64 << 10

// maxTokenField bounds the token field's value: a masked token is 86 bytes.
const maxTokenField = 1 << 10

// sentToken returns the token r carries, from the header or else from the
// body's form field; "" when there is none.
func (p *Protector) sentToken(r *http.Request) (string, error) {
	if sent := r.Header.Get(p.header); sent != "" {
		return sent, nil // the body is not touched
	}
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" {
		return r.PostFormValue(p.field), nil // URL-encoded forms; other bodies are not read
	}
	if r.MultipartForm != nil {
		// An outer handler parsed the form already: the body is spent,
		// and the field is in the parsed form.
		return r.PostFormValue(p.field), nil
	}
	if r.Body == nil || r.Body == http.NoBody {
		return "", nil
	}
	return p.multipartToken(r, params["boundary"])
}

// multipartToken looks for the token field among the parts in the first
// maxMultipartScan bytes of r's multipart body, and then makes r.Body give
// back what it read followed by the rest.
func (p *Protector) multipartToken(r *http.Request, boundary string) (string, error) {
	body := r.Body
	var read bytes.Buffer
	limited := &io.LimitedReader{R: body, N: maxMultipartScan}
	defer func() {
		r.Body = replayBody{Reader: io.MultiReader(&read, body), Closer: body}
	}()
	mr := multipart.NewReader(io.TeeReader(limited, &read), boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return "", nil // the whole body, and no token field
		}
		if err != nil {
			if limited.N == 0 {
				return "", p.notWithin()
			}
			return "", fmt.Errorf("%w: malformed multipart body: %w", ErrMissingToken, err)
		}
		if part.FormName() != p.field || part.FileName() != "" {
			continue // NextPart skips the rest of this part
		}
		v, err := io.ReadAll(io.LimitReader(part, maxTokenField+1))
		switch {
		case err != nil && limited.N == 0:
			return "", p.notWithin()
		case err != nil:
			return "", fmt.Errorf("%w: malformed multipart body: %w", ErrMissingToken, err)
		case len(v) > maxTokenField:
			return "", fmt.Errorf("%w: the %q field is over %d bytes", ErrBadToken, p.field, maxTokenField)
		}
		return string(v), nil
	}
}

func (p *Protector) notWithin() error {
	return fmt.Errorf("%w: the %q field is not within the first %d KiB of the multipart body: "+
		"put it before the form's file inputs, or send the token in the %s header",
		ErrMissingToken, p.field, maxMultipartScan>>10, p.header)
}

// replayBody is a request body that gives back what Check read of it, then
// the rest.
type replayBody struct {
	io.Reader
	io.Closer
}

// Token returns the request's CSRF token, masked afresh, for a form field
// or a meta tag. It stores a new token in the session when there is none (so
// the session is saved). It returns "" when r did not pass through
// [Protector.Handler] or the session store is down.
func Token(r *http.Request) string {
	p, _ := r.Context().Value(ctxKey{}).(*Protector)
	if p == nil {
		return ""
	}
	return p.Token(p.m.Session(r))
}

// Token returns the CSRF token of s, masked afresh, like the function
// [Token]: for servers that do not run [Protector.Handler] (fiber,
// fasthttp), whose handlers find their session with [sesame.FromContext].
// It returns "" when s is nil or its store is down.
func (p *Protector) Token(s *sesame.Session) string {
	if s == nil || s.Err() != nil {
		return ""
	}
	raw, ok := sesame.Get[string](s, sessionKey)
	if !ok || !validRaw(raw) {
		raw = newToken()
		s.Put(sessionKey, raw)
	}
	return mask(raw)
}

// TemplateField returns a hidden form input carrying [Token], for html/template:
//
//	<form method="post">{{.CSRFField}} ...</form>
func TemplateField(r *http.Request) template.HTML {
	p, _ := r.Context().Value(ctxKey{}).(*Protector)
	if p == nil {
		return field(DefaultFieldName, "")
	}
	return p.TemplateField(p.m.Session(r))
}

// TemplateField returns a hidden form input carrying [Protector.Token] of s,
// like the function [TemplateField].
func (p *Protector) TemplateField(s *sesame.Session) template.HTML {
	return field(p.field, p.Token(s))
}

func field(name, token string) template.HTML {
	return template.HTML(`<input type="hidden" name="` + template.HTMLEscapeString(name) +
		`" value="` + template.HTMLEscapeString(token) + `">`)
}

// FieldName returns the form field name the request's Protector reads.
func FieldName(r *http.Request) string {
	if p, _ := r.Context().Value(ctxKey{}).(*Protector); p != nil {
		return p.field
	}
	return DefaultFieldName
}

// Rotate replaces the session's token; pages rendered before then stop
// working. Regenerating the session rotates it already.
func Rotate(s *sesame.Session) { s.Put(sessionKey, newToken()) }

// newToken returns a fresh raw token: 32 random bytes, base64url.
func newToken() string {
	var b [tokenLen]byte
	_, _ = rand.Read(b[:])
	return b64.EncodeToString(b[:])
}

func validRaw(raw string) bool {
	b, err := b64.DecodeString(raw)
	return err == nil && len(b) == tokenLen
}

// mask returns pad || (pad XOR token), base64url, with a fresh random pad:
// the same token never appears twice in responses.
func mask(raw string) string {
	tok, err := b64.DecodeString(raw)
	if err != nil || len(tok) != tokenLen {
		return ""
	}
	var out [2 * tokenLen]byte
	_, _ = rand.Read(out[:tokenLen])
	for i := range tokenLen {
		out[tokenLen+i] = out[i] ^ tok[i]
	}
	return b64.EncodeToString(out[:])
}

// unmask reverses mask; ok is false for anything mask cannot produce.
func unmask(sent string) ([]byte, bool) {
	if len(sent) != b64.EncodedLen(2*tokenLen) {
		return nil, false
	}
	b, err := b64.DecodeString(sent)
	if err != nil || len(b) != 2*tokenLen {
		return nil, false
	}
	tok := make([]byte, tokenLen)
	for i := range tokenLen {
		tok[i] = b[i] ^ b[tokenLen+i]
	}
	return tok, true
}

// verify reports whether sent (a masked token from a form or header) carries
// the raw token stored in the session, in constant time.
func verify(stored, sent string) bool {
	want, err := b64.DecodeString(stored)
	if err != nil || len(want) != tokenLen {
		return false
	}
	got, ok := unmask(sent)
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare(got, want) == 1
}
