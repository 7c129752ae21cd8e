package collector

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	testTenantID = "11111111-1111-4111-8111-111111111111"
	testClientID = "22222222-2222-4222-8222-222222222222"
	testSecret   = "s3cr3t-value-that-must-not-leak"
)

// testNow is the instant the tests' data is dated at and their pollers
// measure it from (Options.Now), so that no result depends on the day or
// hour the tests run, nor on how long a poll takes. Just after midnight UTC
// on a Sunday: a day's and a week's edge at once.
var testNow = time.Date(2026, 12, 6, 0, 0, 30, 0, time.UTC)

func testClock() time.Time { return testNow }

// smallData is a tenant small enough to check by hand; event times are
// relative to now so the d1/d7/d30 windows are stable.
func smallData(now time.Time) *fakegraph.Data {
	day := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	ago := func(d time.Duration) time.Time { return now.Add(-d).Truncate(time.Second) }
	h := time.Hour
	return &fakegraph.Data{
		TotalUserCount: 5,
		RegistrationCounts: []fakegraph.RegistrationCount{
			{Status: "registered", Count: 3}, {Status: "enabled", Count: 4}, {Status: "capable", Count: 2}, {Status: "mfaRegistered", Count: 3},
		},
		UsageSummaries: map[string][]fakegraph.UsageSummary{
			"D1":  {{Feature: "registration", AuthMethod: "email", Successful: 2, Failed: 1}},
			"D7":  {{Feature: "registration", AuthMethod: "email", Successful: 5, Failed: 2}, {Feature: "reset", AuthMethod: "mobileSMS", Successful: 3}},
			"D30": {{Feature: "registration", AuthMethod: "email", Successful: 9, Failed: 4}, {Feature: "reset", AuthMethod: "mobileSMS", Successful: 7, Failed: 1}},
		},
		CredentialDetails: []fakegraph.CredentialDetail{
			{ID: "u1", AuthMethods: []string{"email", "mobilePhone"}, IsRegistered: true, IsEnabled: true, IsCapable: true, IsMfaRegistered: true},
			{ID: "u2", AuthMethods: []string{"email"}, IsEnabled: true},
			{ID: "u3", AuthMethods: []string{}, IsEnabled: true},
		},
		CredentialUsage: []fakegraph.CredentialUsageEvent{
			{ID: "u1", Feature: "registration", UPN: "a@x", AuthMethod: "email", IsSuccess: true, EventDateTime: ago(5 * h)},
			{ID: "u2", Feature: "reset", UPN: "b@x", AuthMethod: "mobileSMS", FailureReason: "User cancelled", EventDateTime: ago(6 * h)},
			{ID: "u2", Feature: "reset", UPN: "b@x", AuthMethod: "mobileSMS", FailureReason: "User cancelled", EventDateTime: ago(6 * h)}, // same event twice
		},
		Users: []fakegraph.User{
			{ID: "m1", UserType: "member", IsAdmin: true, IsMfaCapable: true, IsMfaRegistered: true, IsSsprRegistered: true, IsSsprEnabled: true, IsSsprCapable: true,
				IsSystemPreferredAuthenticationMethodEnabled: true, MethodsRegistered: []string{"microsoftAuthenticatorPush", "fido2"}, UserPreferredMethodForSecondaryAuthentication: "push"},
			{ID: "m2", UserType: "member", IsMfaRegistered: true, MethodsRegistered: []string{"mobilePhone", "mobilePhone"}, UserPreferredMethodForSecondaryAuthentication: "sms"},
			{ID: "m3", UserType: "member", IsMfaCapable: true, IsMfaRegistered: true, IsPasswordlessCapable: true, MethodsRegistered: []string{"passKeyDeviceBound", "microsoftAuthenticatorPush"}},
			{ID: "g1", UserType: "guest", MethodsRegistered: []string{}},
			{ID: "g2", UserType: "guest", IsSsprEnabled: true, MethodsRegistered: []string{"email"}, UserPreferredMethodForSecondaryAuthentication: "oath"},
		},
		Events: []fakegraph.Event{
			{ID: "m1", Feature: "registration", UPN: "m1@x", AuthMethod: "microsoftAuthenticatorPush", IsSuccess: true, EventDateTime: ago(2 * h)},
			{ID: "m2", Feature: "reset", UPN: "m2@x", AuthMethod: "mobilePhone", FailureReason: "A system error has occurred.", EventDateTime: ago(3 * h)},
			{ID: "m2", Feature: "reset", UPN: "m2@x", AuthMethod: "mobilePhone", FailureReason: "A system error has occurred.", EventDateTime: ago(3 * h)}, // duplicate row
			{ID: "m2", Feature: "reset", UPN: "m2@x", AuthMethod: "mobilePhone", IsSuccess: true, EventDateTime: ago(3*h - time.Minute)},
			{ID: "m3", Feature: "registration", UPN: "m3@x", AuthMethod: "passKeyDeviceBound", EventDateTime: ago(3 * 24 * h)}, // failed, no reason
			{ID: "g2", Feature: "reset", UPN: "g2@x", AuthMethod: "email", FailureReason: "User abandoned", EventDateTime: ago(20 * 24 * h)},
			{ID: "m1", Feature: "registration", UPN: "m1@x", AuthMethod: "microsoftAuthenticatorPush", IsSuccess: true, EventDateTime: ago(40 * 24 * h)}, // outside every window
		},
		MFASignIns: []fakegraph.MFASignInDay{
			{ID: "d1", CreatedDateTime: day("2026-11-24T00:00:00Z"), TotalSignIns: 100, SingleFactorSignIns: 40, MultiFactorSignIns: 60},
			{ID: "d2", CreatedDateTime: day("2026-11-25T00:00:00Z"), TotalSignIns: 90, SingleFactorSignIns: 30, MultiFactorSignIns: 60},
		},
		PasswordResets: []fakegraph.PasswordResetDay{
			{ID: "p2", AggregatedDateTime: day("2026-11-25T00:00:00Z"), PasswordResetsByAdminCount: 3, PasswordResetsSelfServiceCount: 5, ChangePasswordSelfServiceCount: 7},
			{ID: "p1", AggregatedDateTime: day("2026-11-24T00:00:00Z"), PasswordResetsByAdminCount: 1, PasswordResetsSelfServiceCount: 1, ChangePasswordSelfServiceCount: 1},
		},
	}
}

