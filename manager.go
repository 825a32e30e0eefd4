package sesame

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sesamego/sesame/cookies"
	"github.com/sesamego/sesame/internal/flat"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
)

// Defaults for [Config] fields left at their zero value.
const (
	DefaultIdleTimeout  = 2 * time.Hour
	DefaultLifetime     = 24 * time.Hour
	DefaultCookieName   = "sid"
	DefaultTouchShare   = 0.1
	DefaultStoreTimeout = 5 * time.Second
)

// Config configures a [Manager]. Its zero value is a valid, secure
// configuration: an in-memory store, a Secure HttpOnly SameSite=Lax cookie named
// "__Host-sid", a 2-hour idle timeout and a 24-hour absolute lifetime.
type Config struct {
	// Store holds the sessions. Nil means a new in-memory store (a memstore
	// with its default bounds, logging to Logger), which is lost on restart
	// and not shared between processes. When the store evicts sessions to
	// stay within its bounds (memstore's MaxMemory and MaxSessions), the
	// manager reports each eviction as an [EventEvicted], also through
	// store.Wrap.
	Store store.Store

	// Cookie configures the session cookie.
	Cookie CookieConfig

	// TokenHeader, when set, reads the session ID from this request header
	// instead of a cookie (for API clients), and sends a new or changed ID
	// back in the same response header. No cookie is read or written then.
	TokenHeader string

	// IdleTimeout ends a session that has not been used for this long. The
	// server enforces it from the record's last-seen time, whatever the
	// cookie says. Zero means DefaultIdleTimeout (2h); negative means no
	// idle timeout.
	IdleTimeout time.Duration

	// Lifetime ends a session this long after it was created, however active
	// it is (the absolute timeout). Zero means DefaultLifetime (24h).
	Lifetime time.Duration

	// ClearWithBrowser makes the session cookie a browser-session cookie
	// (no Max-Age), so it is gone when the browser closes. False means a
	// persistent cookie whose Max-Age is the time left of Lifetime.
	ClearWithBrowser bool

	// TouchShare is the share of IdleTimeout that must pass before an
	// unchanged session's expiry is extended in the store, so busy
	// sessions cost one write per share, not one per request. Zero means
	// DefaultTouchShare (0.1); it must be below 1.
	TouchShare float64

	// StoreTimeout bounds each store call. Commits run with a context that
	// is not cancelled when the client goes away, so a change is never
	// half lost; this bound still applies. Zero means DefaultStoreTimeout
	// (5s).
	StoreTimeout time.Duration

	// ErrorHandler writes the response when the session could not be
	// loaded or committed (the store is down, a value could not be encoded,
	// the session is over the size limit) and when a request was refused
	// as a likely forgery ([ErrForbidden]: the cross-origin check, and the
	// csrf package's token check unless it has a handler of its own).
	// Test err with errors.Is to render each in the app's own format (JSON
	// for an API, say); [StatusCode] gives the status that fits. Nil means
	// [DefaultErrorHandler]: a plain 503 Service Unavailable for store
	// failures, 403 Forbidden for refusals and 500 for anything else,
	// revealing no detail.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Logger receives session events (created, regenerated, destroyed,
	// expired, store errors) with the session's short hash, never its ID
	// or values. Nil means slog.Default().
	Logger *slog.Logger

	// OnEvent, when set, is called for every session event (for metrics,
	// tracing, audit logs) with the context of the request the event
	// belongs to (context.Background() for events of background work, such
	// as a store sweep), so that a tracer can attach the event to the
	// request's span. It must be fast and safe for concurrent use.
	OnEvent func(ctx context.Context, e Event)

	// Anomaly configures detection of a session used from another client
	// than the one that logged in. The zero value ignores such changes.
	Anomaly AnomalyPolicy

	// CrossOrigin configures the cross-origin protection that the
	// middleware applies to every unsafe request (POST, PUT, PATCH,
	// DELETE), with Go's [http.CrossOriginProtection]. The zero value
	// protects: see [CrossOriginConfig].
	CrossOrigin CrossOriginConfig
}

