package otelsesame_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/memstore"
	"github.com/sesame-go/sesame/otelsesame"
)

// The Observer goes in sesame.Config. Here its metrics and spans go to
// in-memory readers; an application passes its own providers, or none for
// the otel globals.
func Example() {
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	obs, err := otelsesame.New(otelsesame.Options{
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
	})
	if err != nil {
		panic(err)
	}
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := sesame.New(sesame.Config{Store: store, Observer: obs})
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sesame.FromContext(r.Context()).Login("alice")
	}))
	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil))

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				kind, _ := dp.Attributes.Value(otelsesame.EventAttr)
				lines = append(lines, fmt.Sprintf("%s{sesame.event=%s} %d", m.Name, kind.AsString(), dp.Value))
			}
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				op, _ := dp.Attributes.Value(otelsesame.OperationAttr)
				phase, _ := dp.Attributes.Value(otelsesame.PhaseAttr)
				lines = append(lines, fmt.Sprintf("%s{sesame.operation=%s,sesame.phase=%s} count %d", m.Name, op.AsString(), phase.AsString(), dp.Count))
			}
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	for _, s := range spans.Ended() {
		fmt.Println("span:", s.Name())
	}
	// Output:
	// sesame.session.events{sesame.event=created} 1
	// sesame.session.events{sesame.event=logged_in} 1
	// sesame.store.duration{sesame.operation=save,sesame.phase=commit} count 1
	// span: sesame save
}
