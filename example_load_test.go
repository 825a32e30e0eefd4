package sesame_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/sesamego/sesame"
)

// A server that does not run net/http middleware (fasthttp, fiber, a
// websocket library that writes its own upgrade response) loads the session
// with Load, hands the handler its context, and sends the headers of Save
// with the response. Here the "framework" is a function of a context that
// returns a body; an adapter of a few lines serves it.
func ExampleManager_Load() {
	sessions, err := sesame.New(sesame.Config{})
	if err != nil {
		log.Fatal(err)
	}
	// The app's handler knows nothing of net/http.
	visits := func(ctx context.Context) string {
		n, err := sesame.FromContext(ctx).Increment("visits", 1)
		if err != nil {
			return err.Error()
		}
		return fmt.Sprintf("visit %d", n)
	}
	// The adapter: Load before, Save after, before the response's headers.
	adapter := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lr, err := sessions.Load(r) // refuses cross-origin POSTs, does no store I/O
		if err != nil {
			sessions.Error(w, r, err)
			return
		}
		body := visits(lr.Context())
		h, err := sessions.Save(lr) // commits; Set-Cookie only for a new ID
		if err != nil {
			sessions.Error(w, r, err) // the store is down: nothing was stored
			return
		}
		for k, vs := range h {
			w.Header()[k] = append(w.Header()[k], vs...)
		}
		fmt.Fprint(w, body)
	})
	srv := httptest.NewTLSServer(adapter)
	defer srv.Close()
	c := srv.Client()
	c.Jar, _ = cookiejar.New(nil)

	for range 3 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		var body [16]byte
		n, _ := resp.Body.Read(body[:])
		resp.Body.Close()
		fmt.Printf("%s, Set-Cookie sent: %v\n", body[:n], resp.Header.Get("Set-Cookie") != "")
	}
	// Output:
	// visit 1, Set-Cookie sent: true
	// visit 2, Set-Cookie sent: false
	// visit 3, Set-Cookie sent: false
}

// An API renders sesame's errors in its own format: one ErrorHandler answers
// store outages (503), requests refused as forgeries (403: the cross-origin
// check here, and the csrf package's token check, which uses this handler
// too) and anything else (500) as JSON.
func ExampleStatusCode() {
	jsonErrors := func(w http.ResponseWriter, r *http.Request, err error) {
		code := sesame.StatusCode(err)
		msg := "internal error"
		switch {
		case errors.Is(err, sesame.ErrStoreUnavailable):
			msg = "sessions are unavailable, try again shortly"
		case errors.Is(err, sesame.ErrForbidden): // cross-origin, or a missing or bad CSRF token
			msg = "request refused"
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"status": code, "error": msg})
	}
	sessions, err := sesame.New(sesame.Config{ErrorHandler: jsonErrors})
	if err != nil {
		log.Fatal(err)
	}
	api := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Put("cart", []string{"tea"})
	}))

	// A page on another site makes the browser post to the API.
	req := httptest.NewRequest("POST", "https://shop.example/cart", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Header().Get("Content-Type"), " ", rec.Body.String())
	// Output:
	// 403 application/json {"error":"request refused","status":403}
}
