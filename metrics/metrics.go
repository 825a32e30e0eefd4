package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/store"
)

// Defaults for [Options] fields left at zero.
const (
	// DefaultNamespace starts every metric name.
	DefaultNamespace = "sesame"

	// DefaultCookieHeaderLimit is the Cookie header size, in bytes, above
	// which [Metrics.Handler] warns: 1 KB.
	DefaultCookieHeaderLimit = 1024

	// DefaultCookieLimit is the size of one cookie (name, "=" and value), in
	// bytes, from which [Metrics.Handler] warns that it nears the 4096 bytes
	// browsers accept: 3.5 KB.
	DefaultCookieLimit = 3584

	// DefaultWarnInterval is how often, at most, [Metrics.Handler] logs a
	// warning of one kind.
	DefaultWarnInterval = time.Minute
)

// DefaultStoreBuckets are the upper bounds, in seconds, of the store latency
// histogram: from 100 µs (an in-memory store) to 5 s (sesame's default store
// timeout).
var DefaultStoreBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// Buckets of the size histograms, in bytes.
var (
	cookieHeaderBuckets = []float64{64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384}
	sessionBuckets      = prometheus.ExponentialBuckets(64, 4, 9) // 64 B to 4 MiB
)

// Label values known in advance, created at zero.
var (
	storeOps        = []string{"load", "apply", "delete", "rename", "take", "lock", "unlock"}
	outcomes        = []string{OutcomeOK, OutcomeError, OutcomeTimeout, OutcomeCanceled, OutcomeUnknown}
	expiredReasons  = []string{"expired", "idle", "absolute"}
	anomalyReasons  = []string{"ip", "user-agent"}
	destroyReasons  = []string{"destroy", "logout-others", "logout-everywhere"}
	uncommitReasons = []string{"written-around", "after-response"}
	errorKinds      = []string{ErrorStoreUnavailable, ErrorLockTimeout, ErrorEncode, ErrorTooLarge, ErrorOther}
	csrfReasons     = []string{CSRFCrossOrigin, CSRFMissingToken, CSRFBadToken, CSRFStoreUnavailable, CSRFOther}
	rememberKinds   = []string{RememberTheft, RememberInvalid, RememberStoreError}
	cookieWarnKinds = []string{"header", "cookie"}
)

// Outcomes of a store operation, the outcome label of
// sesame_store_operations_total.
const (
	OutcomeOK       = "ok"
	OutcomeError    = "error"    // the store failed
	OutcomeTimeout  = "timeout"  // the store call ran out of time
	OutcomeCanceled = "canceled" // the request's context was cancelled (the client went away)
	// OutcomeUnknown: the change reached the store but no answer came back,
	// and the store could not find out whether it took effect
	// (store.ErrOutcomeUnknown).
	OutcomeUnknown = "unknown"
)

// Options configures a [Metrics]. The zero value selects every default.
type Options struct {
	// Namespace starts every metric name. Empty means DefaultNamespace,
	// "sesame".
	Namespace string

	// StoreBuckets are the upper bounds, in seconds, of the buckets of
	// the store latency histogram. Nil means DefaultStoreBuckets.
	StoreBuckets []float64

	// CookieHeaderLimit is the size in bytes of a request's Cookie
	// header above which [Metrics.Handler] counts and logs a warning. Zero
	// means DefaultCookieHeaderLimit (1 KB); negative never warns.
	CookieHeaderLimit int

	// CookieLimit is the size in bytes (name, "=" and value) from which one
	// cookie counts as nearing the 4096 bytes browsers keep. Zero means
	// DefaultCookieLimit (3.5 KB); negative never warns.
	CookieLimit int

	// WarnInterval is the shortest time between two warnings of one kind
	// logged by [Metrics.Handler]; the warnings in between are counted and
	// reported with the next one. Zero means DefaultWarnInterval (1
	// minute); negative logs every warning.
	WarnInterval time.Duration

	// Logger receives the warnings of [Metrics.Handler]. Nil means
	// slog.Default() at the time of logging.
	Logger *slog.Logger
}

