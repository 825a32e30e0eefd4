// Package admin is a dashboard for operators: it shows an app's live
// sessions and lets an administrator end them, in the browser.
//
// It is a module of its own (github.com/sesamego/sesame/admin) that needs
// only the standard library and sesame's core module: its pages are
// html/template, its stylesheet is embedded, and its charts are SVG drawn
// on the server. It runs no script, so it works under the strict
// Content-Security-Policy that package secureheaders sets (and adds its own,
// stricter one).
//
// # Wiring
//
// Create a [Recorder] first, hand its Observe to the session manager, then
// build the dashboard on the manager and mount it inside the manager's
// middleware, behind your own authorization:
//
//	rec := admin.NewRecorder()
//	sessions, err := sesame.New(sesame.Config{Store: st, OnEvent: rec.Observe})
//	...
//	dash, err := admin.New(sessions, admin.Options{
//		Authorize: func(r *http.Request) (string, bool) {
//			u := currentUser(r) // your app's
//			return u.Email, u != nil && u.IsAdmin
//		},
//		Recorder:   rec,
//		Remember:   rememberMe,           // *remember.Manager, if the app has one
//		ShowValues: []string{"cart.*"},   // values an operator may read; none by default
//	})
//	...
//	mux.Handle("/admin/", dash)
//	http.ListenAndServe(addr, rec.Handler(sessions.Handler(mux)))
//
// # Pages
//
//   - Overview: live sessions (total, logged in, anonymous, users), the store's
//     health and latency, sessions created, regenerated, destroyed and expired
//     per minute over the last hour, recent anomalies, store failures and
//     cookie-size warnings.
//   - Sessions: every live session, the most recently seen first, a page at a
//     time (a cursor in the URL, so a page costs the same on the millionth
//     session as on the first).
//   - Users: search by user ID; a user's sessions with device (browser and
//     operating system, from the user agent), IP address, creation, last use
//     and end; revoke one, or log the user out everywhere.
//   - Session: its keys with their sizes, creation, last use, end, and flags
//     (logged in with a remember-me token; used from another client than the
//     one that logged in).
//
// A store that cannot list or index sessions says so on the pages: the
// cookie store keeps sessions in the browsers, so there is nothing on the
// server to list (log out everywhere still works, through its epochs).
//
// # Safety
//
//   - Every request goes through [Options.Authorize] first; there is no
//     default that lets anyone in, and [New] fails without one.
//   - Every action is a POST that must carry the session's CSRF token (package
//     csrf) and come from the app's own origin; everything else is refused with
//     403.
//   - Every action is logged with the operator's name, and every refusal too.
//   - Values are hidden unless their key is listed in [Options.ShowValues];
//     sesame's own keys (CSRF token, flash messages, remember-me selector) are
//     never shown. Session IDs are never shown: the store does not have them.
//     Pages show the first 12 characters of the ID's SHA-256, as sesame's logs
//     do, and links carry the whole hash, which is not a credential.
//
// Revoking a session deletes its record from the store, so its cookie is
// worthless from then on, and (with [Options.Remember]) revokes the
// remember-me token it was logged in with, or the browser would log straight
// back in. [Options.OnRevoke] lets the app tell the user why on their next
// request.
//
// # The index
//
// Counting and listing a store is a scan, which for a million sessions
// takes seconds. So the dashboard keeps its own index of the store's
// sessions (metadata only, about 100 bytes a session), built by listing the
// store in the background when a page finds it older than
// [Options.RefreshInterval], and pages through that. A user's sessions and a
// single session are always read from the store itself. The file store's
// user lookup reads every record, so on a file store the dashboard finds a
// user's sessions in its index and reads each of them from the store, unless
// the Recorder saw that user log in or out since the index was built: then it
// asks the store. Give the dashboard a Recorder when the store is a file
// store, or user searches read every file.
//
// A page reads the index and the few sessions it shows, never the whole
// store; the package's benchmarks (BenchmarkOverview, BenchmarkUsers,
// BenchmarkSession, BenchmarkSessions) render each page over 100,000
// sessions in memstore and in filestore.
package admin
