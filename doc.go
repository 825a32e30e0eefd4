// Package sesame is HTTP sessions for net/http: a session ID in a cookie, the
// data on the server, and none of the ways sessions usually go wrong.
//
// # Quick start
//
// A page that counts visits and logs you in and out, with CSRF protection
// (examples/quickstart; README.md shows the same program):
//
//	package main
//
//	import (
//		"fmt"
//		"html/template"
//		"log"
//		"net/http"
//
//		"github.com/sesamego/sesame"
//		"github.com/sesamego/sesame/csrf"
//	)
//
//	var page = template.Must(template.New("").Parse(`<!doctype html>
//	{{with .Notice}}<p><b>{{.}}</b></p>{{end}}
//	<p>Hello {{.Name}}, this is visit {{.Views}}.</p>
//	<form method="post" action="/login">{{.CSRF}}
//	  <input name="name" placeholder="your name" required> <button>Log in</button>
//	</form>
//	<form method="post" action="/logout">{{.CSRF}}<button>Log out</button></form>`))
//
//	func main() {
//		h, err := newHandler()
//		if err != nil {
//			log.Fatal(err)
//		}
//		log.Println("listening on http://127.0.0.1:8080")
//		log.Fatal(http.ListenAndServe("127.0.0.1:8080", h))
//	}
//
//	func newHandler() (http.Handler, error) {
//		sessions, err := sesame.New(sesame.Config{
//			// Plain HTTP on your laptop. In production, serve HTTPS and delete
//			// this line: the cookie is then Secure and named __Host-sid.
//			Cookie: sesame.CookieConfig{AllowInsecureHTTP: true},
//			// Store: a shared store (sqlstore, redisstore) in production;
//			// the default keeps sessions in this process's memory.
//		})
//		if err != nil {
//			return nil, err
//		}
//		// Unsafe requests from other sites are refused by the session
//		// middleware; the form token is the second line of defence.
//		protect, err := csrf.New(csrf.Config{Sessions: sessions})
//		if err != nil {
//			return nil, err
//		}
//
//		mux := http.NewServeMux()
//		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
//			s := sesame.From(r)
//			views, err := s.Increment("views", 1) // atomic in the store
//			if err != nil {
//				http.Error(w, err.Error(), http.StatusInternalServerError)
//				return
//			}
//			page.Execute(w, map[string]any{
//				"Notice": s.Flashes().String("notice"), // set by the previous request
//				"Name":   sesame.GetOr(s, "name", "stranger"),
//				"Views":  views,
//				"CSRF":   csrf.TemplateField(r),
//			})
//		})
//		mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//			s := sesame.From(r)
//			if err := s.Regenerate(); err != nil { // a new ID at every login
//				http.Error(w, "try again later", http.StatusServiceUnavailable)
//				return
//			}
//			s.Put("name", r.PostFormValue("name"))
//			s.Flash("notice", "Welcome!")
//			http.Redirect(w, r, "/", http.StatusSeeOther)
//		})
//		mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
//			sesame.From(r).Destroy()
//			http.Redirect(w, r, "/", http.StatusSeeOther)
//		})
//		mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
//			fmt.Fprintln(w, sesame.GetOr(sesame.From(r), "name", "stranger"))
//		})
//		return sessions.Handler(protect.Handler(mux)), nil
//	}
//
// In production, serve HTTPS and drop AllowInsecureHTTP (the cookie is then
// Secure and named __Host-sid), and use a shared store (sqlstore, redisstore).
//
// # What a request costs
//
// [Manager.Handler] gives each request a lazy [Session]. The store is read on
// the session's first use; a request that never touches its session costs no
// store I/O and sends no cookie. Reading costs one store round trip and
// writing one more. An unchanged session is only touched (its expiry
// extended) once a share of the idle timeout has passed ([Config.TouchShare]),
// and a new session is stored only once something is put in it, so crawlers
// leave no records behind.
//
// # No lost updates
//
// A request's changes are committed as a change set (keys set, keys deleted,
// counters incremented, cleared) that the store applies atomically to the
// latest stored record. Two concurrent requests that set different keys keep
// both; two that call [Session.Increment] add both amounts. A change set for a
// session that was destroyed or regenerated in the meantime is dropped, so a
// slow request can never bring back a session after logout.
//
// Lists work the same way: [Session.Push] appends to a JSON array as part of
// the change set (and [Session.PushKeep] keeps only the last N elements), so
// ten tabs that each add an event leave ten events, where reading the list,
// appending and putting it back would keep one.
//
// Each change set carries a random identity ([store.Change]'s ID), so that a
// store reached over a network recognises a change that its driver sends
// twice after a lost reply, and applies it once. A commit the store
// acknowledged is never reported as failed; one whose outcome the store
// could not learn is reported with [ErrOutcomeUnknown].
//
// # Requests that race
//
// Browsers send requests in parallel: a poll, an image, a second tab. Those
// sent with the cookie of a session that a login (Regenerate) or logout
// (Destroy) has just ended are answered after it, and a Set-Cookie in their
// answer would replace the new cookie and log the user out. sesame never
// sends one there: only the request that destroyed a session clears the
// cookie, a request that never used its session sends no Set-Cookie at all,
// and the old ID is left as a tombstone for a minute, so that such requests
// neither start a new session nor write into the ended one.
//
// # Typed values
//
// Values are stored as JSON, one document per key, and read back into your
// own types with [Get] and [GetOr]. Nothing needs registering, and nothing a
// client could have touched is ever decoded with gob.
//
// # Secure by default
//
// The zero [Config] sends a "__Host-sid" cookie that is Secure, HttpOnly and
// SameSite=Lax. IDs are 256 bits from crypto/rand, checked for form before
// any store access, never adopted when the server did not issue them, and
// stored only as their SHA-256. Idle and absolute timeouts are enforced by the
// server from stored times. When the store fails, the request gets a 503 from
// [Config.ErrorHandler] and nothing is written back.
//
// # Flash messages
//
// [Session.Flash] sets a message for the next request only, which reads it
// with [Session.Flashes]; [Session.FlashInput] keeps a form's input (minus
// passwords) to refill it after a validation error.
//
// # Frameworks and other servers
//
// Routers and frameworks built on net/http run [Manager.Handler] as
// middleware (chi's r.Use, echo.WrapMiddleware, or around gin's whole
// engine); their handlers must write through the ResponseWriter it passes
// on. A response written around it cannot carry the session cookie: sesame
// then reports an [EventUncommitted] at Error instead of losing the session
// silently. Servers that cannot run net/http middleware (fiber, fasthttp,
// websocket upgrades that write their own response) load the session with
// [Manager.Load] and commit it with [Manager.Save], which returns the
// headers to send. One [Config.ErrorHandler] renders store outages and
// refused forgeries (cross-origin requests, CSRF token failures) in the
// app's format; [StatusCode] gives the status. docs/frameworks.md in the
// repository shows each framework's wiring.
//
// # Stores
//
// Sessions live in a store: memstore (the default), filestore, sqlstore
// (PostgreSQL, MySQL/MariaDB, SQLite), redisstore (single node, Sentinel,
// Cluster) or cookiestore. Each passes the same conformance suite,
// storetest.Run.
package sesame