// Metrics holds sesame's Prometheus collectors. Create it with [New] or
// [NewWithOptions]; all of its methods are safe for concurrent use.
//
// A nil *Metrics is valid and records nothing: its hooks do nothing, and
// its wrappers return what they wrap (or the default handler), so an app can
// wire metrics unconditionally and turn them off by leaving the pointer nil.
type Metrics struct {
	created     prometheus.Counter
	regenerated prometheus.Counter
	destroyed   *prometheus.CounterVec
	expired     *prometheus.CounterVec
	anomalies   *prometheus.CounterVec
	lost        prometheus.Counter
	uncommitted *prometheus.CounterVec
	evicted     prometheus.Counter
	storeOps    *prometheus.CounterVec
	storeTime   *prometheus.HistogramVec
	errors      *prometheus.CounterVec
	cookieBytes prometheus.Histogram
	cookieWarns *prometheus.CounterVec
	sessionSize prometheus.Histogram
	csrf        *prometheus.CounterVec
	remember    *prometheus.CounterVec

	// ops caches the collectors of the known store operations, so that
	// Observe does no label lookup on the hot path.
	ops map[string]*opCollectors

	headerLimit int
	cookieLimit int
	warnEvery   time.Duration
	logger      *slog.Logger
	warnHeader  rateLimiter
	warnCookie  rateLimiter

	now func() time.Time // the clock of the warning limiter; tests replace it
}

type opCollectors struct {
	duration prometheus.Observer
	outcome  [5]prometheus.Counter // indexed like outcomes
}

// New returns a Metrics with the default options whose collectors are
// registered on reg. See [NewWithOptions].
func New(reg prometheus.Registerer) (*Metrics, error) {
	return NewWithOptions(reg, Options{})
}

// NewWithOptions returns a Metrics configured by o whose collectors are
// registered on reg. It returns an error when reg is nil, when an option is
// invalid, or when reg refuses a collector (for example because a Metrics of
// the same namespace is already registered on it); nothing stays registered
// then.
func NewWithOptions(reg prometheus.Registerer, o Options) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("metrics: nil prometheus.Registerer")
	}
	ns := o.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	buckets := o.StoreBuckets
	if buckets == nil {
		buckets = DefaultStoreBuckets
	}
	for i := 1; i < len(buckets); i++ {
		if buckets[i] <= buckets[i-1] {
			return nil, errors.New("metrics: StoreBuckets must be in increasing order")
		}
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help})
	}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		created:     counter("sessions_created_total", "Sessions stored for the first time."),
		regenerated: counter("sessions_regenerated_total", "Sessions given a new ID (login, logout, privilege change)."),
		destroyed: counterVec("sessions_destroyed_total",
			"Sessions deleted: by Session.Destroy (destroy) or in bulk for a user (logout-others, logout-everywhere).", "reason"),
		expired: counterVec("sessions_expired_total",
			"Sessions that a request found expired, each counted once: store expiry passed (expired), idle or absolute timeout.", "reason"),
		anomalies: counterVec("session_anomalies_total",
			"Sessions used from another client than the one that logged in.", "reason"),
		lost: counter("lost_updates_total",
			"Change sets dropped because the session was destroyed or regenerated by a concurrent request."),
		uncommitted: counterVec("uncommitted_total",
			"Session changes that could not be committed because the response began without them (a bug in the app): written-around, after-response.", "reason"),
		evicted: counter("sessions_evicted_total",
			"Live sessions the store evicted to stay within its bounds (memstore's MaxMemory or MaxSessions)."),
		storeOps: counterVec("store_operations_total", "Store calls made by sesame, by operation and outcome.", "op", "outcome"),
		storeTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "store_operation_duration_seconds",
			Help:    "Latency of the store calls made by sesame.",
			Buckets: buckets,
		}, []string{"op"}),
		errors: counterVec("errors_total",
			"Requests answered by the session error handler, by cause.", "kind"),
		cookieBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "cookie_header_bytes",
			Help:    "Size of the Cookie header of requests that carry one.",
			Buckets: cookieHeaderBuckets,
		}),
		cookieWarns: counterVec("cookie_size_warnings_total",
			"Requests whose Cookie header is over the limit (header) or that carry a cookie nearing 4 KB (cookie).", "kind"),
		sessionSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "session_bytes",
			Help:    "Size of sessions (keys and encoded values) at each load from the store and at creation.",
			Buckets: sessionBuckets,
		}),
		csrf:     counterVec("csrf_failures_total", "Requests rejected by CSRF protection, by reason.", "reason"),
		remember: counterVec("remember_failures_total", "Remember-me logins that failed, by kind.", "kind"),

		headerLimit: o.CookieHeaderLimit,
		cookieLimit: o.CookieLimit,
		warnEvery:   o.WarnInterval,
		logger:      o.Logger,
		now:         time.Now,
	}
	if m.headerLimit == 0 {
		m.headerLimit = DefaultCookieHeaderLimit
	}
	if m.cookieLimit == 0 {
		m.cookieLimit = DefaultCookieLimit
	}
	if m.warnEvery == 0 {
		m.warnEvery = DefaultWarnInterval
	}

	// Create the known label sets at zero.
	m.ops = make(map[string]*opCollectors, len(storeOps))
	for _, op := range storeOps {
		oc := &opCollectors{duration: m.storeTime.WithLabelValues(op)}
		for i, out := range outcomes {
			oc.outcome[i] = m.storeOps.WithLabelValues(op, out)
		}
		m.ops[op] = oc
	}
	for _, vals := range []struct {
		vec    *prometheus.CounterVec
		values []string
	}{
		{m.destroyed, destroyReasons},
		{m.expired, expiredReasons},
		{m.anomalies, anomalyReasons},
		{m.uncommitted, uncommitReasons},
		{m.errors, errorKinds},
		{m.cookieWarns, cookieWarnKinds},
		{m.csrf, csrfReasons},
		{m.remember, rememberKinds},
	} {
		for _, v := range vals.values {
			vals.vec.WithLabelValues(v)
		}
	}

	collectors := []prometheus.Collector{
		m.created, m.regenerated, m.destroyed, m.expired, m.anomalies, m.lost, m.uncommitted,
		m.evicted, m.storeOps, m.storeTime, m.errors, m.cookieBytes, m.cookieWarns,
		m.sessionSize, m.csrf, m.remember,
	}
	for i, c := range collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range collectors[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("metrics: registering collector: %w", err)
		}
	}
	return m, nil
}