// CrossOriginConfig configures the protection against cross-site request
// forgery that [Manager.Handler] applies by default. A request with an unsafe
// method that the browser marks as cross-site (Sec-Fetch-Site), or whose
// Origin header names another host than the request's, is refused before the
// handler runs: the ErrorHandler gets an error wrapping [ErrCrossOrigin] (the
// default answers 403 Forbidden). Safe methods (GET, HEAD, OPTIONS) and
// requests without those headers (non-browser clients) pass. Forms still
// want a token as a second line of defence for old browsers: see package
// csrf. The zero value is the secure default.
type CrossOriginConfig struct {
	// TrustedOrigins are origins ("https://admin.example.com") allowed to
	// send unsafe requests besides the app's own.
	TrustedOrigins []string

	// Bypass, when set, exempts the requests for which it returns true
	// (a webhook authenticated by a signature, say). Use sparingly.
	Bypass func(r *http.Request) bool

	// Disable turns the protection off, for apps that check origins in
	// another layer. An API whose clients send the session in a header
	// (TokenHeader) is not exposed to CSRF, but the check does no harm
	// there either: browsers' cross-origin calls to such an API are
	// refused unless their origin is trusted.
	Disable bool
}

// CookieConfig configures the session cookie. Its zero value is the secure
// default.
type CookieConfig struct {
	// Name is the cookie name. Zero means "sid". When the cookie is Secure
	// and the name has no prefix, sesame prefixes it: "__Host-" when Domain
	// is empty and Path is "/", "__Secure-" otherwise, so the browser itself
	// refuses cookies tossed from sibling subdomains or plain HTTP.
	Name string

	// Domain is the cookie's Domain attribute. Empty (the default and the
	// safest) means the cookie goes back to the exact host only.
	Domain string

	// Path is the cookie's Path. Empty means "/".
	Path string

	// SameSite is the cookie's SameSite attribute. Zero means Lax.
	SameSite http.SameSite

	// Partitioned sets the Partitioned attribute (CHIPS), for sessions in
	// third-party iframes; it needs SameSite=None.
	Partitioned bool

	// AllowInsecureHTTP drops the Secure attribute (and with it the name
	// prefix) so the cookie works over plain HTTP. Use it only for local
	// development; a warning is logged at New.
	AllowInsecureHTTP bool
}

// A Manager loads and commits sessions. Create one with [New]; it is safe for
// concurrent use, and several managers with different cookie names can serve
// one app.
type Manager struct {
	store        store.Store
	local        bool             // the store's calls never block (localStore)
	client       store.ClientSide // the store keeps records in the client; nil if not
	shared       sharedLoader     // the store can load without copying
	flat         flat.Loader      // the store keeps flat records, read in place (memstore)
	cookieName   string
	cookie       cookies.Options
	cookieTmpl   *cookies.Template // the session cookie, validated once (nil with TokenHeader)
	tokenHeader  string
	idle         time.Duration
	lifetime     time.Duration
	persistent   bool
	touchAfter   time.Duration
	storeTimeout time.Duration
	errorHandler func(http.ResponseWriter, *http.Request, error)
	log          *slog.Logger
	onEvent      func(context.Context, Event)
	anomaly      AnomalyPolicy
	ctxKey       *contextKey
	onRegenerate []func(*Session)
	crossOrigin  *http.CrossOriginProtection // nil when disabled
	bypass       func(*http.Request) bool

	now func() time.Time // the clock; tests replace it
}

