package remember

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/cookies"
	"github.com/sesamego/sesame/store"
)

// Errors returned by [Manager.Authenticate].
var (
	// ErrTheft: a token was presented with a verifier that was replaced
	// outside the grace window: the cookie was copied. Every token of the
	// user has been revoked.
	ErrTheft = errors.New("remember: token reuse detected (possible theft); all of the user's tokens revoked")
)

// Defaults for [Config].
const (
	DefaultCookieName = "remember"
	DefaultMaxAge     = 30 * 24 * time.Hour
	DefaultGrace      = time.Minute
)

const (
	selectorBytes = 16
	verifierBytes = 32
)

var b64 = base64.RawURLEncoding.Strict()

// SessionKey is the session key under which [Manager.Login] (with remember
// me), [Manager.Handler] and [Manager.RevokeOthers] record the selector of
// the remember-me token that goes with the session: the token's public
// half, which finds it but cannot log anyone in. It starts with "__", so
// sesame leaves it out of Session.All and Session.Keys, and Session.Clear
// keeps it. A dashboard reads it from the stored session to flag remembered
// sessions and to revoke a session's token together with the session
// ([Manager.RevokeSelector]); package admin does.
const SessionKey = "__remember"

// Config configures a [Manager].
type Config struct {
	// Tokens stores the tokens. Required.
	Tokens store.TokenStore

	// Sessions is the session manager users are logged into. Required for
	// Handler, Login and Logout.
	Sessions *sesame.Manager

	// CookieName is the cookie's name. Empty means "remember". It is not
	// prefixed automatically; "__Host-remember" is a good choice on HTTPS.
	CookieName string

	// Cookie sets the cookie's attributes; MaxAge is ignored (see MaxAge).
	// The zero value is Secure, HttpOnly, SameSite=Lax, Path=/.
	Cookie cookies.Options

	// MaxAge is how long a token lives. Zero means 30 days.
	MaxAge time.Duration

	// Grace is how long the previous verifier stays valid after a rotation.
	// Zero means one minute.
	Grace time.Duration

	// Logger receives theft reports (Warn) and store errors. Nil means
	// slog.Default().
	Logger *slog.Logger

	// OnTheft, when set, is called after a theft was detected and the
	// user's tokens revoked (to alert the user, say).
	OnTheft func(ctx context.Context, userID string)
}

// Manager issues, checks, rotates and revokes remember-me tokens. It is safe
// for concurrent use.
type Manager struct {
	tokens   store.TokenStore
	sessions *sesame.Manager
	name     string
	opts     cookies.Options
	maxAge   time.Duration
	grace    time.Duration
	log      *slog.Logger
	onTheft  func(context.Context, string)
	now      func() time.Time
}

// New validates cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("remember: Config.Tokens is required")
	}
	m := &Manager{
		tokens:   cfg.Tokens,
		sessions: cfg.Sessions,
		name:     cfg.CookieName,
		opts:     cfg.Cookie,
		maxAge:   cfg.MaxAge,
		grace:    cfg.Grace,
		log:      cfg.Logger,
		onTheft:  cfg.OnTheft,
		now:      time.Now,
	}
	if m.name == "" {
		m.name = DefaultCookieName
	}
	if m.maxAge <= 0 {
		m.maxAge = DefaultMaxAge
	}
	if m.grace <= 0 {
		m.grace = DefaultGrace
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.opts.Path == "" {
		m.opts.Path = "/"
	}
	m.opts.ScriptReadable = false
	m.opts.MaxAge = m.maxAge
	probe := m.opts.Cookie(m.name, strings.Repeat("a", 22)+":"+strings.Repeat("b", 43))
	if err := cookies.Validate(probe); err != nil {
		return nil, fmt.Errorf("remember: cookie: %w", err)
	}
	return m, nil
}

// CookieName returns the cookie's name.
func (m *Manager) CookieName() string { return m.name }

