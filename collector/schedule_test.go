package collector

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

// TestReportsPolledAtTheirOwnIntervals runs a tenant whose events are due
// every 100ms and whose registration snapshot every hour: the snapshot is
// polled once, the events many times, and a failed snapshot poll is tried
// again after poll_interval rather than its hour.
func TestReportsPolledAtTheirOwnIntervals(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddTenant(&fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, Data: smallData(testNow)})
	var (
		mu       sync.Mutex
		requests = map[string]int{}
		failMFA  = true
	)
	srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, path := range []string{"userRegistrationDetails", "userEventsSummary", "userMfaSignInSummary"} {
			if strings.Contains(r.URL.Path, path) {
				requests[path]++
				if path == "userMfaSignInSummary" && failMFA {
					failMFA = false // the first poll fails, the retry succeeds
					http.Error(w, `{"error":{"code":"InternalServerError"}}`, http.StatusBadRequest)
					return true
				}
			}
		}
		return false
	})
	ctx, cancel := context.WithCancel(context.Background())
	e := New(ctx, Options{Now: testClock, HTTPClient: srv.Client(), Logger: log.NewNopLogger()})
	cfg := testenv.ParseConfig(t, `poll_interval: 1s
request_timeout: 10s
graph_rate_limit: {requests: 1000, per: 1s}
tenants:
  - name: contoso
    tenant_id: %s
    client_id: %s
    client_secret: %q
    cloud: public
    authority_host: %s
    graph_endpoint: %s
    reports: [user_registration_details, user_events_summary, user_mfa_signin_summary]
    report_poll_intervals: {user_registration_details: 1h, user_events_summary: 1s, user_mfa_signin_summary: 1h}
`, testTenantID, testClientID, testSecret, srv.AuthorityHost(), srv.GraphEndpoint())
	// The test needs polls faster than a file may ask for (at least 1s).
	cfg.PollInterval = 200 * time.Millisecond
	cfg.Tenants[0].PollIntervals[config.UserEventsSummary] = 100 * time.Millisecond
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the condition", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return requests["userEventsSummary"] >= 6
	})
	cancel()
	e.Wait()
	mu.Lock()
	defer mu.Unlock()
	if n := requests["userRegistrationDetails"]; n != 1 {
		t.Errorf("userRegistrationDetails requested %d times, want once (due hourly)", n)
	}
	if n := requests["userMfaSignInSummary"]; n != 2 {
		t.Errorf("userMfaSignInSummary requested %d times, want twice: failed, then again after poll_interval (not its hour)", n)
	}
	for report, want := range map[string]float64{config.UserRegistrationDetails: 3600, config.UserEventsSummary: 0.1, config.UserMFASignInSummary: 3600} {
		if got := value(t, e, "entra_authmethods_poll_interval_seconds", "report", report); got != want {
			t.Errorf("poll_interval_seconds{report=%q} = %v, want %v", report, got, want)
		}
	}
}

// TestTenantLabelsAndExcludedFamilies checks a tenant's configured labels
// on tenant_info (only there), and that excluded families are absent from
// both the metrics and their text encoding.
func TestTenantLabelsAndExcludedFamilies(t *testing.T) {
	f := newFixture(t, 20, config.UserRegistrationDetails)
	s := f.p.settings
	s.tenant.Labels = map[string]string{"customer": "contoso-ltd", "tier": "gold"}
	s.exclude = map[string]bool{"entra_authmethods_users_by_preferred_method": true, "entra_authmethods_report_duration_seconds": true}
	p := newTestPoller(t, s, f.srv.Client(), log.NewNopLogger())
	for _, rp := range p.reports {
		p.pollReport(context.Background(), rp, &pollRound{})
	}
	e := exporterFor(p)

	want := `# HELP entra_authmethods_tenant_info Constant 1, with the tenant's directory id, national cloud and the labels the configuration gives it.
# TYPE entra_authmethods_tenant_info gauge
entra_authmethods_tenant_info{cloud="public",customer="contoso-ltd",tenant="contoso",tenant_id="` + testTenantID + `",tier="gold"} 1
`
	if got := gatherText(t, e, "entra_authmethods_tenant_info"); got != want {
		t.Errorf("tenant_info:\n%s\nwant:\n%s", got, want)
	}
	if got := gatherText(t, e, "entra_authmethods_users"); strings.Contains(got, "customer") {
		t.Errorf("a tenant label on another family:\n%s", got)
	}
	for _, name := range []string{"entra_authmethods_users_by_preferred_method", "entra_authmethods_report_duration_seconds"} {
		if n := len(matching(e, name)); n != 0 {
			t.Errorf("%s: %d series, want none (excluded)", name, n)
		}
	}
	if len(matching(e, "entra_authmethods_users_registered_by_method")) == 0 {
		t.Error("users_registered_by_method missing; only the excluded families should be")
	}
	piecesMatchSnapshots(t, e)
}

func TestExcludedNamesAreChecked(t *testing.T) {
	if _, err := excluded([]string{"entra_authmethods_users", "entra_authmethods_tenant_info"}); err != nil {
		t.Errorf("known families refused: %v", err)
	}
	_, err := excluded([]string{"entra_authmethods_userz"})
	if err == nil || !strings.Contains(err.Error(), `"entra_authmethods_userz" is not a metric family`) {
		t.Errorf("unknown family: got %v", err)
	}
}
