// Package csrf protects a sesame app from cross-site request forgery.
//
// # The threat
//
// A page on another site makes the victim's browser send a POST (a form, an
// image, fetch) to your app. The browser attaches the victim's cookies, so
// without a check the request runs with the victim's session: a transfer, a
// password change, a login into the attacker's account (login CSRF).
//
// # Two layers
//
// [Protector.Handler] checks every unsafe request (POST, PUT, PATCH, DELETE):
//
//  1. The origin: Go's [http.CrossOriginProtection] rejects requests whose
//     Sec-Fetch-Site header says cross-site or same-site (a sibling
//     subdomain), or, from browsers without it, whose Origin does not match
//     the Host. Origins listed in Config.TrustedOrigins are allowed.
//  2. A synchronizer token: a 256-bit secret stored in the session, sent
//     back by the page in a form field (default "_csrf") or a header
//     (default "X-CSRF-Token"). Each response carries it masked with a fresh
//     random pad, so compression side channels (BREACH) cannot recover it;
//     it is compared in constant time, and it is replaced whenever the
//     session is regenerated (at login), so a token from before login is
//     worthless after.
//
// A token from another session never matches, and the login form is
// protected like any other: an anonymous visitor has a session too as soon as
// a form asks for a token.
//
// # Templates and JavaScript
//
// Put [TemplateField] in every form, or [Token] wherever you need the raw
// value. For JavaScript clients, render the token in a meta tag and send it
// in the X-CSRF-Token header:
//
//	<meta name="csrf-token" content="{{.CSRF}}">
//	fetch("/cart/add", {method: "POST", headers: {"X-CSRF-Token":
//	    document.querySelector('meta[name=csrf-token]').content}, body})
//
// A meta tag is preferred over a readable cookie: the token never leaves the
// page that rendered it, and no cookie readable by scripts is needed.
//
// # Failures
//
// A rejected request is answered by the session manager's error handler
// (sesame.Config.ErrorHandler; by default 403 Forbidden, 503 when the
// session store is down), unless Config.ErrorHandler gives the Protector one
// of its own. So one handler renders store outages, the middleware's
// cross-origin refusals and token failures in the app's format (JSON for an
// API: see sesame.StatusCode). The error names the reason ([ErrCrossOrigin],
// [ErrMissingToken], [ErrBadToken]) so the app can log it, and wraps
// sesame.ErrForbidden; the client sees no detail.
//
// # Without net/http middleware
//
// Servers that cannot run [Protector.Handler] (fiber, fasthttp) load the
// session with sesame's Manager.Load, refuse the requests for which
// [Protector.Check] returns an error, and render the token with
// [Protector.TemplateField] or [Protector.Token] of the handler's session
// (sesame.FromContext).
package csrf
