package metrics

import (
	"context"
	"errors"
	"net/http"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/csrf"
)

// Kinds of the sesame_errors_total counter, by the error that the session
// middleware handed to its error handler.
const (
	ErrorStoreUnavailable = "store_unavailable" // sesame.ErrStoreUnavailable
	ErrorLockTimeout      = "lock_timeout"      // sesame.ErrLockTimeout
	ErrorEncode           = "encode"            // sesame.ErrEncode
	ErrorTooLarge         = "too_large"         // sesame.ErrTooLarge
	ErrorOther            = "other"
)

// Reasons of the sesame_csrf_failures_total counter.
const (
	CSRFCrossOrigin      = "cross_origin"      // csrf.ErrCrossOrigin
	CSRFMissingToken     = "missing_token"     // csrf.ErrMissingToken
	CSRFBadToken         = "bad_token"         // csrf.ErrBadToken
	CSRFStoreUnavailable = "store_unavailable" // the session could not be loaded
	CSRFOther            = "other"
)

// Kinds of the sesame_remember_failures_total counter that sesame names; an
// app may count others with [Metrics.RememberFailure].
const (
	// RememberTheft: a token was replayed after rotation; the remember
	// package revoked all of the user's tokens.
	RememberTheft = "theft"
	// RememberInvalid: a remember-me cookie was malformed, unknown or
	// expired.
	RememberInvalid = "invalid"
	// RememberStoreError: the token store failed.
	RememberStoreError = "store_error"
)

// ErrorKind classifies an error that the session middleware reports: one of
// ErrorStoreUnavailable, ErrorLockTimeout, ErrorEncode, ErrorTooLarge or
// ErrorOther.
func ErrorKind(err error) string {
	switch {
	case errors.Is(err, sesame.ErrStoreUnavailable):
		return ErrorStoreUnavailable
	case errors.Is(err, sesame.ErrLockTimeout):
		return ErrorLockTimeout
	case errors.Is(err, sesame.ErrEncode):
		return ErrorEncode
	case errors.Is(err, sesame.ErrTooLarge):
		return ErrorTooLarge
	}
	return ErrorOther
}

// ErrorHandler returns an error handler for [sesame.Config.ErrorHandler]
// that counts each error in sesame_errors_total by [ErrorKind] (and each
// refusal, [sesame.ErrForbidden]: the middleware's cross-origin check or a
// token failure of the csrf package, which answers with the manager's
// handler by default, in sesame_csrf_failures_total by [CSRFReason]) and
// then calls next. A nil next is [sesame.DefaultErrorHandler].
func (m *Metrics) ErrorHandler(next func(http.ResponseWriter, *http.Request, error)) func(http.ResponseWriter, *http.Request, error) {
	if next == nil {
		next = sesame.DefaultErrorHandler
	}
	if m == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, sesame.ErrForbidden) {
			m.csrf.WithLabelValues(CSRFReason(err)).Inc()
		} else {
			m.errors.WithLabelValues(ErrorKind(err)).Inc()
		}
		next(w, r, err)
	}
}

// CSRFReason classifies an error of the csrf package: one of
// CSRFCrossOrigin, CSRFMissingToken, CSRFBadToken, CSRFStoreUnavailable or
// CSRFOther.
func CSRFReason(err error) string {
	switch {
	case errors.Is(err, csrf.ErrCrossOrigin), errors.Is(err, sesame.ErrCrossOrigin):
		return CSRFCrossOrigin
	case errors.Is(err, csrf.ErrMissingToken):
		return CSRFMissingToken
	case errors.Is(err, csrf.ErrBadToken):
		return CSRFBadToken
	case errors.Is(err, sesame.ErrStoreUnavailable):
		return CSRFStoreUnavailable
	}
	return CSRFOther
}

// CSRFErrorHandler returns an error handler for csrf.Config.ErrorHandler
// that counts each rejection in sesame_csrf_failures_total by [CSRFReason]
// and then calls next. A nil next answers like the csrf package's default:
// 403 Forbidden, or 503 Service Unavailable when the session store is down.
func (m *Metrics) CSRFErrorHandler(next func(http.ResponseWriter, *http.Request, error)) func(http.ResponseWriter, *http.Request, error) {
	if next == nil {
		next = defaultCSRFHandler
	}
	if m == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request, err error) {
		m.csrf.WithLabelValues(CSRFReason(err)).Inc()
		next(w, r, err)
	}
}

func defaultCSRFHandler(w http.ResponseWriter, _ *http.Request, err error) {
	code := http.StatusForbidden
	if errors.Is(err, sesame.ErrStoreUnavailable) {
		code = http.StatusServiceUnavailable
	}
	http.Error(w, http.StatusText(code), code)
}

// CSRFFailure counts one CSRF rejection with the given reason (use the CSRF
// constants; an empty reason counts as "other"). Use it from an error
// handler of your own; [Metrics.CSRFErrorHandler] calls it for you.
func (m *Metrics) CSRFFailure(reason string) {
	if m == nil {
		return
	}
	m.csrf.WithLabelValues(cleanLabel(reason)).Inc()
}

// RememberFailure counts one failed remember-me login of the given kind (use
// the Remember constants, or a small fixed set of your own: each kind is a
// time series; an empty kind counts as "other").
func (m *Metrics) RememberFailure(kind string) {
	if m == nil {
		return
	}
	m.remember.WithLabelValues(cleanLabel(kind)).Inc()
}

// OnRememberTheft counts a remember-me token theft. Its signature is that of
// remember.Config.OnTheft; the user ID is not recorded (the remember package
// logs it). To do more on theft, call it from your own hook.
func (m *Metrics) OnRememberTheft(context.Context, string) {
	if m == nil {
		return
	}
	m.remember.WithLabelValues(RememberTheft).Inc()
}
