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
// # File uploads
//
// Send the token of an upload in the X-CSRF-Token header: the check then
// never touches the body, and the handler gets all of it, to stream with
// [net/http.Request.MultipartReader] or parse with
// [net/http.Request.FormFile]:
//
//	const body = new FormData(form) // the file, and the other fields
//	fetch("/photos", {method: "POST", body, headers: {"X-CSRF-Token":
//	    document.querySelector('meta[name=csrf-token]').content}})
//
// A plain multipart form works too if [TemplateField] comes before its file
// inputs (browsers send the fields in the form's order): the check reads at
// most the first 64 KiB of a multipart body looking for the field, and gives
// what it read back to the handler. It never buffers an upload whatever its
// size, so a form whose token field comes after a file is refused, with an
// error wrapping [ErrMissingToken] that says so:
//
//	<form method="post" enctype="multipart/form-data">
//	  {{.CSRFField}}
//	  <input type="file" name="photo"> ...
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
