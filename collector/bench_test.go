package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

// benchPoll polls one report of a synthetic tenant of the given size through
// the whole client path (TLS, token, paging, decoding, aggregation) against
// the in-process fake, which serves pages of 1000.
func benchPoll(b *testing.B, report string, users int) {
	srv, err := fakegraph.NewServer(fakegraph.Options{PageSize: 1000, NoRecording: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	srv.AddTenant(&fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, Data: fakegraph.Synthetic(1, users, testNow)})
	s := settings{
		tenant: config.Tenant{Name: "bench", TenantID: testTenantID, ClientID: testClientID, Auth: config.AuthClientSecret,
			ClientSecret: testSecret, Cloud: "public", AuthorityHost: srv.AuthorityHost(), GraphEndpoint: srv.GraphEndpoint(),
			Reports: []string{report}},
		pollInterval: time.Hour, requestTimeout: time.Minute, maxFailureReasons: 20, maxLabelValues: 100,
	}
	p := newTestPoller(b, s, srv.Client(), log.NewNopLogger())
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		p.pollReport(context.Background(), p.reports[0], &pollRound{})
		st := p.reports[0].status.Load()
		if !st.Up {
			b.Fatalf("poll failed: %s", st.LastError)
		}
		records += st.Records
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkPollUserRegistrationDetails10k(b *testing.B) {
	benchPoll(b, config.UserRegistrationDetails, 10000)
}
func BenchmarkPollUserEventsSummary10k(b *testing.B) { benchPoll(b, config.UserEventsSummary, 20000) }
func BenchmarkPollCredentialRegistrationDetails10k(b *testing.B) {
	benchPoll(b, config.CredentialRegistrationDetails, 10000)
}
func BenchmarkPollCredentialUsageDetails10k(b *testing.B) {
	benchPoll(b, config.CredentialUsageDetails, 20000)
}

// BenchmarkApply200Tenants measures start-up work for 200 tenants: building
// their credentials, clients and pollers, and starting the pollers (whose
// Graph is unreachable here; only setting up is measured).
func BenchmarkApply200Tenants(b *testing.B) {
	var tenants strings.Builder
	for i := range 200 {
		fmt.Fprintf(&tenants, "  - {name: t%03d, tenant_id: %08d-0000-4000-8000-000000000000}\n", i, i)
	}
	// The default reports, and the default pacing (5 requests per 10s per
	// tenant, 122 per 10s for the app).
	cfg := testenv.ParseConfig(b, `poll_interval: 1h
request_timeout: 1m
report_poll_intervals: {}
defaults:
  client_id: %s
  client_secret: "x"
  cloud: public
  authority_host: https://127.0.0.1:1/
  graph_endpoint: https://127.0.0.1:1
  usage_summary_periods: [D1]
tenants:
%s`, testClientID, tenants.String())
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		e := New(ctx, Options{})
		if err := e.Apply(cfg); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cancel()
		e.Wait()
		b.StartTimer()
	}
}