func hashVerifier(v []byte) []byte {
	h := sha256.Sum256(v)
	return h[:]
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// parse splits a cookie value into selector and verifier, checking their
// form before any store I/O.
func parse(v string) (selector string, verifier []byte, ok bool) {
	sel, ver, found := strings.Cut(v, ":")
	if !found || len(sel) != b64.EncodedLen(selectorBytes) || len(ver) != b64.EncodedLen(verifierBytes) {
		return "", nil, false
	}
	if s, err := b64.DecodeString(sel); err != nil || len(s) != selectorBytes {
		return "", nil, false
	}
	vb, err := b64.DecodeString(ver)
	if err != nil || len(vb) != verifierBytes {
		return "", nil, false
	}
	return sel, vb, true
}

func (m *Manager) setCookie(w http.ResponseWriter, selector string, verifier []byte) error {
	return cookies.Write(w, m.opts.Cookie(m.name, selector+":"+b64.EncodeToString(verifier)))
}

// Issue creates a token for userID and sets its cookie on w.
func (m *Manager) Issue(ctx context.Context, w http.ResponseWriter, userID string) error {
	_, err := m.issue(ctx, w, userID)
	return err
}

// issue is Issue, returning the new token's selector.
func (m *Manager) issue(ctx context.Context, w http.ResponseWriter, userID string) (string, error) {
	if userID == "" {
		return "", errors.New("remember: Issue needs a user ID")
	}
	now := m.now()
	sel := b64.EncodeToString(random(selectorBytes))
	ver := random(verifierBytes)
	t := store.Token{Selector: sel, UserID: userID, Hash: hashVerifier(ver), Created: now, Expires: now.Add(m.maxAge)}
	if err := m.tokens.CreateToken(ctx, t); err != nil {
		return "", fmt.Errorf("remember: store token: %w", err)
	}
	return sel, m.setCookie(w, sel, ver)
}

// Authenticate checks the request's remember-me cookie and returns the user
// it logs in. A valid token is rotated (a new cookie is set on w); within the
// grace window after a rotation the previous verifier is accepted without
// rotating again. A missing, malformed, unknown or expired token returns ok
// false and clears the cookie. An outdated verifier outside the grace window
// is theft: all of the user's tokens are revoked and the error wraps
// ErrTheft. Store failures are returned as errors (and the cookie is kept).
func (m *Manager) Authenticate(w http.ResponseWriter, r *http.Request) (userID string, ok bool, err error) {
	userID, _, ok, err = m.authenticate(w, r)
	return userID, ok, err
}

// authenticate is Authenticate, returning the token's selector too.
func (m *Manager) authenticate(w http.ResponseWriter, r *http.Request) (userID, selector string, ok bool, err error) {
	raw, present := cookies.Get(r, m.name)
	if !present {
		return "", "", false, nil
	}
	sel, ver, valid := parse(raw)
	if !valid {
		_ = m.clear(w)
		return "", "", false, nil
	}
	ctx := r.Context()
	t, found, err := m.tokens.LookupToken(ctx, sel)
	if err != nil {
		return "", "", false, fmt.Errorf("remember: lookup: %w", err)
	}
	now := m.now()
	if !found || !t.Expires.After(now) {
		_ = m.clear(w)
		return "", "", false, nil
	}
	h := hashVerifier(ver)
	switch {
	case subtle.ConstantTimeCompare(h, t.Hash) == 1:
		next := random(verifierBytes)
		swapped, err := m.tokens.RotateToken(ctx, sel, t.Hash, hashVerifier(next), now)
		if err != nil {
			return "", "", false, fmt.Errorf("remember: rotate: %w", err)
		}
		if swapped {
			if err := m.setCookie(w, sel, next); err != nil {
				return "", "", false, err
			}
		}
		// Not swapped: a concurrent request rotated it a moment ago and
		// sends the browser the new cookie; this one is the same browser.
		return t.UserID, sel, true, nil
	case t.PrevHash != nil && subtle.ConstantTimeCompare(h, t.PrevHash) == 1 && now.Sub(t.Rotated) <= m.grace:
		return t.UserID, sel, true, nil
	default:
		n, derr := m.tokens.DeleteUserTokens(context.WithoutCancel(ctx), t.UserID)
		m.log.WarnContext(ctx, "remember: token reuse detected; revoked all of the user's tokens",
			"user", t.UserID, "revoked", n, "path", r.URL.Path)
		_ = m.clear(w)
		if m.onTheft != nil {
			m.onTheft(ctx, t.UserID)
		}
		if derr != nil {
			return "", "", false, fmt.Errorf("%w (revoking failed: %w)", ErrTheft, derr)
		}
		return "", "", false, ErrTheft
	}
}

func (m *Manager) clear(w http.ResponseWriter) error {
	return cookies.Clear(w, m.name, m.opts)
}

// Revoke deletes the request's token (if any) and clears its cookie.
func (m *Manager) Revoke(w http.ResponseWriter, r *http.Request) error {
	raw, present := cookies.Get(r, m.name)
	if !present {
		return nil
	}
	var err error
	if sel, _, ok := parse(raw); ok {
		err = m.tokens.DeleteToken(r.Context(), sel)
	}
	if cerr := m.clear(w); err == nil {
		err = cerr
	}
	return err
}

// RevokeSelector deletes the token with that selector, as recorded under
// [SessionKey] in the session it logged in ("revoke this session", from an
// admin dashboard). A missing token is not an error; a selector that is not
// of the form this package makes is, before any store I/O.
func (m *Manager) RevokeSelector(ctx context.Context, selector string) error {
	if s, err := b64.DecodeString(selector); err != nil || len(s) != selectorBytes {
		return errors.New("remember: malformed selector")
	}
	if err := m.tokens.DeleteToken(ctx, selector); err != nil {
		return fmt.Errorf("remember: revoke: %w", err)
	}
	return nil
}

// RevokeUser deletes every token of userID ("log out everywhere", a password
// change) and returns how many.
func (m *Manager) RevokeUser(ctx context.Context, userID string) (int, error) {
	return m.tokens.DeleteUserTokens(ctx, userID)
}

// RevokeOthers deletes every token of userID but keeps this browser
// remembered: if the request carries a live token of that user, a new one is
// issued in its place. Call it with sesame's Manager.LogoutOtherDevices, or
// the other browsers log straight back in. It returns how many tokens it
// deleted.
func (m *Manager) RevokeOthers(w http.ResponseWriter, r *http.Request, userID string) (int, error) {
	keep := false
	if raw, present := cookies.Get(r, m.name); present {
		if sel, _, ok := parse(raw); ok {
			t, found, err := m.tokens.LookupToken(r.Context(), sel)
			if err != nil {
				return 0, fmt.Errorf("remember: lookup: %w", err)
			}
			keep = found && t.UserID == userID
		}
	}
	n, err := m.tokens.DeleteUserTokens(r.Context(), userID)
	if err != nil {
		return n, fmt.Errorf("remember: revoke: %w", err)
	}
	if keep {
		sel, err := m.issue(r.Context(), w, userID)
		if err == nil && m.sessions != nil {
			if s := m.sessions.Session(r); s != nil {
				s.Put(SessionKey, sel)
			}
		}
		return n, err
	}
	return n, nil
}

// Login logs userID into the request's session in the right order, after
// your code has verified the credentials: the session ID is regenerated
// (defeating fixation), the session is tied to the user (sesame's
// Session.SetUser), and, when rememberMe is true, a token is issued and its
// selector recorded in the session under [SessionKey].
func (m *Manager) Login(w http.ResponseWriter, r *http.Request, userID string, rememberMe bool) error {
	s := m.session(r)
	if err := s.Regenerate(); err != nil {
		return err
	}
	s.SetUser(userID)
	if !rememberMe {
		s.Forget(SessionKey)
		return nil
	}
	sel, err := m.issue(r.Context(), w, userID)
	if err != nil {
		return err
	}
	s.Put(SessionKey, sel)
	return nil
}

// Logout revokes the request's token, clears its cookie, and gives the
// session a new ID without a user (and without [SessionKey]). The session's
// other data is kept; call Session.Forget or Session.Destroy for that.
func (m *Manager) Logout(w http.ResponseWriter, r *http.Request) error {
	err := m.Revoke(w, r)
	s := m.session(r)
	if rerr := s.Regenerate(); err == nil {
		err = rerr
	}
	s.SetUser("")
	s.Forget(SessionKey)
	return err
}

func (m *Manager) session(r *http.Request) *sesame.Session {
	if m.sessions == nil {
		panic("remember: Config.Sessions is required for Login, Logout and Handler")
	}
	s := m.sessions.Session(r)
	if s == nil {
		panic("remember: request did not pass through the sessions' Handler")
	}
	return s
}

// Handler returns middleware that logs a user back in from the remember-me
// cookie when the request's session has no user. The session is regenerated
// and tied to the user, so handlers see a logged-in session, and the token's
// selector is recorded under [SessionKey]. It must run
// inside the sessions' Handler. A request without the cookie costs nothing;
// with it, the session is loaded to see whether it already has a user.
// On theft or a store failure the request goes on anonymous.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, present := cookies.Get(r, m.name); present {
			s := m.session(r)
			if s.Err() == nil && s.UserID() == "" {
				user, sel, ok, err := m.authenticate(w, r)
				if err != nil && !errors.Is(err, ErrTheft) {
					m.log.ErrorContext(r.Context(), "remember: authenticate", "error", err)
				}
				if ok && s.Regenerate() == nil {
					s.SetUser(user)
					s.Put(SessionKey, sel)
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
