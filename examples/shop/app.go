package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/admin"
	"github.com/sesamego/sesame/cookies"
	"github.com/sesamego/sesame/csrf"
	"github.com/sesamego/sesame/remember"
	"github.com/sesamego/sesame/seal"
	"github.com/sesamego/sesame/secureheaders"
	"github.com/sesamego/sesame/store"
)

// Cookie names. The session cookie is "sid", which sesame turns into
// "__Host-sid" when cookies are Secure.
const (
	sessionCookie    = "sid"
	rememberCookie   = "remember"
	cartCookie       = "cart"
	themeCookie      = "theme"
	visitsCookie     = "visits"
	firstVisitCookie = "first_visit"
	lastVisitCookie  = "last_visit"
)

// Session keys. Keys starting with "__" are sesame's own.
const (
	pageViewsKey = "page_views"
	recentKey    = "recent"    // the last pages viewed, appended with Push
	ordersKey    = "orders"    // how many orders this session placed
	placedKey    = "placed"    // their numbers, so that a guest may see them
	cartPrefix   = "cart."     // + SKU: quantity, one key per line
	checkoutKey  = "checkout." // + field: the checkout wizard's input
	stepKey      = checkoutKey + "step"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// appConfig is everything newApp needs. Tests fill it directly; main fills
// it from flags.
type appConfig struct {
	// Store holds the sessions. Required.
	Store store.Store
	// Tokens holds the remember-me tokens. Required.
	Tokens store.TokenStore
	// Keyring signs the visits cookie. Required.
	Keyring *seal.Keyring
	// Dev serves cookies without Secure, for plain-HTTP development, and
	// turns on the /debug page. False (the default) is for production.
	Dev bool
	// Logger receives the app's and sesame's logs. Nil means slog.Default().
	Logger *slog.Logger
	// BcryptCost hashes the demo passwords. Zero means bcrypt.DefaultCost;
	// tests use bcrypt.MinCost.
	BcryptCost int
	// Now is the clock of the analytics cookies. Nil means time.Now.
	Now func() time.Time

	// Met, when set, records metrics: sesame's session events, store calls,
	// CSRF failures and remember-me thefts (a *metrics.Metrics, in a build
	// with -tags metrics: see metrics_on.go). A nil Met records nothing.
	Met observer
	// Metrics, when set, is served at GET /metrics.
	Metrics http.Handler
	// StoreName names the session store on the admin dashboard. Empty
	// means its Go type.
	StoreName string
}

// observer records the shop's metrics. *metrics.Metrics (package
// github.com/sesamego/sesame/metrics) implements it; the default build leaves
// Prometheus out (see metrics_off.go), and noMetrics stands in.
type observer interface {
	// Observe records a session event (sesame.Config.OnEvent).
	Observe(ctx context.Context, e sesame.Event)
	// ErrorHandler and CSRFErrorHandler count failures and pass them on
	// to next.
	ErrorHandler(next func(http.ResponseWriter, *http.Request, error)) func(http.ResponseWriter, *http.Request, error)
	CSRFErrorHandler(next func(http.ResponseWriter, *http.Request, error)) func(http.ResponseWriter, *http.Request, error)
	// OnRememberTheft counts stolen remember-me tokens.
	OnRememberTheft(ctx context.Context, userID string)
	// Handler measures the Cookie headers of the requests to next.
	Handler(next http.Handler) http.Handler
}

// noMetrics records nothing.
type noMetrics struct{}

func (noMetrics) Observe(context.Context, sesame.Event) {}
func (noMetrics) ErrorHandler(next func(http.ResponseWriter, *http.Request, error)) func(http.ResponseWriter, *http.Request, error) {
	return next
}
func (noMetrics) CSRFErrorHandler(next func(http.ResponseWriter, *http.Request, error)) func(http.ResponseWriter, *http.Request, error) {
	return next
}
func (noMetrics) OnRememberTheft(context.Context, string) {}
func (noMetrics) Handler(next http.Handler) http.Handler  { return next }

// app is the demo shop: an http.Handler. It is safe for concurrent use.
type app struct {
	cfg      appConfig
	log      *slog.Logger
	now      func() time.Time
	sessions *sesame.Manager
	remember *remember.Manager
	csrf     *csrf.Protector
	// refused answers requests that the origin check (sesame's middleware)
	// or csrf refuses.
	refused func(http.ResponseWriter, *http.Request, error)
	visits  *cookies.Jar // signs the visits counter
	users   *userDB
	orders  *orderBook
	// signedOut remembers the sessions ended by "log out all other
	// devices" or by an administrator, to tell them why on their next
	// request.
	signedOut *signedOutSessions
	// events feeds the admin dashboard's charts, latency and anomalies;
	// dashboard is the dashboard, at /admin/ for administrators.
	events    *admin.Recorder
	dashboard http.Handler
	pages     map[string]*template.Template
	handler   http.Handler

	// prefOpts are the attributes of the cookies that scripts may read
	// (theme, language, cart, first and last visit).
	prefOpts cookies.Options
}

// Lifetimes.
const (
	year          = 365 * 24 * time.Hour
	cartLifetime  = 30 * 24 * time.Hour
	visitGap      = 30 * time.Minute // a page view after this much quiet starts a new visit
	idleTimeout   = 2 * time.Hour
	lifetime      = 24 * time.Hour
	rememberFor   = 30 * 24 * time.Hour
	storeDeadline = 5 * time.Second
)

// newApp builds the shop on cfg.
func newApp(cfg appConfig) (*app, error) {
	if cfg.Store == nil || cfg.Tokens == nil || cfg.Keyring == nil {
		return nil, errors.New("shop: appConfig needs Store, Tokens and Keyring")
	}
	if cfg.Met == nil {
		cfg.Met = noMetrics{}
	}
	a := &app{cfg: cfg, log: cfg.Logger, now: cfg.Now, orders: newOrderBook(), signedOut: newSignedOutSessions(lifetime),
		events: admin.NewRecorder()}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	var err error
	if a.users, err = newUserDB(cfg.BcryptCost); err != nil {
		return nil, err
	}
	if a.pages, err = parsePages(); err != nil {
		return nil, err
	}

	a.sessions, err = sesame.New(sesame.Config{
		Store: cfg.Store,
		Cookie: sesame.CookieConfig{
			Name:              sessionCookie,
			AllowInsecureHTTP: cfg.Dev,
		},
		IdleTimeout: idleTimeout,
		Lifetime:    lifetime,
		// The session cookie dies with the browser; "remember me" is what
		// brings a user back after that.
		ClearWithBrowser: true,
		StoreTimeout:     storeDeadline,
		Logger:           a.log,
		OnEvent: func(ctx context.Context, e sesame.Event) {
			cfg.Met.Observe(ctx, e)
			a.events.Observe(ctx, e)
		},
		ErrorHandler: cfg.Met.ErrorHandler(a.sessionError),
		// Flag a session used from another network or browser than the one
		// that logged in: the page shows a warning.
		Anomaly: sesame.AnomalyPolicy{Action: sesame.AnomalyFlag},
	})
	if err != nil {
		return nil, err
	}
	a.remember, err = remember.New(remember.Config{
		Tokens:     cfg.Tokens,
		Sessions:   a.sessions,
		CookieName: rememberCookie,
		Cookie:     cookies.Options{AllowInsecureHTTP: cfg.Dev},
		MaxAge:     rememberFor,
		Logger:     a.log,
		OnTheft:    cfg.Met.OnRememberTheft,
	})
	if err != nil {
		return nil, err
	}
	a.refused = cfg.Met.CSRFErrorHandler(a.csrfError)
	a.csrf, err = csrf.New(csrf.Config{
		Sessions:     a.sessions,
		ErrorHandler: a.refused,
		// Guests have no token: see routes. A store failure goes through
		// the check, which answers 503.
		Skip: func(r *http.Request) bool {
			s := sesame.From(r)
			return s.Err() == nil && s.UserID() == ""
		},
	})
	if err != nil {
		return nil, err
	}
	a.dashboard, err = admin.New(a.sessions, admin.Options{
		Authorize: a.authorizeAdmin,
		StoreName: cfg.StoreName,
		Recorder:  a.events,
		Remember:  a.remember,
		Logger:    a.log,
		// An operator may read these; the checkout's name and address,
		// and everything else, stay hidden.
		ShowValues: []string{cartPrefix + "*", pageViewsKey, ordersKey, placedKey, stepKey},
		OnRevoke: func(_ context.Context, r admin.Revocation) {
			a.signedOut.add(a.now(), signedOutByAdmin, r.Hashes...)
		},
	})
	if err != nil {
		return nil, err
	}
	a.visits = cookies.NewJar(cfg.Keyring, cookies.Options{MaxAge: year, AllowInsecureHTTP: cfg.Dev})
	a.prefOpts = cookies.Options{ScriptReadable: true, AllowInsecureHTTP: cfg.Dev}

	a.handler, err = a.routes()
	if err != nil {
		return nil, err
	}
	return a, nil
}

// ServeHTTP serves the shop.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// routes builds the handler tree. From the outside in:
//
//  1. secureheaders: every response, errors included, carries the CSP (with
//     the per-request nonce the templates use), nosniff, Referrer-Policy and
//     frame-ancestors 'none'.
//  2. A mux for what needs no session: static files, /healthz and /metrics.
//     They never touch the store, even when the request carries a
//     remember-me cookie.
//  3. sessions (sesame): every other request gets a lazy session, committed
//     before the response's first byte.
//  4. For the checkout's POSTs only, sesame's per-session lock (see
//     isCheckoutPost).
//  5. remember: a request whose session has no user but carries a valid
//     remember-me cookie is logged in (new session ID, user set) before
//     anything below looks at the user. It needs the session, so it runs
//     inside 3.
//  6. signedOut: a browser whose session was ended from another device
//     ("log out all other devices") or by an administrator (the dashboard
//     at /admin/) is told so, with a flash.
//  7. Forgery protection, in two layers. Every unsafe request must come
//     from this origin, guests included: sesame's middleware (3) checks it
//     first of all with http.CrossOriginProtection (browsers say where a
//     request comes from in Sec-Fetch-Site or Origin) and loads no session
//     for a refused one; a form body too large to parse is refused
//     (readForms). Then a logged-in user's
//     requests must also carry the session's token (csrf). Guests get no
//     token: a token lives in the session, and a guest who only browses
//     has none (no store record for crawlers and window shoppers). What a
//     guest can do without a session (add to the cart cookie, log in, pick
//     a theme) is protected by the origin check, which every current
//     browser supports; the token is the second layer for the state worth
//     stealing, an account's. csrf runs after remember, so that the token
//     it checks and the token pages render are those of the final session
//     (logging in rotates the token), and inside sessions, where the token
//     lives.
//  8. The app's routes, the admin dashboard (package admin, for alice) at
//     /admin/; anything else is the styled 404 page.
//
// Around everything, the dashboard's Recorder measures Cookie headers.
func (a *app) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.loginPage)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /cart", a.cartPage)
	mux.HandleFunc("POST /cart/add", a.cartAdd)
	mux.HandleFunc("POST /cart/remove", a.cartRemove)
	mux.HandleFunc("GET /checkout", a.checkoutStart)
	mux.HandleFunc("GET /checkout/{step}", a.checkoutPage)
	mux.HandleFunc("POST /checkout/{step}", a.checkoutSubmit)
	mux.HandleFunc("POST /preferences", a.preferences)
	mux.HandleFunc("GET /devices", a.devicesPage)
	mux.HandleFunc("POST /devices/logout-others", a.logoutOthers)
	mux.HandleFunc("GET /orders", a.ordersPage)
	mux.HandleFunc("GET /orders/{number}", a.orderPage)
	mux.HandleFunc("GET /state", a.statePage)
	mux.Handle("/admin/", a.dashboard)
	mux.HandleFunc("GET /api/state", a.apiState)
	if a.cfg.Dev {
		mux.HandleFunc("GET /debug", a.debugPage)
	}
	mux.HandleFunc("/", a.notFound)

	inner := a.readForms(a.signedOutNotice(a.remember.Handler(a.csrf.Handler(mux))))
	// The checkout's POSTs read several keys and write back (placing the
	// order empties the cart), so they run under the session's lock: a
	// double click cannot place two orders. The lock must be taken before
	// anything loads the session, so it goes outside remember and csrf
	// (csrf loads the session of every POST to check its token).
	lock, err := a.sessions.Lock(sesame.LockOptions{}) // waits up to 10 s
	switch {
	case err == nil:
		inner = lockWhen(isCheckoutPost, lock, inner)
	case errors.Is(err, sesame.ErrNotSupported):
		a.log.Warn("shop: the session store cannot lock sessions; checkout runs unlocked", "error", err)
	default:
		return nil, err
	}
	// Bodies are bounded: the app's forms are a few hundred bytes, and a
	// huge one then parses as empty and fails the CSRF check.
	withSessions := http.MaxBytesHandler(a.sessions.Handler(inner), maxBody)

	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	outer := http.NewServeMux()
	outer.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	outer.Handle("GET /healthz", a.sessions.ReadyHandler())
	if a.cfg.Metrics != nil {
		outer.Handle("GET /metrics", a.cfg.Metrics)
	}
	outer.Handle("/", withSessions)

	return secureheaders.Handler(secureheaders.Config{HSTS: !a.cfg.Dev})(a.events.Handler(outer)), nil
}

