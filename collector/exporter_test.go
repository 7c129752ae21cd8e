package collector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pollEvery sets cfg's poll_interval to d, for tests that need polls faster
// than a file may ask for (at least 1s), and with it the interval of every
// report that followed poll_interval.
func pollEvery(cfg *config.Config, d time.Duration) {
	for _, t := range cfg.Tenants {
		for r, iv := range t.PollIntervals {
			if iv == cfg.PollInterval {
				t.PollIntervals[r] = d
			}
		}
	}
	cfg.PollInterval = d
}

func waitReady(t *testing.T, e *Exporter) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !e.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestApplyKeepsUnchangedTenantsAndStopsRemovedOnes(t *testing.T) {
	srv, ids := threeFakeTenants(t, "a", "b", "c")
	configFor := func(pollInterval string, names ...string) *config.Config {
		var tenants strings.Builder
		for _, n := range names {
			fmt.Fprintf(&tenants, "  - {name: %s, tenant_id: %s}\n", n, ids[n])
		}
		return testenv.ParseConfig(t, `poll_interval: %s
request_timeout: 10s
graph_rate_limit: {requests: 50, per: 1s}
report_poll_intervals: {}
defaults:
  client_id: %s
  client_secret: %q
  cloud: public
  authority_host: %s
  graph_endpoint: %s
  reports: [user_registration_details, user_events_summary]
tenants:
%s`, pollInterval, testClientID, testSecret, srv.AuthorityHost(), srv.GraphEndpoint(), tenants.String())
	}
	cfg := configFor("1h", "a", "b")

	ctx, cancel := context.WithCancel(context.Background())
	e := New(ctx, Options{Now: testClock, HTTPClient: srv.Client()})
	if e.Ready() {
		t.Error("ready before any configuration is applied")
	}
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	waitReady(t, e)
	first := *e.pollers.Load()
	// Between polls the pieces stay the same.
	firstPieces := func() (out []*exposition.Piece) {
		for p := range e.Pieces() {
			if len(p) > 0 {
				out = append(out, &p[0])
			}
		}
		return out
	}
	pieces := firstPieces()
	time.Sleep(50 * time.Millisecond)
	if !slices.Equal(firstPieces(), pieces) {
		t.Error("between polls the pieces changed")
	}
	if got := value(t, e, "entra_authmethods_users", "tenant", "b", "user_type", "member", "admin", "false"); got != 2 {
		t.Errorf("tenant b members: %v", got)
	}

	// Same settings for a, b dropped, c added.
	if err := e.Apply(configFor("1h", "a", "c")); err != nil {
		t.Fatal(err)
	}
	now := *e.pollers.Load()
	if now[0] != first[0] {
		t.Error("tenant a was restarted although its settings did not change")
	}
	select {
	case <-first[1].done:
	default:
		t.Error("tenant b's poller still runs after it was removed")
	}
	waitReady(t, e)
	statuses := e.Status()
	if len(statuses) != 2 || statuses[1].Tenant != "c" || !statuses[1].Reports[0].Up {
		t.Errorf("status after reload: %+v", statuses)
	}

	// A change of a global setting restarts every tenant, but the values and
	// counters carry over: nothing disappears, nothing is counted twice.
	eventsBefore := value(t, e, "entra_authmethods_events_total", "tenant", "a", "feature", "reset", "method", "mobilePhone")
	live := e.LiveCounters()
	requestsBefore := value(t, live, "entra_authmethods_graph_requests_total", "tenant", "a", "code", "200")
	lastSuccess := e.Status()[0].Reports[1].LastSuccess
	if err := e.Apply(configFor("2h", "a", "c")); err != nil {
		t.Fatal(err)
	}
	if (*e.pollers.Load())[0] == first[0] {
		t.Error("tenant a kept its poller although poll_interval changed")
	}
	if !e.Ready() {
		t.Error("not ready right after a reload although every tenant has data")
	}
	if got := value(t, e, "entra_authmethods_events_total", "tenant", "a", "feature", "reset", "method", "mobilePhone"); got != eventsBefore {
		t.Errorf("events_total right after the reload: %v, want %v", got, eventsBefore)
	}
	for deadline := time.Now().Add(10 * time.Second); !e.Status()[0].Reports[1].LastSuccess.After(lastSuccess); {
		if time.Now().After(deadline) {
			t.Fatal("the restarted poller did not poll")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := value(t, e, "entra_authmethods_events_total", "tenant", "a", "feature", "reset", "method", "mobilePhone"); got != eventsBefore {
		t.Errorf("events_total after the restarted poller's first poll: %v, want %v (counted twice?)", got, eventsBefore)
	}
	if got := value(t, live, "entra_authmethods_graph_requests_total", "tenant", "a", "code", "200"); got <= requestsBefore {
		t.Errorf("graph_requests_total after the restarted poller's first poll: %v, want more than %v", got, requestsBefore)
	}

	cancel()
	e.Wait()
}

// TestLiveCountersFollowTenants: a tenant's live counters start with its
// first poller at 0 overruns, go on across restarts reading the same
// directory, start anew when it reads another, and go with the tenant; and
// they are left out while exclude_metrics names their family, still counting.
func TestLiveCountersFollowTenants(t *testing.T) {
	srv, ids := threeFakeTenants(t, "A", "B", "C")
	// tenants are name=directory pairs.
	configFor := func(exclude string, tenants ...string) *config.Config {
		var list strings.Builder
		for _, nd := range tenants {
			name, dir, _ := strings.Cut(nd, "=")
			fmt.Fprintf(&list, "  - {name: %s, tenant_id: %s}\n", name, ids[dir])
		}
		return testenv.ParseConfig(t, `poll_interval: 1h
request_timeout: 10s
graph_rate_limit: {requests: 50, per: 1s}
report_poll_intervals: {}
exclude_metrics: [%s]
defaults:
  client_id: %s
  client_secret: %q
  cloud: public
  authority_host: %s
  graph_endpoint: %s
  reports: [user_registration_details, user_events_summary]
tenants:
%s`, exclude, testClientID, testSecret, srv.AuthorityHost(), srv.GraphEndpoint(), list.String())
	}
	const requests, overruns = "entra_authmethods_graph_requests_total", "entra_authmethods_poll_overruns_total"
	ctx, cancel := context.WithCancel(context.Background())
	e := New(ctx, Options{Now: testClock, HTTPClient: srv.Client()})
	defer func() { cancel(); e.Wait() }()
	live := e.LiveCounters()
	apply := func(c *config.Config) {
		t.Helper()
		if err := e.Apply(c); err != nil {
			t.Fatal(err)
		}
		waitReady(t, e)
	}
	if n := len(matching(live, overruns)); n != 0 {
		t.Errorf("%d overrun counters before any configuration is applied", n)
	}

	apply(configFor("", "a=A", "b=B"))
	round := value(t, live, requests, "tenant", "a", "code", "200") // one round's requests
	if got := value(t, live, overruns, "tenant", "b"); got != 0 {
		t.Errorf("tenant b: %s %v, want 0", overruns, got)
	}

	// b removed, c added; a restarted (exclude_metrics changed), counting on unseen.
	apply(configFor(requests, "a=A", "c=C"))
	if got := matching(live, requests); len(got) != 0 {
		t.Errorf("%s excluded, yet collected: %v", requests, got)
	}
	if got := matching(live, overruns, "tenant", "b"); len(got) != 0 {
		t.Errorf("removed tenant b still has %s: %v", overruns, got)
	}
	if got := value(t, live, overruns, "tenant", "c"); got != 0 {
		t.Errorf("new tenant c: %s %v, want 0", overruns, got)
	}
	testenv.Eventually(t, "the condition", 10*time.Second, func() bool { return testutil.ToFloat64(e.live.requests.WithLabelValues("a", "200")) >= 2*round })

	apply(configFor("", "a=A", "c=C"))
	if got := value(t, live, requests, "tenant", "a", "code", "200"); got < 2*round {
		t.Errorf("tenant a restarted twice: %s %v, want at least two rounds' %v", requests, got, 2*round)
	}

	// a reads another directory: its counters start anew, and count one round.
	apply(configFor("", "a=B", "c=C"))
	if got := value(t, live, requests, "tenant", "a", "code", "200"); got != round {
		t.Errorf("tenant a in another directory: %s %v, want one round's %v", requests, got, round)
	}
	apply(configFor("", "c=C"))
	if got := matching(live, requests, "tenant", "a"); len(got) != 0 {
		t.Errorf("removed tenant a still has %s: %v", requests, got)
	}
}

func TestApplyRejectsATenantItCannotSetUp(t *testing.T) {
	e := New(context.Background(), Options{})
	err := e.Apply(testenv.ParseConfig(t, `poll_interval: 1h
request_timeout: 1s
graph_rate_limit: {requests: 5, per: 10s}
max_failure_reasons: 1
report_poll_intervals: {}
tenants:
  - name: x
    tenant_id: %s
    client_id: %s
    client_certificate_file: /nonexistent.pem
`, testTenantID, testClientID))
	if err == nil || len(*e.pollers.Load()) != 0 {
		t.Fatalf("got %v, %d pollers", err, len(*e.pollers.Load()))
	}
}

func TestOneTenantsTroubleDoesNotDelayAnother(t *testing.T) {
	stuck, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	healthy, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer healthy.Close()
	for _, srv := range []*fakegraph.Server{stuck, healthy} {
		srv.AddTenant(&fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, Data: smallData(testNow)})
	}
	stuck.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/reports/") {
			<-r.Context().Done() // never answers
			return true
		}
		return false
	})
	// One directory and app registration, behind two Graph endpoints. A
	// request may take at most 10m, the most a file may ask for: the stuck
	// server's never answers within the test.
	cfg := testenv.ParseConfig(t, `poll_interval: 1h
request_timeout: 10m
graph_rate_limit: {requests: 100, per: 1s}
report_poll_intervals: {}
defaults:
  client_id: %s
  client_secret: %q
  reports: [%s]
  usage_summary_periods: [D1]
tenants:
  - name: stuck
    tenant_id: %s
    cloud: public
    authority_host: %s
    graph_endpoint: %s
  - name: healthy
    tenant_id: %s
    cloud: public
    authority_host: %s
    graph_endpoint: %s
`, testClientID, testSecret, strings.Join(config.AllReports(), ", "), testTenantID,
		stuck.AuthorityHost(), stuck.GraphEndpoint(), testTenantID, healthy.AuthorityHost(), healthy.GraphEndpoint())
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel() }()
	// The two servers have different CAs; trust both.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(stuck.CACertPEM())
	pool.AppendCertsFromPEM(healthy.CACertPEM())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	e := New(ctx, Options{Now: testClock, HTTPClient: client})
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the condition", 10*time.Second, func() bool {
		for _, r := range statusOf(e, "healthy").Reports {
			if !r.Up {
				return false
			}
		}
		return true
	})
	if st := statusOf(e, "stuck"); st.Reports[0].Polled {
		t.Errorf("the stuck tenant's first report finished: %+v", st.Reports[0])
	}
	cancel()
	e.Wait()
}