// fixture is a fake Graph with one tenant and a poller for it.
type fixture struct {
	srv  *fakegraph.Server
	fake *fakegraph.Tenant
	p    *tenantPoller
}

func newFixture(t *testing.T, maxReasons int, reports ...string) *fixture {
	t.Helper()
	srv, err := fakegraph.NewServer(fakegraph.Options{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	fake := &fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, TypoKeys: true, Data: smallData(testNow)}
	srv.AddTenant(fake)
	if len(reports) == 0 {
		reports = config.AllReports()
	}
	s := settings{
		tenant: config.Tenant{Name: "contoso", TenantID: testTenantID, ClientID: testClientID, Auth: config.AuthClientSecret,
			ClientSecret: testSecret, Cloud: "public", AuthorityHost: srv.AuthorityHost(), GraphEndpoint: srv.GraphEndpoint(),
			Reports: reports, UsageSummaryPeriods: []string{"D1", "D7", "D30"}},
		pollInterval: time.Minute, requestTimeout: 10 * time.Second,
		rateLimit: config.RateLimit{Requests: 100, Per: time.Second}, maxFailureReasons: maxReasons, maxLabelValues: 100,
	}
	p := newTestPoller(t, s, srv.Client(), log.NewNopLogger())
	return &fixture{srv: srv, fake: fake, p: p}
}

// newTestPoller builds a poller with a credential and pacing of its own, as
// Apply would for a tenant it had not seen.
func newTestPoller(t testing.TB, s settings, hc *http.Client, logger log.Logger) *tenantPoller {
	t.Helper()
	cred, err := graphapi.NewCredential(s.tenant, hc)
	if err != nil {
		t.Fatal(err)
	}
	deps := graphDeps{cred: cred, limiter: graphapi.NewLimiter(s.rateLimit.Requests, s.rateLimit.Per)}
	live := newLiveCounters()
	live.exclude.Store(&s.exclude)
	p, err := newTenantPoller(s, hc, deps, live, &exposition.Encoder{}, testClock, "test", logger)
	if err != nil {
		t.Fatal(err)
	}
	live.reset(s.tenant.Name)
	return p
}

func (f *fixture) pollAll(t *testing.T) {
	t.Helper()
	for _, rp := range f.p.reports {
		f.p.pollReport(context.Background(), rp, &pollRound{})
	}
}

// exporterFor wraps a poller, and its live counters, in an Exporter
// without starting it.
func exporterFor(p *tenantPoller) *Exporter {
	e := New(context.Background(), Options{})
	e.live = p.live
	e.pollers.Store(&[]*tenantPoller{p})
	return e
}

// stableNames are the metric families whose values do not depend on time.
func stableNames() []string {
	var names []string
	for _, f := range Families() {
		switch f.Name {
		case "entra_authmethods_report_duration_seconds", "entra_authmethods_report_last_success_timestamp_seconds":
			continue
		}
		names = append(names, f.Name)
	}
	return names
}

// registryOf returns a pedantic registry of what the exporter serves in
// every format: the Exporter and its live counters.
func registryOf(e *Exporter) *prometheus.Registry {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e, e.LiveCounters())
	return reg
}

