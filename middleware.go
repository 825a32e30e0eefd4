package sesame

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sesamego/sesame/cookies"
	"github.com/sesamego/sesame/store"
)

// Handler returns middleware that gives every request a lazy [Session] (read
// it with [From]) and commits the session's changes before the first byte of
// the response. It is safe for concurrent use.
//
// It first refuses unsafe requests (POST, PUT, PATCH, DELETE) from other
// origins, unless [Config.CrossOrigin] turns that off: see
// [CrossOriginConfig].
//
// The store is read on the session's first use, not before; a request that
// never touches its session does no store I/O and gets no Set-Cookie. When the
// session cannot be loaded or committed, the handler's response is replaced
// by the manager's ErrorHandler (503 by default) and nothing is stored.
//
// Responses that set or clear the session cookie get "Cache-Control:
// no-store" (unless the handler set its own Cache-Control) and every response
// whose session was read gets "Vary: Cookie". The wrapped ResponseWriter keeps
// [http.ResponseController], [http.Flusher], [http.Hijacker] and
// [io.ReaderFrom] working; flushing or hijacking commits the session first.
//
// The handler must write its response through the ResponseWriter it is
// given. One that writes around it (a framework adapter that hands on the
// request but not the writer) keeps the changes to a stored session, but a
// new session, a Regenerate or a Destroy then cannot send its cookie: when
// the writer Handler was given reports that the response began (a
// framework's writer with a Written() bool method, as gin's has), nothing
// of such a change is stored and it is logged at Error and emitted as an
// [EventUncommitted] with reason "written-around", never silently lost.
// Servers whose handlers cannot run inside Handler use [Manager.Load] and
// [Manager.Save] instead.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return &middleware{m: m, next: next}
}

// middleware is the handler that [Manager.Handler] returns. It is a named
// type rather than a closure so that its ServeHTTP is compiled in this
// package, where r.WithContext is inlined and its copy of the request can
// share the request state's allocation (a closure inlined into the caller's
// package was compiled there without it).
type middleware struct {
	m    *Manager
	next http.Handler
}

func (h *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.m
	if err := m.checkOrigin(r); err != nil {
		w.Header().Add("Vary", "Origin")
		m.errorHandler(w, r, err)
		return
	}
	// One allocation holds the writer, the context and the request copy;
	// the Session itself is allocated on the request's first From.
	st := &requestState{}
	r = st.begin(m, w, r)
	st.w = sessionWriter{w: w, ctx: &st.ctx}
	h.next.ServeHTTP(&st.w, r)
	st.w.finish()
}

// checkOrigin applies the cross-origin protection to r: nil, or an error
// wrapping ErrCrossOrigin.
func (m *Manager) checkOrigin(r *http.Request) error {
	if m.crossOrigin != nil && !safeMethod(r.Method) && (m.bypass == nil || !m.bypass(r)) {
		if err := m.crossOrigin.Check(r); err != nil {
			return fmt.Errorf("%w: %w", ErrCrossOrigin, err)
		}
	}
	return nil
}

// safeMethod reports whether method is one that must not change state, which
// the cross-origin check lets through without looking.
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

type requestState struct {
	w   sessionWriter
	ctx sessionContext
	req http.Request // the request that carries ctx
}

// begin gives r a lazy session of m, whose client-side store (if any)
// writes to w, and returns the request that carries it. Handler and Load
// both start here.
func (st *requestState) begin(m *Manager, w http.ResponseWriter, r *http.Request) *http.Request {
	st.ctx = sessionContext{Context: r.Context(), m: m}
	// WithContext is inlined: its copy of r does not escape, and is copied
	// into st, which saves the request its own allocation.
	st.req = *r.WithContext(&st.ctx)
	r = &st.req
	st.ctx.r = r
	st.ctx.out, _ = w.(*headerWriter)
	if m.client != nil {
		st.ctx.store = m.client.ForRequest(w, r)
	}
	return r
}

// sessionContext answers both the manager's key and the "last session" key
// without two context.WithValue allocations. Its Done channel is its
// parent's, so derived contexts do not need a propagation goroutine.
type sessionContext struct {
	context.Context
	m     *Manager
	r     *http.Request // the request that carries this context
	s     atomic.Pointer[Session]
	store store.Store   // the request's store, for client-side stores (store.ClientSide)
	out   *headerWriter // the writer of a request that Load prepared; nil in Handler
}

// session returns the request's Session, allocating it on first use, so
// that requests that never touch their session do not pay for one.
func (c *sessionContext) session() *Session {
	if s := c.s.Load(); s != nil {
		return s
	}
	s := &Session{m: c.m, r: c.r}
	if c.s.CompareAndSwap(nil, s) {
		return s
	}
	return c.s.Load()
}

func (c *sessionContext) Value(key any) any {
	switch k := key.(type) {
	case *contextKey:
		if k == c.m.ctxKey {
			return c.session()
		}
	case lastSessionKey:
		return c.session()
	case stateKey:
		if k.m == c.m {
			return c
		}
	}
	return c.Context.Value(key)
}

// sessionWriter commits the session before the first byte goes out.
type sessionWriter struct {
	w      http.ResponseWriter
	ctx    *sessionContext
	done   bool // commit attempted
	failed bool // commit failed: the error response was written, drop the rest
	vary   [1]string
}

