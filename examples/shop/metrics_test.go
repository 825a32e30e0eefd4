//go:build metrics

package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	met, h, err := newMetrics()
	if err != nil {
		t.Fatal(err)
	}
	srv := newServerWith(t, "memory", serverOptions{config: func(cfg *appConfig) {
		cfg.Met = met
		cfg.Metrics = h
	}})
	c := srv.client(t)
	c.submitSeeOther("/", "/cart/add", url.Values{"sku": {"mug"}}, "/")
	r := c.get("/metrics")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", r.StatusCode)
	}
	for _, want := range []string{"sesame_sessions_created_total 1", `sesame_store_operations_total{op="apply",outcome="ok"}`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if r := newServer(t, "memory").client(t).get("/metrics"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without a handler: %d, want 404", r.StatusCode)
	}
}
