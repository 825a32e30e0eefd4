package store

import "net/http"

// ClientSide is implemented by stores that keep each record in the client's
// cookies rather than on a server (package cookiestore). Such a store reads
// the record from the request and writes it to the response, so sesame makes
// a request's calls on the Store that ForRequest returns for it; the
// ClientSide store's own Load, Apply and Delete, having no request, return
// an error.
//
// A client-side store sees only the current request's record, so sesame
// deletes a record it ends (at Regenerate and Destroy) instead of leaving a
// tombstone for concurrent requests.
type ClientSide interface {
	Store

	// ClientSide reports whether records live in the client. A wrapper
	// ([Wrap]) has the method whatever it wraps, and reports what the
	// wrapped store reports; sesame uses ForRequest only when it is true.
	ClientSide() bool

	// ForRequest returns the Store for the calls made while serving r: it
	// reads records from r's cookies and writes them to w's header (before
	// the response is written), and it remembers what it wrote, so that
	// later calls for the same request read their own writes. It may be
	// used by the request's goroutines concurrently, and only for that
	// request. Besides Store it offers the optional interfaces (UserIndex,
	// say) that it supports for a request.
	ForRequest(w http.ResponseWriter, r *http.Request) Store
}
