package otel

import (
	"context"
	"errors"
	"fmt"

	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/store"
)

// StoreBuckets are the bucket boundaries, in seconds, of the store latency
// histogram: from 100 µs (an in-memory store) to 5 s (sesame's default store
// timeout), as in package metrics. A View of the MeterProvider can replace
// them.
var StoreBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// SessionBuckets are the bucket boundaries, in bytes, of the session size
// histogram: 64 B to 4 MiB, each four times the one before, as in package
// metrics.
var SessionBuckets = []float64{64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304}

// storeOps are the operations sesame reports in events, whose attribute sets
// are made once.
var storeOps = []string{"load", "apply", "delete", "rename", "take", "lock", "unlock"}

// metricOutcomes are the outcomes of the store operations metric: those of
// package metrics' outcome label, indexed like its own.
var metricOutcomes = [...]Outcome{OutcomeOK, OutcomeError, OutcomeTimeout, OutcomeCanceled, OutcomeUnknown}

// Metrics records sesame's session metrics with OpenTelemetry instruments:
// the series package metrics records for Prometheus from the manager's
// events. Create it with [NewMetrics] and pass [Metrics.Observe] as
// sesame.Config.OnEvent. Its methods are safe for concurrent use.
//
// A nil *Metrics is valid and records nothing.
type Metrics struct {
	created     metric.Int64Counter
	regenerated metric.Int64Counter
	destroyed   metric.Int64Counter
	expired     metric.Int64Counter
	anomalies   metric.Int64Counter
	lost        metric.Int64Counter
	evicted     metric.Int64Counter
	storeOps    metric.Int64Counter
	storeTime   metric.Float64Histogram
	sessionSize metric.Float64Histogram

	// ops holds the attribute sets of the known operations, so that
	// Observe makes none on the hot path.
	ops map[string]*opAttrs
}

type opAttrs struct {
	duration []metric.RecordOption
	outcome  [len(metricOutcomes)][]metric.AddOption
}

// NewMetrics returns a Metrics whose instruments come from a meter of mp
// named [ScopeName]. A nil mp means the global provider,
// otel.GetMeterProvider(), at the time of the call. It returns an error when
// the provider refuses an instrument.
//
// The instruments are:
//
//	sesame.sessions.created           counter    {session}
//	sesame.sessions.regenerated       counter    {session}
//	sesame.sessions.destroyed         counter    {session}  sesame.reason: destroy, logout-others, logout-everywhere
//	sesame.sessions.expired           counter    {session}  sesame.reason: expired, idle, absolute
//	sesame.session.anomalies          counter    {session}  sesame.reason: ip, user-agent
//	sesame.lost_updates               counter    {change}   change sets dropped, the session being gone
//	sesame.sessions.evicted           counter    {session}  live sessions the store evicted (memstore's bounds)
//	sesame.store.operations           counter    {call}     sesame.store.operation, sesame.store.outcome
//	sesame.store.operation.duration   histogram  s          sesame.store.operation
//	sesame.session.size               histogram  By         sessions at each load and creation
//
// The outcome of sesame.store.operations is one of ok, error, timeout,
// canceled and unknown, as in package metrics; see [Outcome].
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	if mp == nil {
		mp = otelapi.GetMeterProvider()
	}
	meter := mp.Meter(ScopeName)
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	histogram := func(name, unit, desc string, buckets []float64) metric.Float64Histogram {
		h, err := meter.Float64Histogram(name, metric.WithUnit(unit), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(buckets...))
		errs = append(errs, err)
		return h
	}
	m := &Metrics{
		created:     counter("sesame.sessions.created", "{session}", "Sessions stored for the first time."),
		regenerated: counter("sesame.sessions.regenerated", "{session}", "Sessions given a new ID (login, logout, privilege change)."),
		destroyed: counter("sesame.sessions.destroyed", "{session}",
			"Sessions deleted: by Session.Destroy (destroy) or in bulk for a user (logout-others, logout-everywhere)."),
		expired: counter("sesame.sessions.expired", "{session}",
			"Sessions that a request found expired, each counted once: store expiry passed (expired), idle or absolute timeout."),
		anomalies: counter("sesame.session.anomalies", "{session}", "Sessions used from another client than the one that logged in."),
		lost: counter("sesame.lost_updates", "{change}",
			"Change sets dropped because the session was destroyed or regenerated by a concurrent request."),
		evicted: counter("sesame.sessions.evicted", "{session}",
			"Live sessions the store evicted to stay within its bounds (memstore's MaxMemory or MaxSessions)."),
		storeOps:    counter("sesame.store.operations", "{call}", "Store calls made by sesame, by operation and outcome."),
		storeTime:   histogram("sesame.store.operation.duration", "s", "Latency of the store calls made by sesame.", StoreBuckets),
		sessionSize: histogram("sesame.session.size", "By", "Size of sessions (keys and encoded values) at each load from the store and at creation.", SessionBuckets),
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("otel: creating instruments: %w", err)
	}
	m.ops = make(map[string]*opAttrs, len(storeOps))
	for _, op := range storeOps {
		m.ops[op] = newOpAttrs(op)
	}
	return m, nil
}

