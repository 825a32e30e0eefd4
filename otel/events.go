package otel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesamego/sesame"
)

// AddSpanEvent adds a session event to the span in ctx, the request's span
// when sesame calls OnEvent while serving a request: "sesame.session.created",
// "sesame.session.regenerated", "sesame.session.destroyed",
// "sesame.session.expired", "sesame.session.anomaly" or
// "sesame.session.lost_update_dropped", with [AttrSessionHash] and
// [AttrReason] (and [AttrCount] for a destroy of several sessions) when the
// event has them. It never adds the user ID.
//
// Store calls (sesame.EventStoreOp) are not added: [WrapStore] gives each
// its own span. Nothing is done when ctx carries no recording span. Its
// signature fits sesame.Config.OnEvent.
func AddSpanEvent(ctx context.Context, e sesame.Event) {
	if e.Kind == sesame.EventStoreOp || e.Kind == 0 {
		return
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 3)
	if e.Hash != "" {
		attrs = append(attrs, AttrSessionHash.String(e.Hash))
	}
	if e.Reason != "" {
		attrs = append(attrs, AttrReason.String(e.Reason))
	}
	if e.Count != 0 {
		attrs = append(attrs, AttrCount.Int(e.Count))
	}
	span.AddEvent("sesame.session."+e.Kind.String(), trace.WithAttributes(attrs...))
}
