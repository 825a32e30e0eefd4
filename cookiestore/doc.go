// Package cookiestore keeps each whole session in the client's cookies,
// encrypted, instead of on a server.
//
// # When to use it
//
// A cookie store needs no database and scales with no shared state: every
// request carries its own session. It suits small sessions (a few KB) in apps
// that would rather not run a store. Use it with sesame's Manager like any
// store:
//
//	keys, _ := seal.ParseSecrets(os.Getenv("SESAME_SECRETS"))
//	cs, _ := cookiestore.New(cookiestore.Options{Keys: keys})
//	m, _ := sesame.New(sesame.Config{Store: cs})
//
// The session ID still travels in the manager's cookie; the data travels in
// a second cookie (default "sdata", split over "sdata.1", "sdata.2", ... when
// it passes 4 KB), encrypted with XChaCha20-Poly1305 (package seal), bound to
// the cookie name and to the session, and compressed above a threshold.
//
// Store implements [store.ClientSide]: the Manager makes each request's
// calls on the store that [Store.ForRequest] returns for that request, which
// reads the request's cookies and writes the response's. To use the store
// without a Manager (in a test, say), call ForRequest yourself; the Store's
// own Load, Apply and Delete return [ErrNoRequest].
//
// # What it cannot do
//
// Say it plainly, because it matters:
//
//   - It cannot merge concurrent changes. Two requests that start from the
//     same cookie each send back a whole session; the browser keeps the last
//     one, and the other request's changes are lost. Increments and
//     Session.Push are not atomic across requests. (Every server-side
//     sesame store merges.)
//   - The same holds around a login: a request sent with the pre-login
//     cookies and answered after the login sends the old session back if it
//     writes (a Put, a Push), and the browser may keep it instead of the
//     new one. sesame's rules keep read-only requests from sending any
//     cookie (a session sealed under an old key is re-issued, and an idle
//     session's expiry extended, only rarely), and a mix of chunks from two
//     sessions fails closed (no session) rather than decoding. With a
//     server-side store, the old ID is a tombstone and such writes are
//     dropped instead.
//   - It cannot revoke a copied cookie. Destroy and logout clear the
//     browser's cookie, but a copy taken earlier stays valid until it
//     expires. The one defence is the per-user epoch ([Options.Epochs]): when
//     a user logs out everywhere (Manager.LogoutOtherDevices or
//     LogoutEverywhere), every cookie session of that user bound before that
//     moment is refused.
//   - It cannot list a user's sessions (the "your devices" page).
//   - Sessions are limited by [Options.MaxChunks] cookies (default 5, about
//     20 KB); a session that grows past it is an error at commit, never
//     silently truncated.
package cookiestore
