package sesame

import (
	"errors"
	"net/http"
)

// Load gives r a lazy session, for servers whose handlers do not run inside
// [Manager.Handler]: fasthttp and fiber (convert their request to an
// *http.Request first), a websocket upgrade that must send the session
// cookie with its own response headers, a job runner. It returns a copy of r
// whose context carries the session: read it with [From], [FromContext] or
// [Manager.Session], exactly as inside Handler. Commit it with
// [Manager.Save] once the handler is done, before the response's headers
// are sent.
//
// Like Handler, Load first refuses unsafe requests (POST, PUT, PATCH,
// DELETE) from other origins, unless [Config.CrossOrigin] turns that off: it
// then returns a nil request and an error wrapping [ErrCrossOrigin], to be
// answered with the app's error handler ([StatusCode] gives 403). It does no
// store I/O: the session is read on its first use, and a request that never
// uses it costs nothing.
//
// Only Save commits: a handler whose session is never saved stores nothing
// (and its changes are lost without a word, as sesame cannot know when the
// response goes out). Load is safe for concurrent use. Do not call it for a
// request that passed through Handler: that request has its session
// already.
func (m *Manager) Load(r *http.Request) (*http.Request, error) {
	if err := m.checkOrigin(r); err != nil {
		return nil, err
	}
	st := &loadState{}
	return st.begin(m, &st.out, r), nil
}

// Save commits the session of r, a request that [Manager.Load] prepared,
// and returns the headers that the response must carry: Set-Cookie when the
// session got a new ID or was destroyed (the token header instead with
// [Config.TokenHeader]), "Cache-Control: no-store" with it, and "Vary:
// Cookie" when the session was read. Add them to the response before its
// headers are sent; keep a Cache-Control of the handler's own if it set one.
// A request that never used its session gets nil and costs no store I/O;
// one whose session only changed stored values gets no Set-Cookie.
//
// The first Save commits the session, as Handler does before the first byte
// of the response. When that fails (the store is down, a value could not be
// encoded) nothing is stored, and the error is to be answered with the app's
// error handler ([StatusCode] gives 503 or 500) instead of the handler's
// response; later calls return the same error.
//
// Each later Save commits what changed since the one before, for handlers
// that go on after the response began (a websocket connection, say). Such
// changes to a stored session are applied as usual; a change that needs a
// new cookie (a new session, [Session.Regenerate], [Session.Destroy]) can no
// longer be sent, so it is refused with an error wrapping [ErrUncommitted],
// logged at Error and emitted as an [EventUncommitted], and nothing of it
// is stored.
//
// Save is safe for concurrent use with the session's methods; every change
// is committed once.
func (m *Manager) Save(r *http.Request) (http.Header, error) {
	c, _ := r.Context().Value(stateKey{m}).(*sessionContext)
	if c == nil {
		return nil, errors.New("sesame: Save called on a request that Manager.Load did not prepare")
	}
	out := c.out
	if out == nil {
		return nil, errors.New("sesame: Save called on a request inside Manager.Handler; use Manager.Commit")
	}
	s := c.s.Load()
	if s == nil {
		return nil, nil // never used: no store I/O, no header
	}
	return s.save(out)
}

// save is Save for a session that was used. out collects what the commit
// writes; it is used under s.mu.
func (s *Session) save(out *headerWriter) (http.Header, error) {
	s.mu.Lock()
	if !s.committed {
		s.committed = true
		s.commitErr = s.commitLocked(out, false)
		if s.loaded && s.commitErr == nil {
			out.Header().Add("Vary", "Cookie")
		}
		h, err := out.take(), s.commitErr
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return h, nil
	}
	if err := s.commitErr; err != nil {
		s.mu.Unlock()
		return nil, err
	}
	err := s.lateCommitLocked()
	h := out.take()
	s.mu.Unlock()
	if err != nil {
		s.reportLate(reasonAfterResponse, err)
		return nil, err
	}
	return h, nil
}

// loadState is what Load allocates for a request: the session's context and
// the writer that collects its headers.
type loadState struct {
	requestState
	out headerWriter
}

// stateKey finds the context of a manager's session without allocating the
// Session.
type stateKey struct{ m *Manager }

// headerWriter is the ResponseWriter of a request that Load prepared: it
// collects the headers that commits (and cookie-backed stores) set, for Save
// to return.
type headerWriter struct{ h http.Header }

func (hw *headerWriter) Header() http.Header {
	if hw.h == nil {
		hw.h = http.Header{}
	}
	return hw.h
}

// Write drops b: the response is the server's own.
func (hw *headerWriter) Write(b []byte) (int, error) { return len(b), nil }

// WriteHeader does nothing: the response is the server's own.
func (hw *headerWriter) WriteHeader(int) {}

// take returns the headers collected so far (nil when none) and starts
// afresh.
func (hw *headerWriter) take() http.Header {
	h := hw.h
	hw.h = nil
	if len(h) == 0 {
		return nil
	}
	return h
}

// mergeHeader adds the headers a commit produced to dst, keeping a
// Cache-Control that dst has already.
func mergeHeader(dst, src http.Header) {
	for k, vs := range src {
		if k == "Cache-Control" && dst.Get(k) != "" {
			continue
		}
		dst[k] = append(dst[k], vs...)
	}
}
