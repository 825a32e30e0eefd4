//go:build metrics

package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sesamego/sesame/metrics"
)

// newMetrics returns sesame's Prometheus metrics and the /metrics handler
// that serves them with the Go runtime's and the process's.
func newMetrics() (observer, http.Handler, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	met, err := metrics.New(reg)
	if err != nil {
		return nil, nil, err
	}
	return met, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}