// writeText writes what a text scrape is served, as the endpoints compose
// it: the pieces, then the live counters gathered.
func writeText(w io.Writer, e *Exporter) error {
	if _, err := (exposition.Text{Families: new(exposition.Grouper).Group(e.Pieces())}).WriteTo(w); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.LiveCounters())
	mfs, err := reg.Gather()
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	return err
}

// compareGolden compares the exporter's stable output with testdata/name.
func compareGolden(t *testing.T, e *Exporter, name string) {
	t.Helper()
	path := "testdata/" + name
	reg := registryOf(e)
	if *update {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, mf := range mfs {
			if slices.Contains(stableNames(), mf.GetName()) {
				expfmt.MetricFamilyToText(&b, mf)
			}
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	if err := testutil.GatherAndCompare(reg, want, stableNames()...); err != nil {
		t.Error(err)
	}
}

func TestGoldenAllReports(t *testing.T) {
	f := newFixture(t, 20)
	f.pollAll(t)
	e := exporterFor(f.p)
	compareGolden(t, e, "all_reports.prom")
	piecesMatchSnapshots(t, e)

	if problems, err := testutil.CollectAndLint(e); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
	// The time-dependent families exist, one per report.
	for _, name := range []string{"entra_authmethods_report_duration_seconds", "entra_authmethods_report_last_success_timestamp_seconds"} {
		if n := testutil.CollectAndCount(e, name); n != len(config.AllReports()) {
			t.Errorf("%s: %d series, want %d", name, n, len(config.AllReports()))
		}
	}
	// build_info is the process's (cmd/entra-authmethods-exporter), not a tenant's.
	if n := testutil.CollectAndCount(e, "entra_authmethods_exporter_build_info"); n != 0 {
		t.Errorf("build_info: %d series from the collector, want none", n)
	}
}

func TestDistinctEventsAcrossPolls(t *testing.T) {
	f := newFixture(t, 20, config.UserEventsSummary)
	f.pollAll(t)
	f.pollAll(t) // Graph returns the same window again: nothing new to count
	e := exporterFor(f.p)
	compareGolden(t, e, "events_after_two_polls.prom")
	piecesMatchSnapshots(t, e)

	// One new failed event arrives: exactly one series of each counter moves, by one.
	counters := func() string {
		return gatherText(t, e, "entra_authmethods_events_total") + gatherText(t, e, "entra_authmethods_event_failures_total")
	}
	before := counters()
	data := *f.fake.Data // the same events at the same times, and one more
	data.Events = append(slices.Clone(data.Events), fakegraph.Event{ID: "g1", Feature: "reset", UPN: "g1@x", AuthMethod: "email",
		FailureReason: "User abandoned", EventDateTime: testNow.Add(-time.Minute)})
	f.srv.AddTenant(&fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, Data: &data})
	f.pollAll(t)
	want := strings.NewReplacer(
		`entra_authmethods_events_total{feature="reset",method="email",tenant="contoso"} 1`,
		`entra_authmethods_events_total{feature="reset",method="email",tenant="contoso"} 2`,
		`entra_authmethods_event_failures_total{feature="reset",method="email",reason="User abandoned",tenant="contoso"} 1`,
		`entra_authmethods_event_failures_total{feature="reset",method="email",reason="User abandoned",tenant="contoso"} 2`,
	).Replace(before)
	if got := counters(); got != want || got == before {
		t.Errorf("counters after one new failed event:\n%s\nwant:\n%s", got, want)
	}
	// The windows are recomputed from what Graph returned: the new failure
	// is in every window by its reason, and the newest reset.
	for _, period := range []string{"h1", "h6", "d1", "d7"} {
		if v := value(t, e, "entra_authmethods_period_failure_reasons", "period", period, "feature", "reset", "reason", "User abandoned"); v != 1 {
			t.Errorf("period_failure_reasons{%s, reset, User abandoned} = %v, want 1", period, v)
		}
	}
	if v := value(t, e, "entra_authmethods_period_failure_reasons", "period", "d30", "feature", "reset", "reason", "User abandoned"); v != 2 {
		t.Errorf("period_failure_reasons{d30, reset, User abandoned} = %v, want 2", v)
	}
	if v, want := value(t, e, "entra_authmethods_newest_event_timestamp_seconds", "feature", "reset"), float64(testNow.Add(-time.Minute).Unix()); v != want {
		t.Errorf("newest reset at %v, want %v", v, want)
	}
}

func TestFailedPollKeepsSnapshot(t *testing.T) {
	f := newFixture(t, 20, config.UserRegistrationDetails)
	f.pollAll(t)
	e := exporterFor(f.p)
	before := gatherText(t, e, "entra_authmethods_users")

	// Graph now refuses: a missing permission, which is not retried.
	f.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/reports/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`))
			return true
		}
		return false
	})
	f.pollAll(t)
	if n := value(t, e.LiveCounters(), "entra_authmethods_graph_requests_total", "code", "403"); n != 1 {
		t.Errorf("%v refused requests counted, want 1", n)
	}
	if after := gatherText(t, e, "entra_authmethods_users"); after != before {
		t.Errorf("values changed after a failed poll:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	up := value(t, e, "entra_authmethods_report_up", "report", config.UserRegistrationDetails)
	forbidden := value(t, e, "entra_authmethods_report_errors_total", "report", config.UserRegistrationDetails, "reason", "forbidden")
	if up != 0 || forbidden != 1 {
		t.Errorf("report_up=%v errors{forbidden}=%v, want 0 and 1", up, forbidden)
	}
	if st := e.Status()[0].Reports[0]; st.Up || !strings.Contains(st.LastError, "Authorization_RequestDenied") {
		t.Errorf("status: %+v", st)
	}
	piecesMatchSnapshots(t, e)
}

// The text scrapes are served (Pieces, and the live counters gathered)
// holds exactly what the Exporter and its live counters collect, line for
// line: no family twice.
func piecesMatchSnapshots(t *testing.T, e *Exporter) {
	t.Helper()
	var fast bytes.Buffer
	if err := writeText(&fast, e); err != nil {
		t.Fatal(err)
	}
	mfs, err := registryOf(e).Gather()
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for _, mf := range mfs {
		expfmt.MetricFamilyToText(&want, mf)
	}
	sorted := func(b []byte) string {
		lines := strings.Split(string(b), "\n")
		slices.Sort(lines)
		return strings.Join(lines, "\n")
	}
	if sorted(fast.Bytes()) != sorted(want.Bytes()) {
		t.Errorf("pieces:\n%s\nsnapshots:\n%s", fast.String(), want.String())
	}
}

func TestFailureReasonCap(t *testing.T) {
	f := newFixture(t, 1, config.UserEventsSummary)
	f.pollAll(t)
	e := exporterFor(f.p)
	text := gatherText(t, e, "entra_authmethods_event_failures_total")
	// Reasons are admitted in the order events arrive: the first keeps its
	// text, the others become "other". "unspecified" (no reason given) is
	// the exporter's own word and takes no place.
	for _, want := range []string{`reason="A system error has occurred."`, `reason="other"`, `reason="unspecified"`} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
	if !strings.Contains(gatherText(t, e, "entra_authmethods_label_values_dropped_total"), `label="reason",report="user_events_summary",tenant="contoso"} 1`) {
		t.Errorf("the reason dropped is not counted:\n%s", gatherText(t, e, "entra_authmethods_label_values_dropped_total"))
	}
	for _, unwanted := range []string{`reason="User abandoned"`} {
		if strings.Contains(text, unwanted) {
			t.Errorf("%s should have become other:\n%s", unwanted, text)
		}
	}
}

func TestSecretNeverExposed(t *testing.T) {
	f := newFixture(t, 20)
	f.pollAll(t)
	e := exporterFor(f.p)
	for _, name := range stableNames() {
		if strings.Contains(gatherText(t, e, name), testSecret) {
			t.Fatalf("secret in %s", name)
		}
	}
	for _, r := range f.srv.Requests() {
		if strings.Contains(r.RawQuery, testSecret) {
			t.Fatalf("secret in a query string: %s", r.Path)
		}
	}
}

// gatherText returns one family's exposition text.
func gatherText(t *testing.T, c prometheus.Collector, name string) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if mf.GetName() == name {
			expfmt.MetricFamilyToText(&b, mf)
		}
	}
	return b.String()
}

// value returns the value of the first series of name with the given label
// pairs (name, value, name, value, ...); tenant is not needed.
func value(t *testing.T, c prometheus.Collector, name string, pairs ...string) float64 {
	t.Helper()
	values := matching(c, name, pairs...)
	if len(values) == 0 {
		t.Fatalf("no series %s%v", name, pairs)
	}
	return values[0]
}

// sumOf adds the values of every series of name with the given label pairs.
func sumOf(t *testing.T, c prometheus.Collector, name string, pairs ...string) float64 {
	t.Helper()
	total := 0.0
	for _, v := range matching(c, name, pairs...) {
		total += v
	}
	return total
}

func matching(c prometheus.Collector, name string, pairs ...string) []float64 {
	ch := make(chan prometheus.Metric, 100000)
	c.Collect(ch)
	close(ch)
	want := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		want[pairs[i]] = pairs[i+1]
	}
	var out []float64
	for m := range ch {
		if !strings.Contains(m.Desc().String(), `"`+name+`"`) {
			continue
		}
		var pb dto.Metric
		m.Write(&pb)
		matched := 0
		for _, l := range pb.Label {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				matched++
			}
		}
		if matched == len(want) {
			switch {
			case pb.Counter != nil:
				out = append(out, pb.Counter.GetValue())
			case pb.Gauge != nil:
				out = append(out, pb.Gauge.GetValue())
			}
		}
	}
	return out
}

func TestEventsFailureOnALaterPageChangesNothing(t *testing.T) {
	f := newFixture(t, 20, config.UserEventsSummary)
	f.pollAll(t)
	e := exporterFor(f.p)
	before := gatherText(t, e, "entra_authmethods_event_failures_total") + gatherText(t, e, "entra_authmethods_events_total")
	admitted := len(f.p.reports[0].labels.seen["reason"])

	// New events with new failure reasons arrive, but page 2 fails: neither
	// the counters nor the admitted reasons may move.
	data := smallData(testNow)
	for i := range 3 {
		data.Events = append([]fakegraph.Event{{ID: "n", Feature: "reset", UPN: "n@x", AuthMethod: "sms",
			FailureReason: fmt.Sprintf("new reason %d", i), EventDateTime: testNow.Add(-time.Minute)}}, data.Events...)
	}
	f.srv.AddTenant(&fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, Data: data})
	f.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.RawQuery, "skiptoken") {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":"Authorization_RequestDenied","message":"no"}}`))
			return true
		}
		return false
	})
	f.pollAll(t)
	after := gatherText(t, e, "entra_authmethods_event_failures_total") + gatherText(t, e, "entra_authmethods_events_total")
	if after != before {
		t.Errorf("a failed poll changed the counters:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got := len(f.p.reports[0].labels.seen["reason"]); got != admitted {
		t.Errorf("a failed poll admitted failure reasons: %d, was %d", got, admitted)
	}
	if up := value(t, e, "entra_authmethods_report_up", "report", config.UserEventsSummary); up != 0 {
		t.Errorf("report_up %v after a failed poll", up)
	}

	// Graph recovers: the three new events are counted once each.
	f.srv.SetIntercept(nil)
	f.pollAll(t)
	for i := range 3 {
		if got := value(t, e, "entra_authmethods_event_failures_total", "feature", "reset", "method", "sms", "reason", fmt.Sprintf("new reason %d", i)); got != 1 {
			t.Errorf("new reason %d: %v, want 1", i, got)
		}
	}
}