// authorizeAdmin lets administrators into the dashboard, named by their
// email in its logs.
func (a *app) authorizeAdmin(r *http.Request) (string, bool) {
	u := a.currentUser(r)
	if u == nil || !u.Admin {
		return "", false
	}
	return u.Email, true
}

// readForms refuses form bodies that cannot be parsed, such as one over
// maxBody (413), before anything acts on them. (Unsafe requests from other
// origins never get here: the session middleware refuses them.)
func (a *app) readForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			// Parsed here, whatever the encoding (a script's FormData is
			// multipart), so that a body too large is refused before
			// anything acts on it: PostFormValue would see an empty form.
			parse := r.ParseForm
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
				parse = func() error { return r.ParseMultipartForm(maxBody) }
			}
			if err := parse(); err != nil {
				a.log.Info("shop: unreadable form", "path", r.URL.Path, "error", err)
				w.Header().Set("Cache-Control", "no-store")
				http.Error(w, "This form could not be read (too large?).", http.StatusRequestEntityTooLarge)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// maxBody bounds request bodies.
const maxBody = 64 << 10

// isCheckoutPost reports whether r submits a checkout step.
func isCheckoutPost(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/checkout/")
}

// lockWhen runs the requests for which match returns true through lock.
func lockWhen(match func(*http.Request) bool, lock func(http.Handler) http.Handler, next http.Handler) http.Handler {
	locked := lock(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if match(r) {
			locked.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cacheFor lets browsers cache static files for d.
func cacheFor(d time.Duration, h http.Handler) http.Handler {
	v := fmt.Sprintf("public, max-age=%d", int(d.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", v)
		h.ServeHTTP(w, r)
	})
}

// csrfError answers a request that failed the CSRF check: 403 with a short
// explanation (503 when the session store is down), and a log line with the
// reason.
func (a *app) csrfError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := http.StatusForbidden, "This form has expired or was sent from another site. Go back, reload the page and try again."
	if errors.Is(err, sesame.ErrStoreUnavailable) {
		code, msg = http.StatusServiceUnavailable, "The session store is unavailable. Try again in a moment."
	}
	a.log.Info("shop: request refused by CSRF protection", "path", r.URL.Path, "reason", err)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, code)
}

// sessionError answers the errors of the session middleware: a refused
// cross-origin request gets the same page as a CSRF refusal, anything else
// sesame's default answer.
func (a *app) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, sesame.ErrCrossOrigin) {
		a.csrfError(w, r, err)
		return
	}
	sesame.DefaultErrorHandler(w, r, err)
}

// serverError logs err and answers 503 for store failures, 500 otherwise.
func (a *app) serverError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, sesame.ErrStoreUnavailable) || errors.Is(err, sesame.ErrLockTimeout) {
		code = http.StatusServiceUnavailable
	}
	a.log.Error("shop: request failed", "path", r.URL.Path, "error", err)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(code), code)
}

// redirect answers 303 See Other: the POST-redirect-GET pattern, so a reload
// never posts a form twice.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
