package endpoints

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/collector"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

// BenchmarkScrape100Tenants measures /metrics for 100 tenants, each polled
// with all eight reports of a 500-user synthetic tenant: the handler as the
// exporter wires it, with the headers Prometheus sends. No Graph call is
// made during a scrape.
func BenchmarkScrape100Tenants(b *testing.B) {
	srv, err := fakegraph.NewServer(fakegraph.Options{PageSize: 1000, NoRecording: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	data := fakegraph.Synthetic(1, 500, time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC))
	const clientID, secret = "44444444-4444-4444-8444-444444444444", "bench-secret"
	var tenants strings.Builder
	for i := range 100 {
		id := fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
		srv.AddTenant(&fakegraph.Tenant{TenantID: id, ClientID: clientID, ClientSecret: secret, Data: data})
		fmt.Fprintf(&tenants, "  - {name: tenant%03d, tenant_id: %s}\n", i, id)
	}
	cfg := testenv.ParseConfig(b, `poll_interval: 1h
request_timeout: 1m
graph_rate_limit: {requests: 1000, per: 1s}
graph_app_rate_limit: {requests: 1000, per: 1s}
max_pages_per_poll: 100
report_poll_intervals: {}
defaults:
  client_id: %s
  client_secret: %q
  cloud: public
  authority_host: %s
  graph_endpoint: %s
  reports: [%s]
  usage_summary_periods: [D1, D7, D30]
tenants:
%s`, clientID, secret, srv.AuthorityHost(), srv.GraphEndpoint(), strings.Join(config.AllReports(), ", "), tenants.String())
	ctx, cancel := context.WithCancel(context.Background())
	e := collector.New(ctx, collector.Options{HTTPClient: srv.Client()})
	defer func() { cancel(); e.Wait() }()
	if err := e.Apply(cfg); err != nil {
		b.Fatal(err)
	}
	for !e.Ready() {
		time.Sleep(10 * time.Millisecond)
	}
	// What the snapshots of 100 tenants hold, once polled.
	runtime.GC()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	heapMiB := float64(mem.HeapAlloc) / (1 << 20)
	live := prometheus.NewRegistry()
	handler, err := New(Options{TelemetryPath: "/metrics", Source: e, Gatherer: live, Registerer: live, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}

	const prometheusAccept = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
	for _, c := range []struct {
		name, accept, encoding string
	}{
		{"text-gzip", prometheusAccept, "gzip"},
		{"text", "text/plain;version=0.0.4", ""},
		{"protobuf-gzip", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "gzip"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/metrics", nil)
			req.Header.Set("Accept", c.accept)
			req.Header.Set("Accept-Encoding", c.encoding)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
			b.ReportAllocs()
			for b.Loop() {
				handler.ServeHTTP(discard{}, req)
			}
			b.ReportMetric(float64(rec.Body.Len()), "bytes")
			b.ReportMetric(heapMiB, "heap-MiB")
			if c.name == "text" {
				b.ReportMetric(float64(strings.Count(rec.Body.String(), "\nentra_authmethods_")), "series")
				// What compressing the whole body at gzip's default level
				// gives, which the served gzip is compared with.
				var whole bytes.Buffer
				zw := gzip.NewWriter(&whole)
				zw.Write(rec.Body.Bytes())
				zw.Close()
				b.ReportMetric(float64(whole.Len()), "default-gzip-bytes")
			}
		})
	}
}

// discard is a ResponseWriter that throws the body away, so the benchmark
// measures the handler rather than a growing buffer.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return io.Discard.Write(b) }
func (discard) WriteHeader(statusCode int)  {}