// Observe records one session event. Pass it as [sesame.Config.OnEvent]; it
// allocates nothing for the events of an ordinary request.
func (m *Metrics) Observe(_ context.Context, e sesame.Event) {
	if m == nil {
		return
	}
	switch e.Kind {
	case sesame.EventStoreOp:
		m.observeStore(e)
	case sesame.EventCreated:
		m.created.Inc()
		if e.Size > 0 {
			m.sessionSize.Observe(float64(e.Size))
		}
	case sesame.EventRegenerated:
		m.regenerated.Inc()
	case sesame.EventDestroyed:
		switch {
		case e.Reason == "":
			m.destroyed.WithLabelValues("destroy").Inc()
		case e.Count > 0:
			m.destroyed.WithLabelValues(e.Reason).Add(float64(e.Count))
		}
	case sesame.EventExpired:
		m.expired.WithLabelValues(orOther(e.Reason)).Inc()
	case sesame.EventAnomaly:
		m.anomalies.WithLabelValues(orOther(e.Reason)).Inc()
	case sesame.EventLost:
		m.lost.Inc()
	case sesame.EventUncommitted:
		m.uncommitted.WithLabelValues(orOther(e.Reason)).Inc()
	case sesame.EventEvicted:
		m.evicted.Add(float64(e.Count))
	}
}

func (m *Metrics) observeStore(e sesame.Event) {
	out := 0 // OutcomeOK
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
	if oc := m.ops[e.Op]; oc != nil {
		oc.duration.Observe(e.Duration.Seconds())
		oc.outcome[out].Inc()
	} else {
		op := orOther(e.Op)
		m.storeTime.WithLabelValues(op).Observe(e.Duration.Seconds())
		m.storeOps.WithLabelValues(op, outcomes[out]).Inc()
	}
	if e.Op == "load" && e.Err == nil && e.Size > 0 {
		m.sessionSize.Observe(float64(e.Size))
	}
}

// ObserveSessionSize records the size in bytes of one session, for apps that
// measure sessions themselves (Observe already records the size of every
// session loaded or created).
func (m *Metrics) ObserveSessionSize(bytes int) {
	if m == nil {
		return
	}
	m.sessionSize.Observe(float64(bytes))
}

func orOther(s string) string {
	if s == "" {
		return "other"
	}
	return s
}

// rateLimiter lets one event through per interval and counts the others.
type rateLimiter struct {
	last       atomic.Int64 // Unix nanoseconds of the last event let through; 0: never
	suppressed atomic.Int64
}

// allow reports whether an event at now may be logged, and how many were
// suppressed since the last one that was.
func (l *rateLimiter) allow(now time.Time, every time.Duration) (bool, int64) {
	if every < 0 {
		return true, 0
	}
	t := now.UnixNano()
	last := l.last.Load()
	if (last != 0 && t-last < int64(every)) || !l.last.CompareAndSwap(last, t) {
		l.suppressed.Add(1)
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}

func (m *Metrics) log() *slog.Logger {
	if m.logger != nil {
		return m.logger
	}
	return slog.Default()
}

// label values are bounded: the app's own kinds are cut to this length.
const maxLabelLen = 64

func cleanLabel(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxLabelLen {
		s = s[:maxLabelLen]
	}
	return orOther(s)
}