// New validates cfg and returns a Manager. Invalid cookie attributes (for
// example SameSite=None with AllowInsecureHTTP) are an error here, not at the
// first request.
func New(cfg Config) (*Manager, error) {
	m := &Manager{
		store:        cfg.Store,
		tokenHeader:  cfg.TokenHeader,
		idle:         cfg.IdleTimeout,
		lifetime:     cfg.Lifetime,
		persistent:   !cfg.ClearWithBrowser,
		storeTimeout: cfg.StoreTimeout,
		errorHandler: cfg.ErrorHandler,
		log:          cfg.Logger,
		onEvent:      cfg.OnEvent,
		anomaly:      cfg.Anomaly,
		ctxKey:       new(contextKey),
		now:          time.Now,
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.store == nil {
		ms, err := memstore.NewWithOptions(memstore.Options{Logger: m.log})
		if err != nil {
			return nil, err
		}
		m.store = ms
	}
	if ev := evictionsOf(m.store); ev != nil {
		ev.OnEvict(m.evicted)
	}
	if l, ok := m.store.(localStore); ok {
		m.local = l.Local()
	}
	if cs, ok := m.store.(store.ClientSide); ok && cs.ClientSide() {
		m.client = cs // loads go to the request's store: no shared or flat loads
	} else {
		m.shared, _ = m.store.(sharedLoader)
		m.flat = flatLoaderOf(m.store)
	}
	if m.idle == 0 {
		m.idle = DefaultIdleTimeout
	}
	if m.lifetime == 0 {
		m.lifetime = DefaultLifetime
	}
	if m.lifetime < 0 {
		return nil, errors.New("sesame: Lifetime must not be negative")
	}
	share := cfg.TouchShare
	if share == 0 {
		share = DefaultTouchShare
	}
	if share < 0 || share >= 1 {
		return nil, fmt.Errorf("sesame: TouchShare %v is not in [0, 1)", share)
	}
	if m.idle > 0 {
		m.touchAfter = time.Duration(float64(m.idle) * share)
	} else {
		m.touchAfter = time.Duration(float64(m.lifetime) * share)
	}
	if m.storeTimeout <= 0 {
		m.storeTimeout = DefaultStoreTimeout
	}
	if m.errorHandler == nil {
		m.errorHandler = DefaultErrorHandler
	}
	if err := m.anomaly.validate(); err != nil {
		return nil, err
	}
	if !cfg.CrossOrigin.Disable {
		m.crossOrigin = http.NewCrossOriginProtection()
		for _, o := range cfg.CrossOrigin.TrustedOrigins {
			if err := m.crossOrigin.AddTrustedOrigin(o); err != nil {
				return nil, fmt.Errorf("sesame: CrossOrigin.TrustedOrigins: %w", err)
			}
		}
		m.bypass = cfg.CrossOrigin.Bypass
	}

	c := cfg.Cookie
	m.cookie = cookies.Options{
		Domain:            c.Domain,
		Path:              c.Path,
		SameSite:          c.SameSite,
		Partitioned:       c.Partitioned,
		AllowInsecureHTTP: c.AllowInsecureHTTP,
	}
	if m.cookie.Path == "" {
		m.cookie.Path = "/"
	}
	name := c.Name
	if name == "" {
		name = DefaultCookieName
	}
	if !c.AllowInsecureHTTP && !hasPrefixFold(name, "__Host-") && !hasPrefixFold(name, "__Secure-") {
		if c.Domain == "" && m.cookie.Path == "/" {
			name = "__Host-" + name
		} else {
			name = "__Secure-" + name
		}
	}
	m.cookieName = name
	if m.tokenHeader == "" {
		// Validate the name and attributes once, so a bad combination
		// fails here rather than on the first response, and every session
		// cookie is written from them without validating again.
		tmpl, err := m.cookie.Template(m.cookieName)
		if err != nil {
			return nil, fmt.Errorf("sesame: session cookie: %w", err)
		}
		m.cookieTmpl = tmpl
	}
	if c.AllowInsecureHTTP {
		m.log.Warn("sesame: session cookie sent without Secure (AllowInsecureHTTP); use only for local development",
			"cookie", m.cookieName)
	}
	return m, nil
}

// evictionReporter is a store that may evict live sessions to stay within
// its bounds and reports it (memstore).
type evictionReporter interface {
	OnEvict(fn func(ctx context.Context, n int))
}

// evictionsOf returns st, or the store it wraps (following Unwrap, as
// store.Wrap's stores have it), that reports evictions, or nil.
func evictionsOf(st store.Store) evictionReporter {
	for range 16 { // wrappers of wrappers, but never a cycle
		if ev, ok := st.(evictionReporter); ok {
			return ev
		}
		u, ok := st.(interface{ Unwrap() store.Store })
		if !ok {
			return nil
		}
		st = u.Unwrap()
	}
	return nil
}

// evicted reports n sessions the store evicted, during the write of the
// request whose context is ctx.
func (m *Manager) evicted(ctx context.Context, n int) {
	m.emit(ctx, Event{Kind: EventEvicted, Count: n})
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// CookieName returns the session cookie's name, with the prefix sesame added.
func (m *Manager) CookieName() string { return m.cookieName }

// Store returns the manager's store.
func (m *Manager) Store() store.Store { return m.store }

// IdleTimeout returns the effective idle timeout (negative: none).
func (m *Manager) IdleTimeout() time.Duration { return m.idle }

// Lifetime returns the effective absolute lifetime.
func (m *Manager) Lifetime() time.Duration { return m.lifetime }

// OnRegenerate registers fn to run whenever a session of this manager is
// regenerated, after the new ID is chosen and before the handler goes on. The
// csrf package uses it to rotate its token. It is not safe to call while the
// manager serves requests.
func (m *Manager) OnRegenerate(fn func(*Session)) { m.onRegenerate = append(m.onRegenerate, fn) }

// Ping does one real round trip to the store (loading a key that does not
// exist) and returns its error, wrapping ErrStoreUnavailable. Use it for
// health checks; see also [Manager.ReadyHandler].
func (m *Manager) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.storeTimeout)
	defer cancel()
	if _, _, err := m.store.Load(ctx, store.Key("sesame-ping")); err != nil {
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	return nil
}

// ReadyHandler returns an HTTP handler for readiness probes: 200 "ok" when
// [Manager.Ping] succeeds, 503 "store unavailable" when it fails. The
// reason (which may name hosts or carry the driver's message) is logged at
// Error, never written to the unauthenticated probe.
func (m *Manager) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := m.Ping(r.Context()); err != nil {
			m.log.LogAttrs(r.Context(), slog.LevelError, "sesame: readiness probe: store unavailable",
				slog.String("error", err.Error()))
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "store unavailable")
			return
		}
		fmt.Fprintln(w, "ok")
	})
}

