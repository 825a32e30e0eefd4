package admin

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/csrf"
	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/remember"
	"github.com/sesamego/sesame/store"
)

// Defaults for [Options].
const (
	DefaultPath            = "/admin"
	DefaultRefreshInterval = 30 * time.Second
	DefaultPageSize        = 50
	DefaultMaxIndexed      = 1_000_000
)

// Options configures the dashboard. Only Authorize is required.
type Options struct {
	// Authorize decides who may use the dashboard. It returns the name of
	// the operator, which every action is logged with, and whether the
	// request may go on. A request it refuses, or for which it returns an
	// empty name, gets 403 Forbidden. Required: there is no default that
	// lets anyone in.
	Authorize func(r *http.Request) (who string, ok bool)

	// Path is where the handler is mounted, without a trailing slash: it
	// serves Path and everything under it, and links to its pages from
	// there. Mount it at Path + "/" on a mux, without http.StripPrefix.
	// Empty means "/admin".
	Path string

	// StoreName names the store on the pages and in the logs
	// ("sessions on Redis", say). Empty means the store's Go type.
	StoreName string

	// ShowValues lists the session keys whose values the session page
	// shows; every other value is hidden, shown only by its size. An entry
	// ending in "*" matches the keys that start with what precedes it
	// ("cart.*"). Keys reserved by sesame (starting with "__": the CSRF
	// token, flash messages, the remember-me selector) are never shown, and
	// naming one is an error. Nil shows no value.
	ShowValues []string

	// Remember, when set, is the app's remember-me manager: revoking a
	// session also revokes the remember-me token it was logged in with
	// (recorded by package remember in the session), and "log out
	// everywhere" revokes all of the user's tokens. Nil leaves tokens
	// alone, and a revoked browser with a token logs straight back in.
	Remember *remember.Manager

	// Recorder supplies the overview's charts, store latency, anomalies and
	// cookie-size warnings; give the same Recorder's Observe to
	// sesame.Config.OnEvent. Nil means the overview shows only counts and
	// store health.
	Recorder *Recorder

	// Logger receives a line for every action (at Info, with the
	// operator's name), every refused request (at Warn) and every store
	// failure. Nil means slog.Default().
	Logger *slog.Logger

	// OnRevoke, when set, is called after sessions were ended from the
	// dashboard, so that the app can tell their users why on their next
	// request ("You were signed out by an administrator"): the Revocation
	// carries the store keys (hashes) of the sessions ended, which the app
	// can compare with store.Key of a request's session cookie. It runs on
	// the action's request and should be quick.
	OnRevoke func(ctx context.Context, r Revocation)

	// RefreshInterval is how old the dashboard's index of the store may
	// get before a page view rebuilds it in the background (see the
	// package documentation, "The index"). Zero means 30 seconds.
	RefreshInterval time.Duration

	// PageSize is the number of rows on a page of the sessions and users
	// lists. Zero means 50.
	PageSize int

	// MaxIndexed bounds the sessions the index holds (about 100 bytes
	// each); past it, the overview still counts every session but the
	// lists page through the first ones listed. Zero means 1,000,000.
	MaxIndexed int
}