func newOpAttrs(op string) *opAttrs {
	a := &opAttrs{duration: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(AttrOperation.String(op)))}}
	for i, out := range metricOutcomes {
		a.outcome[i] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
			AttrOperation.String(op), AttrOutcome.String(string(out))))}
	}
	return a
}

// Observe records one session event. Pass it as sesame.Config.OnEvent (with
// [AddSpanEvent] too, if you like: see the package example). ctx is the
// request's context, so exemplars link measurements to the request's trace.
func (m *Metrics) Observe(ctx context.Context, e sesame.Event) {
	if m == nil {
		return
	}
	switch e.Kind {
	case sesame.EventStoreOp:
		m.observeStore(ctx, e)
	case sesame.EventCreated:
		m.created.Add(ctx, 1)
		if e.Size > 0 {
			m.sessionSize.Record(ctx, float64(e.Size))
		}
	case sesame.EventRegenerated:
		m.regenerated.Add(ctx, 1)
	case sesame.EventDestroyed:
		switch {
		case e.Reason == "":
			m.destroyed.Add(ctx, 1, metric.WithAttributes(AttrReason.String("destroy")))
		case e.Count > 0:
			m.destroyed.Add(ctx, int64(e.Count), metric.WithAttributes(AttrReason.String(e.Reason)))
		}
	case sesame.EventExpired:
		m.expired.Add(ctx, 1, metric.WithAttributes(AttrReason.String(orOther(e.Reason))))
	case sesame.EventAnomaly:
		m.anomalies.Add(ctx, 1, metric.WithAttributes(AttrReason.String(orOther(e.Reason))))
	case sesame.EventLost:
		m.lost.Add(ctx, 1)
	case sesame.EventEvicted:
		m.evicted.Add(ctx, int64(e.Count))
	}
}

// observeStore records a store call, classified as package metrics does.
func (m *Metrics) observeStore(ctx context.Context, e sesame.Event) {
	out := 0 // ok
	switch {
	case e.Err == nil:
	case errors.Is(e.Err, store.ErrOutcomeUnknown):
		out = 4
	case errors.Is(e.Err, context.DeadlineExceeded):
		out = 2
	case errors.Is(e.Err, context.Canceled):
		out = 3
	default:
		out = 1
	}
	a := m.ops[e.Op]
	if a == nil {
		a = newOpAttrs(orOther(e.Op))
	}
	m.storeTime.Record(ctx, e.Duration.Seconds(), a.duration...)
	m.storeOps.Add(ctx, 1, a.outcome[out]...)
	if e.Op == "load" && e.Err == nil && e.Size > 0 {
		m.sessionSize.Record(ctx, float64(e.Size))
	}
}

func orOther(s string) string {
	if s == "" {
		return "other"
	}
	return s
}
