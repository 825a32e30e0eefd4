//go:build !metrics

package main

import "net/http"

// newMetrics returns no metrics: the default build leaves Prometheus out,
// so that a first "go run ./examples/shop" compiles less. Build with
// -tags metrics for GET /metrics.
func newMetrics() (observer, http.Handler, error) { return nil, nil, nil }
