package sesame

import (
	"errors"
	"fmt"
)

// Errors reported by sesame. Test for them with [errors.Is]: sesame wraps them
// with detail and with the store's own error.
var (
	// ErrStoreUnavailable marks a session that could not be loaded or
	// committed because the store failed. [Session.Err] returns it after a
	// failed load, and the middleware's error handler receives it; the
	// default handler answers 503 Service Unavailable. Nothing is written
	// back to the store for such a request.
	ErrStoreUnavailable = errors.New("sesame: session store unavailable")

	// ErrNotNumber is returned by [Session.Increment] and
	// [Session.Decrement] when the value under the key is not an integer.
	ErrNotNumber = errors.New("sesame: value is not an integer")

	// ErrEncode is reported to the error handler when a value passed to
	// [Session.Put] or [Session.Flash] cannot be encoded as JSON. The
	// session is not committed.
	ErrEncode = errors.New("sesame: cannot encode session value")

	// ErrNoSession is returned by methods that need a session stored on the
	// server when the request has none.
	ErrNoSession = errors.New("sesame: no stored session")

	// ErrLockTimeout is returned when a per-session lock could not be taken
	// within its wait timeout; see [Manager.Lock].
	ErrLockTimeout = errors.New("sesame: timed out waiting for session lock")

	// ErrTooLarge is reported when a session's values exceed the store's
	// size limit at commit. The stored session is kept as it was.
	ErrTooLarge = errors.New("sesame: session too large")

	// ErrOutcomeUnknown is reported when a commit reached the store but no
	// answer came back, and the store could not find out before its
	// timeout whether the change took effect. It wraps
	// [ErrStoreUnavailable] (so the default error handler answers 503);
	// test for it to tell such commits apart in metrics or to tell the user
	// to check before retrying. A commit the store acknowledged is never
	// reported as failed.
	ErrOutcomeUnknown = fmt.Errorf("sesame: commit outcome unknown: %w", ErrStoreUnavailable)

	// ErrInvalid is reported when a request gave the session input no store
	// accepts: a key that is not valid UTF-8 or longer than 256 bytes, or a
	// user ID ([Session.SetUser]) that is not valid UTF-8, holds a control
	// character or is longer than 255 bytes. It is the app's mistake, not a
	// store outage: the default error handler answers 500, and nothing of
	// the request is stored.
	ErrInvalid = errors.New("sesame: invalid session input")

	// ErrForbidden marks a request refused as a likely forgery: every
	// error wrapping [ErrCrossOrigin] wraps it, and so do the token failures
	// of package csrf. The default error handler answers 403 Forbidden; an
	// app that renders its own errors needs only this one test for all of
	// them.
	ErrForbidden = errors.New("sesame: request refused")

	// ErrCrossOrigin is reported to the ErrorHandler (and returned by
	// [Manager.Load]) when an unsafe request from another origin is
	// refused; see [CrossOriginConfig]. It wraps [ErrForbidden]: the
	// default handler answers 403 Forbidden.
	ErrCrossOrigin error = &forbidden{"sesame: cross-origin request refused"}

	// ErrUncommitted is reported when changes to a session cannot be
	// committed because the response began without them: the handler wrote
	// its response around the ResponseWriter that [Manager.Handler] passed
	// on (a framework adapter that hands on the request but not the
	// writer), or changed the session after the response began in a way
	// that needs a new cookie (a new session, [Session.Regenerate],
	// [Session.Destroy]). Nothing of such a change is stored; sesame logs
	// it at Error and emits an [EventUncommitted]. [Manager.Save] returns it
	// for such a change made after an earlier Save.
	ErrUncommitted = errors.New("sesame: session changes not committed")

	// ErrNotList is reported when [Session.Push] appends to a value that
	// is not a JSON array. Nothing of the request's change set is stored.
	ErrNotList = errors.New("sesame: value is not a list")
)

// forbidden is a sentinel error that [errors.Is] also matches with
// [ErrForbidden], without repeating its message.
type forbidden struct{ msg string }

func (e *forbidden) Error() string { return e.msg }
func (e *forbidden) Unwrap() error { return ErrForbidden }

func encodeError(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrEncode, what, err)
}