// A Revocation describes sessions ended from the dashboard, for
// [Options.OnRevoke].
type Revocation struct {
	// Who is the operator, as Options.Authorize named them.
	Who string
	// UserID is the user whose sessions ended, or "" for a session without
	// a user.
	UserID string
	// Hashes are the store keys (store.Key of the session ID) of the
	// sessions ended, as far as the dashboard knows them: for "log out
	// everywhere" on a store that cannot list a user's sessions it may be
	// empty.
	Hashes []string
	// Everywhere is true for "log out everywhere": every session of the
	// user and every remember-me token.
	Everywhere bool
	// Tokens is the number of remember-me tokens revoked.
	Tokens int
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// csp is the Content-Security-Policy the dashboard adds to its responses,
// on top of the app's (browsers enforce every policy they receive): no
// script at all, styles from the dashboard's own stylesheet only.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// storeTimeout bounds each store call of a page or an action.
const storeTimeout = 5 * time.Second

// indexTimeout bounds one build of the index.
const indexTimeout = 10 * time.Minute

// handler is the dashboard.
type handler struct {
	m        *sesame.Manager
	o        Options
	st       store.Store
	kind     string
	lister   store.Lister
	users    store.UserIndex
	client   bool // the store keeps sessions in the browsers' cookies
	scans    bool // the store's user lookup reads every record
	idx      *index
	rec      *Recorder
	log      *slog.Logger
	now      func() time.Time
	protect  http.Handler
	pages    map[string]*template.Template
	css      []byte
	show     valueFilter
	waitIdx  time.Duration // how long a page waits for an index build it started
	pageSize int
}

// whoKey carries the operator's name in a request's context.
type whoKey struct{}

// New returns the dashboard for the sessions of m, to mount at opts.Path
// inside m's middleware (m.Handler), which the dashboard needs for its CSRF
// token:
//
//	mux.Handle("/admin/", dash) // and serve mux through m.Handler
//
// It fails when opts.Authorize is nil or another option is invalid. It
// registers a hook on m (for its CSRF token, see package csrf), so call it
// before m serves requests. The handler is safe for concurrent use; it
// starts a goroutine only to build its index, on a page view that needs
// one, and that goroutine ends with the build.
func New(m *sesame.Manager, opts Options) (http.Handler, error) {
	if m == nil {
		return nil, errors.New("admin: New needs a session manager")
	}
	if opts.Authorize == nil {
		return nil, errors.New("admin: Options.Authorize is required (there is no default that lets anyone in)")
	}
	path, err := cleanPath(opts.Path)
	if err != nil {
		return nil, err
	}
	opts.Path = path
	if opts.RefreshInterval < 0 || opts.PageSize < 0 || opts.MaxIndexed < 0 {
		return nil, errors.New("admin: negative RefreshInterval, PageSize or MaxIndexed")
	}
	if opts.RefreshInterval == 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.PageSize == 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.MaxIndexed == 0 {
		opts.MaxIndexed = DefaultMaxIndexed
	}
	show, err := newValueFilter(opts.ShowValues)
	if err != nil {
		return nil, err
	}
	h := &handler{
		m:        m,
		o:        opts,
		st:       m.Store(),
		rec:      opts.Recorder,
		log:      opts.Logger,
		now:      time.Now,
		show:     show,
		waitIdx:  250 * time.Millisecond,
		pageSize: opts.PageSize,
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.kind = storeKind(h.st)
	if h.o.StoreName == "" {
		h.o.StoreName = h.kind
	}
	h.users, _ = h.st.(store.UserIndex)
	if cs, ok := h.st.(interface{ ClientSide() bool }); ok && cs.ClientSide() {
		h.client = true
		h.users = nil // its UserSessions lists nothing: the sessions are in the browsers
	}
	h.scans = scansForUsers(h.st)
	if l, ok := h.st.(store.Lister); ok && !h.client {
		h.lister = l
		h.idx = &index{
			lister:  l,
			maxAge:  opts.RefreshInterval,
			max:     opts.MaxIndexed,
			timeout: indexTimeout,
			now:     func() time.Time { return h.now() },
			ends:    h.ends,
		}
		if h.rec != nil {
			h.idx.onBuilt = h.rec.forgetBefore
		}
	}
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if h.css, err = fs.ReadFile(staticFS, "static/admin.css"); err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	protector, err := csrf.New(csrf.Config{Sessions: m, ErrorHandler: h.refused})
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	h.protect = protector.Handler(h.routes())
	return h, nil
}

// cleanPath checks Options.Path.
func cleanPath(p string) (string, error) {
	if p == "" {
		return DefaultPath, nil
	}
	p = strings.TrimRight(p, "/")
	if p == "" || p[0] != '/' {
		return "", fmt.Errorf("admin: Options.Path %q must start with a slash and name a folder", p)
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/-_.~", c)) {
			return "", fmt.Errorf("admin: Options.Path %q: only letters, digits, and / - _ . ~", p)
		}
	}
	if strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..") {
		return "", fmt.Errorf("admin: Options.Path %q is not a clean path", p)
	}
	return p, nil
}

// storeKind names the store's Go type, as "memstore.Store".
func storeKind(st store.Store) string {
	t := reflect.TypeOf(st)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pkg := t.PkgPath()
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg == "" {
		return t.String()
	}
	return pkg + "." + t.Name()
}

// scansForUsers reports whether the store's user lookup reads every record:
// the file store's does, so that the dashboard looks users up in its own
// index instead. Wrappers that have an Unwrap method are seen through.
func scansForUsers(st store.Store) bool {
	for range 8 {
		if _, ok := st.(*filestore.Store); ok {
			return true
		}
		u, ok := st.(interface{ Unwrap() store.Store })
		if !ok {
			return false
		}
		st = u.Unwrap()
	}
	return false
}