// before commits the session once; on failure it writes the error response.
func (sw *sessionWriter) before() {
	if sw.done {
		return
	}
	sw.done = true
	s := sw.ctx.s.Load()
	if s == nil {
		return // never touched
	}
	err := s.commit(sw.w)
	if s.loaded {
		// "Vary: Cookie", its []string held by the writer: one allocation
		// less. Appending to it later copies it (its capacity is 1).
		h := sw.w.Header()
		if _, ok := h["Vary"]; ok {
			h.Add("Vary", "Cookie")
		} else {
			sw.vary[0] = "Cookie"
			h["Vary"] = sw.vary[:1:1]
		}
	}
	if err != nil {
		sw.failed = true
		// Drop what described the handler's response; keep what outer
		// middleware set for every response (security headers, say).
		h := sw.w.Header()
		for _, k := range responseHeaders {
			h.Del(k)
		}
		s.m.errorHandler(sw.w, s.r, err)
	}
}

// responseHeaders are the headers that describe one response's content and
// are removed when the error handler replaces it.
var responseHeaders = []string{"Set-Cookie", "Content-Type", "Content-Length", "Content-Encoding",
	"Content-Disposition", "Content-Language", "Content-Range", "Location", "ETag", "Last-Modified",
	"Cache-Control", "Expires", "Refresh", "Link", "Trailer"}

// finish runs after the handler returned. A session changed after the
// response began is committed then, if that needs no new cookie. A session
// the handler used without writing a byte through sw is committed now,
// unless the writer sw wraps says the response began already: then the
// handler wrote it around sesame (a framework adapter that passed on the
// request but not the writer), and what needs a cookie is reported, never
// silently lost.
func (sw *sessionWriter) finish() {
	s := sw.ctx.s.Load()
	if !sw.done {
		if s != nil && responseBegun(sw.w) {
			sw.done = true
			if err := s.lateCommit(); err != nil {
				s.reportLate(reasonWrittenAround, err)
			}
			return
		}
		sw.before()
		return
	}
	if s != nil && !sw.failed {
		if err := s.lateCommit(); err != nil {
			s.reportLate(reasonAfterResponse, err)
		}
	}
}

// responseBegun reports whether w, or a writer it wraps, says that it has
// begun the response. Frameworks' writers do (gin's and negroni's
// Written() bool); net/http's own writer cannot tell, and counts as not
// begun.
func responseBegun(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case interface{ Written() bool }:
			return t.Written()
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}

func (sw *sessionWriter) Header() http.Header { return sw.w.Header() }

func (sw *sessionWriter) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// Informational responses (103 Early Hints) go out before the session
		// is committed and may be followed by more headers.
		sw.w.WriteHeader(code)
		return
	}
	sw.before()
	if sw.failed {
		return
	}
	sw.w.WriteHeader(code)
}

func (sw *sessionWriter) Write(b []byte) (int, error) {
	sw.before()
	if sw.failed {
		return len(b), nil
	}
	return sw.w.Write(b)
}

// ReadFrom lets io.Copy use the underlying writer's sendfile path.
func (sw *sessionWriter) ReadFrom(src io.Reader) (int64, error) {
	sw.before()
	if sw.failed {
		return io.Copy(io.Discard, src)
	}
	if rf, ok := sw.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{sw.w}, src)
}

type writerOnly struct{ io.Writer }

// Flush commits the session and flushes the underlying writer.
func (sw *sessionWriter) Flush() { _ = sw.FlushError() }

// FlushError is what [http.ResponseController.Flush] calls.
func (sw *sessionWriter) FlushError() error {
	sw.before()
	if sw.failed {
		return nil
	}
	return http.NewResponseController(sw.w).Flush()
}

// Hijack commits the session and hands over the connection.
func (sw *sessionWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	sw.before()
	if sw.failed {
		return nil, nil, errors.New("sesame: session commit failed; response already written")
	}
	return http.NewResponseController(sw.w).Hijack()
}

// Unwrap returns the underlying writer, for [http.ResponseController].
func (sw *sessionWriter) Unwrap() http.ResponseWriter { return sw.w }

// Commit commits the request's session now, before the handler writes its
// response, and reports the error the middleware would otherwise hand to the
// error handler. Use it when a handler must know that its changes are stored
// (before a long stream, say). It is a no-op after the first call. For a
// request that [Manager.Load] prepared, Commit is [Manager.Save] that adds
// the headers to w's.
func (m *Manager) Commit(w http.ResponseWriter, r *http.Request) error {
	if c, _ := r.Context().Value(stateKey{m}).(*sessionContext); c != nil {
		if c.out != nil {
			h, err := m.Save(r)
			mergeHeader(w.Header(), h)
			return err
		}
	}
	s := m.Session(r)
	if s == nil {
		return errors.New("sesame: Commit called on a request that did not pass through Manager.Handler")
	}
	return s.commit(w)
}

// writeID sends a new or changed session ID to the client.
func (m *Manager) writeID(w http.ResponseWriter, id string, created, now time.Time) error {
	if m.tokenHeader != "" {
		w.Header().Set(m.tokenHeader, id)
		noStore(w)
		return nil
	}
	var maxAge time.Duration
	if m.persistent {
		maxAge = created.Add(m.lifetime).Sub(now)
		if maxAge < time.Second {
			maxAge = time.Second
		}
	}
	if err := m.cookieTmpl.Set(w, id, maxAge); err != nil {
		return err
	}
	noStore(w)
	return nil
}

// clearCookie tells the client to drop its session cookie.
func (m *Manager) clearCookie(w http.ResponseWriter) error {
	if m.tokenHeader != "" {
		w.Header().Set(m.tokenHeader, "")
		noStore(w)
		return nil
	}
	if err := cookies.Clear(w, m.cookieName, m.cookie); err != nil {
		return err
	}
	noStore(w)
	return nil
}

func noStore(w http.ResponseWriter) {
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
}
