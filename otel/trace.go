package otel

import (
	"context"
	"errors"
	"fmt"

	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesamego/sesame/store"
)

// ScopeName is the instrumentation scope of sesame's tracer and meter: this
// package's import path.
const ScopeName = "github.com/sesamego/sesame/otel"

// The attributes of sesame's spans and metrics.
const (
	// AttrStoreName is the store's name: [TraceOptions.Name], or the store's
	// Go type.
	AttrStoreName = attribute.Key("sesame.store.name")

	// AttrOperation is the store operation: load, apply, delete, rename,
	// take, lock, unlock, prune, list, user_sessions, delete_user_sessions,
	// create_token, lookup_token, rotate_token, delete_token,
	// delete_user_tokens (the String of a store.Op).
	AttrOperation = attribute.Key("sesame.store.operation")

	// AttrOutcome is how a store operation ended; see [Outcome].
	AttrOutcome = attribute.Key("sesame.store.outcome")

	// AttrSessionHash is the first 12 hex characters of the session's store
	// key, the SHA-256 of its ID (as sesame.Event.Hash): enough to
	// correlate a trace with logs, useless to an attacker. It is set on the
	// spans of operations on one session.
	AttrSessionHash = attribute.Key("sesame.session.hash")

	// AttrNewSessionHash is the hash prefix of the new key of a rename.
	AttrNewSessionHash = attribute.Key("sesame.session.new_hash")

	// AttrLockAcquired reports whether a lock operation took the lock.
	AttrLockAcquired = attribute.Key("sesame.lock.acquired")

	// AttrTokenRotated reports whether a rotate_token operation swapped the
	// token (false: another request rotated it first, or it is gone).
	AttrTokenRotated = attribute.Key("sesame.token.rotated")

	// AttrCount is how many records or tokens an operation deleted, listed
	// or returned: prune, list, user_sessions, delete_user_sessions and
	// delete_user_tokens.
	AttrCount = attribute.Key("sesame.store.count")

	// AttrReason is the reason of a session event: the reason label of the
	// destroyed, expired and anomalies metrics, and of span events.
	AttrReason = attribute.Key("sesame.reason")
)

// Outcome is how a store operation ended, the value of [AttrOutcome].
//
// Spans carry the finest outcome the store call tells; the store operations
// metric carries the outcomes of package metrics' outcome label (ok,
// error, timeout, canceled, unknown), of which the span outcomes are a
// refinement: not_found and exists count as ok there, and unavailable as
// error.
type Outcome string

// The outcomes.
const (
	OutcomeOK       Outcome = "ok"
	OutcomeNotFound Outcome = "not_found" // no live record (or value, or token): a load or take that found nothing, an update of a session that is gone
	OutcomeExists   Outcome = "exists"    // a create found a live record under the key (store.ErrExists)
	OutcomeTimeout  Outcome = "timeout"   // the call ran out of time (context.DeadlineExceeded)
	OutcomeCanceled Outcome = "canceled"  // the request's context was cancelled (the client went away)
	// OutcomeUnknown: the change reached the store but no answer came back,
	// and the store could not find out whether it took effect
	// (store.ErrOutcomeUnknown).
	OutcomeUnknown     Outcome = "unknown"
	OutcomeUnavailable Outcome = "unavailable" // the backing service failed (store.ErrUnavailable)
	OutcomeError       Outcome = "error"       // any other error: a record too large, a value that is not a number, a malformed key
)

// outcome classifies a store call that returned err after the wrapper saw
// c. The order matters: ErrOutcomeUnknown wraps ErrUnavailable, and a store
// wraps a context's error in ErrUnavailable.
func outcome(c *store.Call, err error) Outcome {
	switch {
	case err == nil:
		if !c.Found && (c.Op == store.OpLoad || c.Op == store.OpTake || c.Op == store.OpLookupToken) {
			return OutcomeNotFound
		}
		return OutcomeOK
	case errors.Is(err, store.ErrNotFound):
		return OutcomeNotFound
	case errors.Is(err, store.ErrExists):
		return OutcomeExists
	case errors.Is(err, store.ErrOutcomeUnknown):
		return OutcomeUnknown
	case errors.Is(err, context.DeadlineExceeded):
		return OutcomeTimeout
	case errors.Is(err, context.Canceled):
		return OutcomeCanceled
	case errors.Is(err, store.ErrUnavailable):
		return OutcomeUnavailable
	default:
		return OutcomeError
	}
}