func TestOverrunIsCountedAndLogged(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddTenant(&fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, Data: smallData(testNow)})
	srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/reports/") {
			time.Sleep(60 * time.Millisecond) // slower than the whole interval allows
		}
		return false
	})
	var logBuf testenv.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	e := New(ctx, Options{Now: testClock, HTTPClient: srv.Client(), Logger: log.NewLogfmtLogger(&logBuf)})
	cfg := testenv.ParseConfig(t, `poll_interval: 1s
request_timeout: 10s
graph_rate_limit: {requests: 100, per: 1s}
report_poll_intervals: {}
tenants:
  - name: slow
    tenant_id: %s
    client_id: %s
    client_secret: %q
    cloud: public
    authority_host: %s
    graph_endpoint: %s
    reports: [user_registration_details, user_events_summary]
`, testTenantID, testClientID, testSecret, srv.AuthorityHost(), srv.GraphEndpoint())
	pollEvery(cfg, 100*time.Millisecond) // faster than a file may ask for: two slow requests overrun it
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the condition", 10*time.Second, func() bool { return sumOf(t, e.LiveCounters(), "entra_authmethods_poll_overruns_total") >= 1 })
	cancel()
	e.Wait()
	if !strings.Contains(logBuf.String(), "took longer than the shortest of their poll intervals") {
		t.Errorf("no overrun in the log:\n%s", logBuf.String())
	}
}