// ends returns when the session of rec ends: at its absolute lifetime, or
// after the idle timeout since it was last seen, whichever comes first, as
// the manager decides it; never after the store's expiry.
func (h *handler) ends(rec store.Record) time.Time {
	end := rec.Created.Add(h.m.Lifetime())
	if idle := h.m.IdleTimeout(); idle > 0 {
		if t := rec.LastSeen.Add(idle); t.Before(end) {
			end = t
		}
	}
	if !rec.Expires.IsZero() && rec.Expires.Before(end) {
		end = rec.Expires
	}
	return end
}

// ServeHTTP serves the dashboard: the caller must be authorized, and every
// unsafe request must pass the CSRF check.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.o.Path && !strings.HasPrefix(r.URL.Path, h.o.Path+"/") {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Add("Content-Security-Policy", csp)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "same-origin")
	who, ok := h.o.Authorize(r)
	if !ok || who == "" {
		h.log.WarnContext(r.Context(), "admin: request refused: not authorized",
			"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	if h.m.Session(r) == nil {
		h.log.ErrorContext(r.Context(), "admin: the dashboard must be served inside the session manager's Handler")
		http.Error(w, "The dashboard is not mounted inside the session middleware.", http.StatusInternalServerError)
		return
	}
	h.protect.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), whoKey{}, who)))
}

// refused answers a request that failed the CSRF check.
func (h *handler) refused(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := http.StatusForbidden, "Forbidden: this form has expired or was sent from another site. Go back, reload the page and try again."
	if errors.Is(err, sesame.ErrStoreUnavailable) {
		code, msg = http.StatusServiceUnavailable, "The session store is unavailable."
	}
	h.log.WarnContext(r.Context(), "admin: action refused by CSRF protection",
		"who", who(r), "method", r.Method, "path", r.URL.Path, "reason", err)
	http.Error(w, msg, code)
}

// who returns the operator of an authorized request.
func who(r *http.Request) string {
	s, _ := r.Context().Value(whoKey{}).(string)
	return s
}

// routes returns the dashboard's mux.
func (h *handler) routes() http.Handler {
	p := h.o.Path
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET "+p+"/{$}", h.overview)
	mux.HandleFunc("GET "+p+"/sessions", h.sessionsPage)
	mux.HandleFunc("GET "+p+"/sessions/{hash}", h.sessionPage)
	mux.HandleFunc("POST "+p+"/sessions/{hash}/revoke", h.revoke)
	mux.HandleFunc("GET "+p+"/users", h.usersPage)
	mux.HandleFunc("POST "+p+"/users/logout", h.logoutEverywhere)
	mux.HandleFunc("GET "+p+"/admin.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(h.css)
	})
	mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		h.notFound(w, r, "There is no such page.")
	})
	return mux
}

// valueFilter says which session values the session page shows.
type valueFilter struct {
	exact    map[string]bool
	prefixes []string
}

func newValueFilter(keys []string) (valueFilter, error) {
	f := valueFilter{exact: map[string]bool{}}
	for _, k := range keys {
		if k == "" || k == "*" {
			return f, fmt.Errorf("admin: Options.ShowValues: %q would show every value; list the keys", k)
		}
		if strings.HasPrefix(k, "__") {
			return f, fmt.Errorf("admin: Options.ShowValues: %q is reserved by sesame and never shown", k)
		}
		if i := strings.IndexByte(k, '*'); i >= 0 && i != len(k)-1 {
			return f, fmt.Errorf("admin: Options.ShowValues: %q: '*' may only end an entry", k)
		}
		if p, ok := strings.CutSuffix(k, "*"); ok {
			f.prefixes = append(f.prefixes, p)
		} else {
			f.exact[k] = true
		}
	}
	return f, nil
}

// shows reports whether the value of key may be shown.
func (f valueFilter) shows(key string) bool {
	if strings.HasPrefix(key, "__") {
		return false
	}
	if f.exact[key] {
		return true
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// isRemembered reports whether a stored session was logged in with a
// remember-me token (package remember records its selector).
func isRemembered(values map[string][]byte) bool {
	_, ok := values[remember.SessionKey]
	return ok
}
