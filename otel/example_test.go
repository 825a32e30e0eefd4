package otel_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/memstore"
	sesameotel "github.com/sesamego/sesame/otel"
)

// A request under a span: sesame's store calls are its children, and the
// session metrics are recorded. The providers here keep what they record in
// memory; an app passes its own (or nil, for the global ones).
func Example() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	met, err := sesameotel.NewMetrics(mp)
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := sesame.New(sesame.Config{
		Store: sesameotel.WrapStore(memstore.New(), sesameotel.TraceOptions{Name: "sessions", TracerProvider: tp}),
		OnEvent: func(ctx context.Context, e sesame.Event) {
			met.Observe(ctx, e)
			sesameotel.AddSpanEvent(ctx, e)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Put("cart", 3)
	}))
	// The request's span, started outside sesame's middleware (as
	// otelhttp.NewHandler does).
	server := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tp.Tracer("example").Start(r.Context(), "POST /cart")
		defer span.End()
		app.ServeHTTP(w, r.WithContext(ctx))
	})
	server.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "https://example.com/cart", nil))

	for _, s := range spans.GetSpans() {
		fmt.Print(s.Name)
		for _, kv := range s.Attributes {
			if kv.Key == sesameotel.AttrOperation || kv.Key == sesameotel.AttrOutcome || kv.Key == sesameotel.AttrStoreName {
				fmt.Printf(" %s=%s", kv.Key, kv.Value.String())
			}
		}
		for _, e := range s.Events {
			fmt.Print(" event:", e.Name)
		}
		fmt.Println()
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
			fmt.Println(m.Name, sum.DataPoints[0].Value)
		}
	}
	// Output:
	// sesame.store.apply sesame.store.name=sessions sesame.store.operation=apply sesame.store.outcome=ok
	// POST /cart event:sesame.session.created
	// sesame.sessions.created 1
	// sesame.store.operations 1
}