func TestStagger(t *testing.T) {
	for _, c := range []struct {
		interval time.Duration
		n        int
		want     time.Duration
	}{
		{30 * time.Minute, 1, 0},
		{30 * time.Minute, 20, time.Second},
		{30 * time.Minute, 200, 300 * time.Millisecond},
		{30 * time.Minute, 1000, 60 * time.Millisecond},
		{time.Second, 5, 200 * time.Millisecond},
	} {
		if got := stagger(c.interval, c.n); got != c.want {
			t.Errorf("stagger(%v, %d) = %v, want %v", c.interval, c.n, got, c.want)
		}
	}
}

// Tenants started together do not all ask for tokens and pages at once:
// their first rounds start poll_interval/n apart (here 2s/4).
func TestFirstRoundsAreStaggered(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ids := []string{"10000000-0000-4000-8000-000000000000", "20000000-0000-4000-8000-000000000000",
		"30000000-0000-4000-8000-000000000000", "40000000-0000-4000-8000-000000000000"}
	var tenants strings.Builder
	for _, id := range ids {
		srv.AddTenant(&fakegraph.Tenant{TenantID: id, ClientID: testClientID, ClientSecret: testSecret, Data: smallData(testNow)})
		fmt.Fprintf(&tenants, "  - {name: t%s, tenant_id: %s}\n", id[:1], id)
	}
	cfg := testenv.ParseConfig(t, `poll_interval: 2s
request_timeout: 10s
graph_rate_limit: {requests: 50, per: 1s}
report_poll_intervals: {}
defaults:
  client_id: %s
  client_secret: %q
  cloud: public
  authority_host: %s
  graph_endpoint: %s
  reports: [user_registration_details]
tenants:
%s`, testClientID, testSecret, srv.AuthorityHost(), srv.GraphEndpoint(), tenants.String())
	ctx, cancel := context.WithCancel(context.Background())
	e := New(ctx, Options{Now: testClock, HTTPClient: srv.Client()})
	defer func() { cancel(); e.Wait() }()
	start := time.Now()
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	waitReady(t, e)
	first := map[string]time.Time{}
	for _, r := range srv.Requests() {
		if _, seen := first[r.Tenant]; !seen {
			first[r.Tenant] = r.Time
		}
	}
	for i, id := range ids {
		at, ok := first[id]
		if !ok {
			t.Fatalf("tenant %s made no request", id)
		}
		want := time.Duration(i) * 500 * time.Millisecond
		if got := at.Sub(start); got < want-20*time.Millisecond || got > want+400*time.Millisecond {
			t.Errorf("tenant %d's first request %v after start-up, want about %v", i, got.Round(time.Millisecond), want)
		}
	}
}

// threeFakeTenants serves three tenants of smallData, named by names, from
// a fake Graph until the test ends; ids maps each name to its tenant id.
func threeFakeTenants(t *testing.T, names ...string) (*fakegraph.Server, map[string]string) {
	t.Helper()
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ids := map[string]string{}
	for i, n := range names {
		ids[n] = fmt.Sprintf("%c0000000-0000-4000-8000-000000000000", 'a'+i)
		srv.AddTenant(&fakegraph.Tenant{TenantID: ids[n], ClientID: testClientID, ClientSecret: testSecret, Data: smallData(testNow)})
	}
	return srv, ids
}