// DefaultErrorHandler is the error handler a [Config] without one gets: it
// answers [StatusCode] (503 Service Unavailable for store failures and lock
// timeouts, 403 Forbidden for refused forgeries, 500 Internal Server Error for
// anything else) as plain text that reveals no detail, with "Cache-Control:
// no-store". Custom handlers may call it for the errors they do not render
// themselves.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	code := StatusCode(err)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(code), code)
}

// StatusCode returns the HTTP status that fits err, an error sesame or one of
// its packages reported: 503 Service Unavailable for [ErrStoreUnavailable]
// and [ErrLockTimeout] (try again later), 403 Forbidden for [ErrForbidden]
// (a cross-origin request, a missing or bad CSRF token), and 500 Internal
// Server Error for anything else. Error handlers that render their own
// format (JSON, a framework's error page) use it to answer with the same
// status as [DefaultErrorHandler].
func StatusCode(err error) int {
	switch {
	case errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrLockTimeout):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// Error writes the response for err with the manager's error handler
// ([Config.ErrorHandler], or [DefaultErrorHandler]). The csrf package
// answers its refusals with it unless given a handler of its own, so one
// handler renders store outages, cross-origin refusals and CSRF token
// failures alike; use it too for the errors of [Manager.Load] and
// [Manager.Save]. It is safe for concurrent use.
func (m *Manager) Error(w http.ResponseWriter, r *http.Request, err error) {
	m.errorHandler(w, r, err)
}
