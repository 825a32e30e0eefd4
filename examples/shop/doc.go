// Shop is sesame's demo web app: a small shop that shows, in a real
// browser, every classic use of cookies and sessions.
//
//	go run ./examples/shop
//
// The default build has no database driver: sessions and remember-me tokens
// are files under data/sessions (package filestore). Build with -tags sql for
// SQLite, PostgreSQL and MySQL, and -tags redis for Redis:
//
//	go run -tags sql ./examples/shop -store sqlite:data/shop.db
//
// then open http://127.0.0.1:8080 and log in as alice@example.com /
// wonderland (or bob@example.com / builder).
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
//   - A three-step checkout kept in the session, back and forward.
//   - Preferences (theme, language) in cookies scripts may read, for a year.
//   - Analytics: visits (a signed cookie), first and last visit, and page
//     views counted atomically in the session.
//   - Your devices: every session of your account, and "log out the others".
//   - CSRF protection of every POST, security headers with a CSP nonce, and
//     /debug (dev mode) with every cookie's size.
//   - GET /api/state: what the session and cookies hold, as JSON.
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
