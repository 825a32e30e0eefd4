// Package remember keeps users logged in across browser restarts with
// remember-me tokens that resist theft.
//
// # The threat
//
// A remember-me cookie is a long-lived password. If the database leaks, the
// tokens must not be usable; if a cookie is copied (malware, a shared
// computer), the copy must stop working and the theft must be noticed.
//
// # Split tokens
//
// The cookie holds selector:verifier. The store keeps the selector (the
// lookup key, 128 random bits) and only the SHA-256 of the verifier (256
// random bits), compared in constant time, so neither a database dump nor a
// timing side channel yields a working cookie.
//
// Every use rotates the verifier. When the thief and the victim both hold a
// copy, whoever uses it second presents an outdated verifier: all of that
// user's tokens are revoked, the event is logged, and both must log in again.
// A short grace window ([Config.Grace]) accepts the previous verifier, so two
// concurrent requests from one browser (both carrying the old cookie) are not
// mistaken for theft.
//
// # Order of operations
//
// [Manager.Login] shows the right order at login: verify the password (your
// code), regenerate the session ID (against fixation), tie the session to the
// user, then issue the token. [Manager.Handler] logs a user back in from the
// cookie when their session is gone, with a fresh session ID. [Manager.Logout]
// revokes the token and clears the cookie; [Manager.RevokeUser] revokes every
// token of a user ("log out everywhere").
//
// # Storage
//
// Tokens live in a store.TokenStore: [NewMemoryStore] here, and the SQL and
// Redis session stores (package sqlstore, redisstore) implement it too.
package remember