// failed reports whether an outcome marks its span as an error.
func (o Outcome) failed() bool {
	switch o {
	case OutcomeOK, OutcomeNotFound, OutcomeExists:
		return false
	}
	return true
}

// TraceOptions configures [WrapStore]. The zero value selects every default.
type TraceOptions struct {
	// Name is the store's name in the spans ([AttrStoreName]), to tell two
	// stores apart ("sessions", "sessions-eu"). Empty means the store's Go
	// type, for example "*memstore.Store".
	Name string

	// TracerProvider makes the spans. Nil means the global provider,
	// otel.GetTracerProvider(), at the time of WrapStore.
	TracerProvider trace.TracerProvider
}

// WrapStore returns st wrapped with [store.Wrap] so that each store call
// opens a span, a child of the span in the call's context: the request's
// span for the calls sesame makes while it serves a request. The span is
// named "sesame.store." and the operation ("sesame.store.load"); it carries
// [AttrStoreName], [AttrOperation], [AttrOutcome] and, for a call on one
// session, [AttrSessionHash]; lock, rotate_token and the calls that count
// add [AttrLockAcquired], [AttrTokenRotated] or [AttrCount]. A call that
// fails (an outcome other than ok, not_found and exists) records its error
// on the span and sets the span's status to Error.
//
// Spans never carry a session ID, a value, a user ID or a remember-me
// token: the wrapper does not see them (see [store.Call]). The context the
// wrapper passes to st carries the store span, so a driver's own spans (a
// Redis or SQL instrumentation) nest under it.
//
// The store WrapStore returns keeps st's optional interfaces (locking,
// taking flash messages exactly once, listing, the per-user index,
// remember-me tokens): see [store.Wrap].
func WrapStore(st store.Store, o TraceOptions) store.Store {
	tp := o.TracerProvider
	if tp == nil {
		tp = otelapi.GetTracerProvider()
	}
	name := o.Name
	if name == "" {
		name = fmt.Sprintf("%T", st)
	}
	return store.Wrap(st, &tracer{
		tracer: tp.Tracer(ScopeName),
		name:   AttrStoreName.String(name),
	})
}

// tracer is the store.Wrapper of WrapStore.
type tracer struct {
	tracer trace.Tracer
	name   attribute.KeyValue
}

// spanNames are the span names of the operations, made once.
var spanNames = func() map[store.Op]string {
	m := map[store.Op]string{}
	for op := store.OpLoad; op.String() != "unknown"; op++ {
		m[op] = "sesame.store." + op.String()
	}
	return m
}()

func (t *tracer) Around(ctx context.Context, c *store.Call, next func(context.Context) error) error {
	name, ok := spanNames[c.Op]
	if !ok {
		name = "sesame.store." + c.Op.String()
	}
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, t.name, AttrOperation.String(c.Op.String()))
	if h := hashPrefix(c.Key); h != "" {
		attrs = append(attrs, AttrSessionHash.String(h))
	}
	if h := hashPrefix(c.NewKey); h != "" {
		attrs = append(attrs, AttrNewSessionHash.String(h))
	}
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	defer span.End()

	err := next(ctx)

	out := outcome(c, err)
	attrs = append(attrs[:0], AttrOutcome.String(string(out)))
	if err == nil {
		switch c.Op {
		case store.OpLock:
			attrs = append(attrs, AttrLockAcquired.Bool(c.Found))
		case store.OpRotateToken:
			attrs = append(attrs, AttrTokenRotated.Bool(c.Found))
		case store.OpPrune, store.OpList, store.OpUserSessions, store.OpDeleteUserSessions, store.OpDeleteUserTokens:
			attrs = append(attrs, AttrCount.Int(c.Count))
		}
	}
	span.SetAttributes(attrs...)
	if out.failed() {
		span.RecordError(err)
		span.SetStatus(codes.Error, string(out))
	}
	return err
}

// hashPrefix returns the first 12 characters of a store key, or "" for
// anything that is not a key (which might be a session ID passed by
// mistake, and must not reach a trace).
func hashPrefix(key string) string {
	if !store.ValidKey(key) {
		return ""
	}
	return key[:12]
}