func TestTokenFailureLogsOncePerRound(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddTenant(&fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret})
	var buf bytes.Buffer
	logger := level.NewFilter(log.NewLogfmtLogger(log.NewSyncWriter(&buf)), level.AllowInfo())
	wrong := "a-wrong-secret-value-123"
	s := settings{
		tenant: config.Tenant{Name: "contoso", TenantID: testTenantID, ClientID: testClientID, Auth: config.AuthClientSecret,
			ClientSecret: wrong, Cloud: "public", AuthorityHost: srv.AuthorityHost(), GraphEndpoint: srv.GraphEndpoint(),
			Reports: config.DefaultReports(), UsageSummaryPeriods: []string{"D1"}},
		pollInterval: time.Minute, requestTimeout: 10 * time.Second, maxFailureReasons: 20, maxLabelValues: 100,
	}
	p := newTestPoller(t, s, srv.Client(), logger)
	for range 2 {
		round := &pollRound{}
		for _, rp := range p.reports {
			p.pollReport(context.Background(), rp, round)
		}
	}
	if n := strings.Count(buf.String(), "level=warn"); n != 2 {
		t.Errorf("%d warnings for two rounds of token failures, want 2:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "reason=auth") || !strings.Contains(buf.String(), "hint=") {
		t.Errorf("the warning does not say what to fix:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), wrong) {
		t.Error("the secret is in the log")
	}
	e := exporterFor(p)
	for _, r := range config.DefaultReports() {
		if got := value(t, e, "entra_authmethods_report_errors_total", "report", r, "reason", "auth"); got != 2 {
			t.Errorf("%s: errors{auth} = %v, want 2", r, got)
		}
	}
	// The token endpoint is asked once a round, not once per report.
	tokens := 0
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/oauth2/v2.0/token") {
			tokens++
		}
	}
	if tokens != 2 {
		t.Errorf("%d token requests in two rounds, want 2", tokens)
	}
}

