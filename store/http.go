package store

import (
	"context"
	"net/http"
	"sync"
)

// HTTPKey is the context key under which sesame's manager passes the current
// request and response to stores that keep records in the client's cookies
// (package cookiestore) rather than on a server. Such stores read the
// record from the request and write it to the response; every other store
// ignores it.
type HTTPKey struct{}

// HTTP is the request and response of the current request; see [HTTPKey].
type HTTP struct {
	W http.ResponseWriter
	R *http.Request

	mu    sync.Mutex
	state any
}

// State returns the value a store keeps for this request (what it has
// written so far, say), creating it with newState on first use. It is safe
// for concurrent use.
func (h *HTTP) State(newState func() any) any {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == nil {
		h.state = newState()
	}
	return h.state
}

// HTTPFrom returns the request and response that ctx carries, or nil.
func HTTPFrom(ctx context.Context) *HTTP {
	h, _ := ctx.Value(HTTPKey{}).(*HTTP)
	return h
}

// WithHTTP returns a context carrying w and r for a cookie-backed store. The
// manager does this itself; use it to call such a store directly (in tests,
// or from a handler that does not use the manager).
func WithHTTP(ctx context.Context, w http.ResponseWriter, r *http.Request) context.Context {
	return context.WithValue(ctx, HTTPKey{}, &HTTP{W: w, R: r})
}

// ClientSide is implemented by stores that keep each record in the client's
// cookies rather than on a server (package cookiestore). Such a store sees
// only the current request's record, so sesame deletes a record it ends
// instead of leaving a tombstone for concurrent requests.
type ClientSide interface {
	// ClientSide reports whether records live in the client.
	ClientSide() bool
}
