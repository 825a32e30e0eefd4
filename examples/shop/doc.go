// Shop is sesame's demo web app: a small shop that shows, in a real
// browser, every classic use of cookies and sessions.
//
//	go run ./examples/shop
//
// then open http://127.0.0.1:8080 and log in as alice@example.com /
// wonderland (or bob@example.com / builder).
//
// # Build tags
//
// The default build compiles no database driver and no Prometheus client, so
// that the first run from a fresh clone answers in about a minute: sessions
// and remember-me tokens are files under data/sessions (package filestore).
// The tags add the rest:
//
//	go run -tags sql ./examples/shop -store sqlite:data/shop.db     # SQLite, PostgreSQL, MySQL
//	go run -tags redis ./examples/shop -store redis://127.0.0.1:6379
//	go run -tags metrics ./examples/shop                             # GET /metrics
//
// (-tags sql,redis,metrics for all; the first build with sql takes a few
// minutes on two cores, mostly the pure-Go SQLite.)
//
// # What it shows
//
//   - Login with a new session ID (against session fixation), flash messages
//     ("Welcome back!", "Invalid credentials") and old input (the email, never
//     the password); remember me, which logs you back in after the session
//     cookie is gone; logout, which kills the old session ID and the
//     remember-me token but keeps your preferences.
//   - A cart: a guest's in a cookie that the page's script reads, a user's in
//     the session with atomic increments, merged at login.
//   - Browsing starts no session: a guest's first change does (adding to the
//     cart, logging in), so crawlers leave no records behind.
//   - A three-step checkout kept in the session, back and forward, with
//     delivery fees, an order confirmation and, for a logged-in user, the
//     order history.
//   - A preference (the theme) in a cookie scripts may read, for a year.
//   - Analytics: visits (a signed cookie), first and last visit, and page
//     views counted atomically in the session once there is one.
//   - Your devices: every session of your account, and "log out the others"
//     (a browser logged out that way is told why on its next page).
//   - The admin dashboard (package admin) at /admin/, for alice only: live
//     sessions, the last hour's activity, users' sessions with their devices,
//     and revoking a session or logging a user out everywhere (the user's
//     next page says an administrator signed them out).
//   - Cross-origin protection of every POST, a CSRF token too for logged-in
//     users, security headers with a CSP nonce, and /debug (dev mode) with
//     every cookie's size.
//   - /state: what the session and cookies hold (and GET /api/state, as
//     JSON).
//
// # Flags
//
//	-addr 127.0.0.1:8080   where to listen
//	-store ""              session store: empty for files under -data/sessions,
//	                       or memory, file:DIR; with -tags sql: sqlite:PATH,
//	                       postgres://..., mysql://...; with -tags redis:
//	                       redis://HOST:PORT
//	-data data             directory for the default store and the secret
//	-dev                   cookies without Secure, for plain HTTP; on by default
//	                       when -addr is a loopback address and there is no TLS
//	-tls-cert, -tls-key    serve HTTPS
//
// The visits cookie is signed with the secrets in $SESAME_SECRETS (a
// comma-separated list of base64 secrets, newest first), or with a secret
// generated at the first start into -data/secrets (mode 0600).
package main
