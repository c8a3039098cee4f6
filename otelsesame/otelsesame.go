package otelsesame

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/driver"
)

// ScopeName is the instrumentation scope of the Meter and Tracer.
const ScopeName = "github.com/sesame-go/sesame/otelsesame"

// The names of the instruments.
const (
	// EventsMetric counts lifecycle events, by EventAttr.
	EventsMetric = "sesame.session.events"
	// StoreDurationMetric is the histogram of store call durations, in
	// seconds, by StoreAttr, OperationAttr, PhaseAttr, and OutcomeAttr or
	// ErrorTypeAttr.
	StoreDurationMetric = "sesame.store.duration"
)

// The attribute keys.
const (
	// EventAttr is the kind of an event (a sesame.EventKind: "created",
	// "logged_in", "store_failed", ...).
	EventAttr = attribute.Key("sesame.event")
	// StoreAttr is the Go type of the store, such as "*memstore.Store".
	StoreAttr = attribute.Key("sesame.store")
	// OperationAttr is the store operation (sesame.StoreCall.Op: "load",
	// "apply", "renew", ...), or on a store_failed event the operation
	// that failed.
	OperationAttr = attribute.Key("sesame.operation")
	// PhaseAttr is the phase of a store call (sesame.StoreCall.Phase:
	// "load", "commit", "update" or "manager").
	PhaseAttr = attribute.Key("sesame.phase")
	// OutcomeAttr is set on a store call that ended in one of the answers
	// a store gives in normal operation, which are not failures:
	// "not_found" (driver.ErrNotFound), "expired" (driver.ErrExpired) or
	// "renewed" (sesame.ErrRenewed).
	OutcomeAttr = attribute.Key("sesame.outcome")
	// ErrorTypeAttr is the semantic conventions' error.type, set on a
	// failed store call and on a store_failed event (see the package doc
	// for its values).
	ErrorTypeAttr = semconv.ErrorTypeKey
	// SessionIDAttr is the session ID (a hash of the token, never the
	// token), on span events only: never on a metric.
	SessionIDAttr = attribute.Key("sesame.session.id")
	// CountAttr is how many sessions a revoked_all event ended (-1 if
	// unknown), on span events only.
	CountAttr = attribute.Key("sesame.count")
)

// storeBuckets are the explicit bucket boundaries of StoreDurationMetric,
// in seconds: 0.1 ms to 5 s, about three per decade.
var storeBuckets = []float64{
	0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05,
	0.1, 0.25, 0.5,
	1, 2.5, 5,
}

// Options configures an Observer. The zero value uses the otel globals.
type Options struct {
	// MeterProvider makes the Meter of the metrics. If nil,
	// otel.GetMeterProvider() is used.
	MeterProvider metric.MeterProvider
	// TracerProvider makes the Tracer of the store spans. If nil,
	// otel.GetTracerProvider() is used.
	TracerProvider trace.TracerProvider
}

// Observer is a sesame.StoreObserver that records lifecycle events and
// store calls as OpenTelemetry metrics, spans and span events. Set it as
// sesame.Config.Observer. Make one with New; its methods may be called
// concurrently.
type Observer struct {
	tracer   trace.Tracer
	events   metric.Int64Counter
	duration metric.Float64Histogram

	calls sync.Map // sesame.StoreCall -> *callInfo
	kinds sync.Map // sesame.EventKind -> metric.AddOption
}

var _ sesame.StoreObserver = (*Observer)(nil)

// callInfo is what StartStore needs for one StoreCall, built once.
type callInfo struct {
	name  string                         // the span name
	attrs []attribute.KeyValue           // store, operation and phase
	start []trace.SpanStartOption        // kind and attrs
	ok    metric.RecordOption            // attrs, for a call that succeeded
	outs  map[string]metric.RecordOption // attrs and an outcome
}

