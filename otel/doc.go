// Package otel traces sesame's store calls and records its session metrics
// with OpenTelemetry.
//
// It is a module of its own (github.com/sesamego/sesame/otel), so that
// sesame itself never imports OpenTelemetry. Its name is the same as
// go.opentelemetry.io/otel's: import it under another, for example
// sesameotel.
//
// # Wiring
//
// Wrap the store with [WrapStore], hand [Metrics.Observe] (and, if you like,
// [AddSpanEvent]) to the manager's OnEvent, and start the request's span
// outside sesame's middleware (otelhttp does), so that the span is in the
// request's context when sesame loads and commits the session:
//
//	st := sesameotel.WrapStore(redisStore, sesameotel.TraceOptions{Name: "sessions"})
//	met, err := sesameotel.NewMetrics(nil) // nil: the global MeterProvider
//	if err != nil {
//		log.Fatal(err)
//	}
//	sessions, err := sesame.New(sesame.Config{
//		Store: st,
//		OnEvent: func(ctx context.Context, e sesame.Event) {
//			met.Observe(ctx, e)            // the metrics
//			sesameotel.AddSpanEvent(ctx, e) // created, regenerated, ... on the request's span
//		},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.ListenAndServe(addr, otelhttp.NewHandler(sessions.Handler(mux), "server"))
//
// A nil TracerProvider or MeterProvider means the global one
// (otel.GetTracerProvider, otel.GetMeterProvider) at the time WrapStore or
// NewMetrics is called: set the global providers first, or pass your own.
//
// # Spans
//
// Each store call is a span named after its operation
// ("sesame.store.load", "sesame.store.apply", "sesame.store.take", ...), a
// child of the span in the call's context: the request's span for the calls
// sesame makes while serving a request (commits included: they run after
// the handler, still inside the request's span). It carries the store's
// name, the operation, the outcome and the first 12 hex characters of the
// session's store key (the same hash prefix as sesame.Event.Hash and
// sesame's logs), never the session ID, a value, a user ID or a remember-me
// token. A failure is recorded on the span, whose status is then Error.
//
// # Outcomes
//
// The outcome attribute of a span tells how the call ended; the store
// operations metric uses the outcomes of package metrics (the Prometheus
// module), of which the span's are a refinement:
//
//	span outcome   metric outcome   meaning
//	ok             ok               the call succeeded
//	not_found      ok               no live record (a load or take that found nothing, an update of a session that is gone)
//	exists         ok               a create found a live record under the key
//	unavailable    error            the backing service failed (store.ErrUnavailable)
//	error          error            any other error: too large, not a number, a malformed key
//	timeout        timeout          the call ran out of time (StoreTimeout)
//	canceled       canceled         the request's client went away
//	unknown        unknown          the change reached the store but its result is unknown (store.ErrOutcomeUnknown)
//
// # Metrics
//
// [NewMetrics] lists the instruments: the series package metrics records
// for Prometheus from the manager's events, named after OpenTelemetry's
// conventions (sesame.sessions.created, sesame.store.operations,
// sesame.store.operation.duration in seconds, sesame.session.size in bytes,
// ...). Measurements are recorded with the request's context, so a
// MeterProvider with exemplars links them to the request's trace.
//
// # Capabilities
//
// [WrapStore] uses [store.Wrap], so the traced store keeps the optional
// interfaces of the store it wraps: Manager.Lock, flash messages taken
// exactly once, the devices list and remember-me tokens work as before, and
// their calls are traced too.
package otel