func TestRoundRetriesLessOnceGraphIsDown(t *testing.T) {
	f := newFixture(t, 20, config.DefaultReports()...)
	var requests atomic.Int32
	f.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/reports/") {
			return false
		}
		requests.Add(1)
		w.Header().Set("Retry-After", "0.01") // keeps the test fast; backoff is not what is tested
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	round := &pollRound{}
	for _, rp := range f.p.reports {
		f.p.pollReport(context.Background(), rp, round)
	}
	// The first report uses every retry (1 + 5); the four others, once
	// Graph is known to be down, one retry each (1 + 1).
	if got, want := requests.Load(), int32(6+4*2); got != want {
		t.Errorf("%d requests in a round against a Graph that is down, want %d", got, want)
	}
	e := exporterFor(f.p)
	for _, r := range config.DefaultReports() {
		if up := value(t, e, "entra_authmethods_report_up", "report", r); up != 0 {
			t.Errorf("%s: report_up %v", r, up)
		}
		if got := value(t, e, "entra_authmethods_report_errors_total", "report", r, "reason", "server"); got != 1 {
			t.Errorf("%s: errors{server} = %v", r, got)
		}
	}
}

// Apply reads credential files before it takes the lock that Wait takes:
// a read that takes its time (a slow mount) does not hold up shutdown. And
// an Apply that finds the exporter shutting down starts nothing.
func TestApplyReadsCredentialsOutsideTheLock(t *testing.T) {
	cfg := testenv.ParseConfig(t, "tenants: [{name: a, tenant_id: %s, client_id: %s, client_secret: %s}]", testTenantID, testClientID, testSecret)
	reading, release := make(chan struct{}), make(chan struct{})
	slow := func(tn config.Tenant, hc *http.Client) (azcore.TokenCredential, error) {
		close(reading)
		<-release
		return graphapi.NewCredential(tn, hc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := New(ctx, Options{newCredential: slow})
	applied := make(chan error, 1)
	go func() { applied <- e.Apply(cfg) }()
	<-reading

	cancel()
	waited := make(chan struct{})
	go func() { e.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Error("Wait blocked while Apply read a credential")
	}
	close(release)
	<-waited
	if err := <-applied; err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("Apply after shutdown began: got %v", err)
	}
	if n := len(*e.pollers.Load()); n != 0 || e.Ready() {
		t.Errorf("Apply after shutdown began started %d pollers", n)
	}
}