// New returns an Observer that makes its instruments with opts'
// MeterProvider and its spans with opts' TracerProvider.
func New(opts Options) (*Observer, error) {
	mp, tp := opts.MeterProvider, opts.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	meter := mp.Meter(ScopeName)
	o := &Observer{tracer: tp.Tracer(ScopeName)}
	var err error
	o.events, err = meter.Int64Counter(EventsMetric,
		metric.WithDescription("Session lifecycle events, by kind."),
		metric.WithUnit("{event}"))
	if err != nil {
		return nil, fmt.Errorf("otelsesame: counter %s: %w", EventsMetric, err)
	}
	o.duration, err = meter.Float64Histogram(StoreDurationMetric,
		metric.WithDescription("Duration of the session store's calls."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(storeBuckets...))
	if err != nil {
		return nil, fmt.Errorf("otelsesame: histogram %s: %w", StoreDurationMetric, err)
	}
	return o, nil
}

// Event counts e in EventsMetric and, if ctx holds a recording span, adds
// it to that span as an event named "sesame.session." + e.Kind.
func (o *Observer) Event(ctx context.Context, e sesame.Event) {
	attrs := []attribute.KeyValue{EventAttr.String(string(e.Kind))}
	if e.Kind == sesame.EventStoreFailed && e.Err != nil {
		attrs = append(attrs, failureAttrs(e.Err)...)
		o.events.Add(ctx, 1, metric.WithAttributes(attrs...)) // copies attrs
	} else {
		o.events.Add(ctx, 1, o.kindOption(e.Kind))
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if e.ID != "" {
		attrs = append(attrs, SessionIDAttr.String(e.ID))
	}
	if e.Kind == sesame.EventRevokedAll {
		attrs = append(attrs, CountAttr.Int(e.Count))
	}
	span.AddEvent("sesame.session."+string(e.Kind), trace.WithTimestamp(e.Time), trace.WithAttributes(attrs...))
}

// kindOption returns the counter's option for an event of kind k.
func (o *Observer) kindOption(k sesame.EventKind) metric.AddOption {
	if v, ok := o.kinds.Load(k); ok {
		return v.(metric.AddOption)
	}
	opt := metric.WithAttributeSet(attribute.NewSet(EventAttr.String(string(k))))
	v, _ := o.kinds.LoadOrStore(k, opt)
	return v.(metric.AddOption)
}

// failureAttrs returns the attributes of a store_failed event's error.
func failureAttrs(err error) []attribute.KeyValue {
	if se := (*sesame.StoreError)(nil); errors.As(err, &se) {
		return []attribute.KeyValue{OperationAttr.String(se.Op), ErrorTypeAttr.String(errorType(se.Err))}
	}
	return []attribute.KeyValue{ErrorTypeAttr.String(errorType(err))}
}

// StartStore starts a span named "sesame " + call.Op, of kind internal, and
// returns its context and the func that ends it and records the call's
// duration in StoreDurationMetric.
func (o *Observer) StartStore(ctx context.Context, call sesame.StoreCall) (context.Context, func(error)) {
	info := o.callInfo(call)
	ctx, span := o.tracer.Start(ctx, info.name, info.start...)
	start := time.Now()
	return ctx, func(err error) {
		d := time.Since(start).Seconds()
		switch out := outcome(err); {
		case err == nil:
			o.duration.Record(ctx, d, info.ok)
		case out != "":
			o.duration.Record(ctx, d, info.outs[out])
			span.SetAttributes(OutcomeAttr.String(out))
		default:
			typ := ErrorTypeAttr.String(errorType(err))
			o.duration.Record(ctx, d, metric.WithAttributes(append(info.attrs, typ)...))
			span.SetAttributes(typ)
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// callInfo returns the callInfo of call, building it the first time.
func (o *Observer) callInfo(call sesame.StoreCall) *callInfo {
	if v, ok := o.calls.Load(call); ok {
		return v.(*callInfo)
	}
	attrs := []attribute.KeyValue{
		StoreAttr.String(call.Store),
		OperationAttr.String(call.Op),
		PhaseAttr.String(call.Phase),
	}
	info := &callInfo{
		name:  "sesame " + call.Op,
		attrs: attrs[:len(attrs):len(attrs)], // full: an append copies
		start: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...)},
		ok:    metric.WithAttributeSet(attribute.NewSet(attrs...)),
		outs:  make(map[string]metric.RecordOption, len(outcomes)),
	}
	for _, out := range outcomes {
		info.outs[out] = metric.WithAttributeSet(attribute.NewSet(append(info.attrs, OutcomeAttr.String(out))...))
	}
	v, _ := o.calls.LoadOrStore(call, info)
	return v.(*callInfo)
}

// outcomes are the values of OutcomeAttr.
var outcomes = []string{"expired", "not_found", "renewed"}

// outcome returns the OutcomeAttr of a store call's error, or "" if err is
// nil or a failure.
func outcome(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, driver.ErrExpired):
		return "expired"
	case errors.Is(err, driver.ErrNotFound):
		return "not_found"
	case errors.Is(err, sesame.ErrRenewed):
		return "renewed"
	}
	return ""
}

// errorType returns the error.type of a failed store call: "timeout" and
// "canceled" for the ends of a context, "not_supported" for
// sesame.ErrNotSupported, and otherwise the semantic conventions' value,
// the error's ErrorType() if it has one, or its Go type (under any
// fmt.Errorf wrapping), such as "*net.OpError".
func errorType(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, sesame.ErrNotSupported):
		return "not_supported"
	}
	return semconv.ErrorType(err).Value.AsString()
}
