// Package metrics exports what sesame does as Prometheus metrics: sessions
// created, regenerated, destroyed, expired and evicted, anomalies, lost
// updates, every store operation with its latency, the errors requests failed
// with, the size of Cookie headers and of sessions, and CSRF and remember-me
// failures.
//
// It is a package of its own so that sesame itself never imports the
// Prometheus client; an app that does not use it compiles none of it.
//
// # Wiring
//
// Nothing is registered on import. The app creates a [Metrics] on a
// registry of its choice, hands [Metrics.Observe] to the session manager,
// and puts [Metrics.Handler] in front of its handlers:
//
//	reg := prometheus.NewRegistry()
//	met, err := metrics.New(reg)
//	if err != nil {
//		log.Fatal(err)
//	}
//	sessions, err := sesame.New(sesame.Config{
//		Store:        st,
//		OnEvent:      met.Observe,
//		ErrorHandler: met.ErrorHandler(nil), // counts failed requests, answers 503/500
//	})
//	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//	http.ListenAndServe(addr, met.Handler(sessions.Handler(mux)))
//
// An app with several managers (two cookie names, say) may share one
// Metrics, or give each its own on prometheus.WrapRegistererWith(
// prometheus.Labels{"manager": "admin"}, reg).
//
// # Metrics
//
// Every name starts with [Options.Namespace], "sesame" by default:
//
//	sesame_sessions_created_total                     counter
//	sesame_sessions_regenerated_total                 counter
//	sesame_sessions_destroyed_total{reason}           counter: destroy, logout-others, logout-everywhere
//	sesame_sessions_expired_total{reason}             counter: expired, idle, absolute, unknown
//	sesame_session_anomalies_total{reason}            counter: ip, user-agent
//	sesame_lost_updates_total                         counter: change sets dropped, the session being gone
//	sesame_uncommitted_total{reason}                  counter: written-around, after-response (a bug to fix)
//	sesame_sessions_evicted_total                     counter: live sessions the store evicted (memstore's bounds)
//	sesame_store_operations_total{op,outcome}         counter: outcome ok, error, timeout, canceled
//	sesame_store_operation_duration_seconds{op}       histogram
//	sesame_errors_total{kind}                         counter: requests answered by the error handler
//	sesame_cookie_header_bytes                        histogram: requests that carry cookies
//	sesame_cookie_size_warnings_total{kind}           counter: header (over the limit), cookie (nearing 4 KB)
//	sesame_session_bytes                              histogram: session size at each load and creation
//	sesame_csrf_failures_total{reason}                counter: cross_origin, missing_token, bad_token, store_unavailable, other
//	sesame_remember_failures_total{kind}              counter: theft, invalid, store_error (or the app's own kinds)
//
// The op label is one of the store calls sesame makes: load, apply, delete,
// rename, take, lock and unlock. Label sets that are known in advance are
// created at zero, so rate() and absent() work from the first scrape.
//
// # Session size
//
// Sessions are measured from the events the manager already sends: the
// size (keys plus encoded values, as store.Size measures it) of each session loaded from
// the store, and of each session created. A request that does not touch its
// session costs nothing, and the distribution is weighted by use: a session
// read on every request counts on every request. Empty sessions are not
// observed.
//
// # Cookie sizes
//
// [Metrics.Handler] measures each request's Cookie header. A header over
// [Options.CookieHeaderLimit] (1 KB by default) and a single cookie of at
// least [Options.CookieLimit] bytes (3.5 KB by default; browsers drop
// cookies over 4 KB) are counted and logged at Warn with the request path and
// the names, never the values, of the largest cookies. Warnings are logged at
// most once a minute per kind ([Options.WarnInterval]) so that one client
// with a huge cookie cannot flood the log; the metric counts every request.
//
// # CSRF and remember-me
//
// [Metrics.CSRFErrorHandler] wraps the csrf package's error handler and
// counts each rejection by reason; [Metrics.OnRememberTheft] fits the
// remember package's OnTheft hook; [Metrics.CSRFFailure] and
// [Metrics.RememberFailure] count failures the app detects itself.
package metrics
