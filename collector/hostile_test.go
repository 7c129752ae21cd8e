package collector

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

// hostileFixture polls a tenant whose Graph is under attack.
func hostileFixture(t *testing.T, attack fakegraph.Attack, reports ...string) *fixture {
	t.Helper()
	f := newFixture(t, 20, reports...)
	f.srv.AddTenant(&fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, Attack: attack})
	return f
}

// 200,000 distinct values of every label in one poll: each label keeps
// max_label_values (max_failure_reasons for reason) of them, the rest are
// "other" and counted as dropped, so the series stay few.
func TestDistinctLabelValuesAreCapped(t *testing.T) {
	if testing.Short() {
		t.Skip("polls 200,000 rows per report")
	}
	f := hostileFixture(t, fakegraph.AttackDistinctLabels,
		config.UserRegistrationDetails, config.UserEventsSummary, config.CredentialRegistrationCount)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f.pollAll(t)
	runtime.GC()
	runtime.ReadMemStats(&after)
	e := exporterFor(f.p)
	for _, rp := range f.p.reports {
		if st := rp.status.Load(); !st.Up {
			t.Fatalf("%s: %s", rp.name, st.LastError)
		}
	}
	n := testutil.CollectAndCount(e)
	// users: 101 user types x (1 + 7 features + up to 101 methods + 101 preferred);
	// events: 101 x 101 feature/method pairs in 4 families, plus failures by reason.
	if n > 120_000 {
		t.Errorf("%d series from 200,000 distinct values: the caps do not hold", n)
	}
	for _, c := range []struct{ report, label string }{
		{config.UserRegistrationDetails, "user_type"}, {config.UserRegistrationDetails, "method"},
		{config.UserEventsSummary, "feature"}, {config.UserEventsSummary, "method"}, {config.UserEventsSummary, "reason"},
		{config.CredentialRegistrationCount, "status"},
	} {
		if v := value(t, e, "entra_authmethods_label_values_dropped_total", "report", c.report, "label", c.label); v < 100_000 {
			t.Errorf("%s %s: %v values dropped, want most of 200,000", c.report, c.label, v)
		}
	}
	if v := value(t, e, "entra_authmethods_users", "user_type", "other", "admin", "false"); v != 200_000-100 {
		t.Errorf("users of type other: %v, want %d", v, 200_000-100)
	}
	// 5 MiB measured; the snapshots of 200,000 distinct values would take
	// hundreds. The margin holds on a busy machine: the heap is measured
	// after a GC, not timed.
	grew := (int64(after.HeapInuse) - int64(before.HeapInuse)) >> 20
	t.Logf("%d series; heap in use grew by %d MiB", n, grew)
	if grew > 40 {
		t.Errorf("heap in use grew by %d MiB from one poll of capped values, want under 40", grew)
	}
}

// A label value of megabytes is cut to 128 bytes.
func TestHugeLabelValuesAreCut(t *testing.T) {
	f := hostileFixture(t, fakegraph.AttackHugeLabel, config.UserRegistrationDetails, config.UserEventsSummary)
	f.pollAll(t)
	e := exporterFor(f.p)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	cut := strings.Repeat("x", maxLabelBytes)
	seen := 0
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if len(l.GetValue()) > maxLabelBytes {
					t.Fatalf("%s has a %s of %d bytes", mf.GetName(), l.GetName(), len(l.GetValue()))
				}
				if l.GetValue() == cut {
					seen++
				}
			}
		}
	}
	if seen == 0 {
		t.Error("no label value was cut to 128 bytes: did the attack arrive?")
	}
}

// A user Graph lists on several pages is counted once, and the repeats are
// reported.
func TestRepeatedUsersAreCountedOnce(t *testing.T) {
	f := hostileFixture(t, fakegraph.AttackDuplicateUsers, config.UserRegistrationDetails)
	f.pollAll(t)
	e := exporterFor(f.p)
	if v := value(t, e, "entra_authmethods_users", "user_type", "member", "admin", "false"); v != 100 {
		t.Errorf("users %v, want 100: repeats were counted", v)
	}
	if v := value(t, e, "entra_authmethods_report_duplicate_records", "report", config.UserRegistrationDetails); v != 900 {
		t.Errorf("duplicates %v, want 900", v)
	}
}

// Rows that cannot be real (null, negative counts, a user without an id)
// fail the poll as decode (or, for a page too large, paging) and keep the
// last good values.
func TestImpossibleRowsFailAsDecode(t *testing.T) {
	for _, c := range []struct {
		attack fakegraph.Attack
		report string
		family string
	}{
		{fakegraph.AttackNullRows, config.UserRegistrationDetails, "entra_authmethods_users"},
		{fakegraph.AttackEmptyRecords, config.UserRegistrationDetails, "entra_authmethods_users"},
		{fakegraph.AttackNegativeCounts, config.UserMFASignInSummary, "entra_authmethods_daily_signins"},
	} {
		t.Run(string(c.attack), func(t *testing.T) {
			f := newFixture(t, 20, c.report)
			f.pollAll(t)
			e := exporterFor(f.p)
			before := gatherText(t, e, c.family)
			f.srv.AddTenant(&fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, Attack: c.attack})
			f.pollAll(t)
			if after := gatherText(t, e, c.family); after != before {
				t.Errorf("values changed:\n%s\nwas\n%s", after, before)
			}
			if st := f.p.reports[0].status.Load(); st.Up || (st.errors["decode"] == 0 && st.errors["paging"] == 0) {
				t.Errorf("up=%v errors=%v", st.Up, st.errors)
			}
		})
	}

	// Rows without an id, under the page caps, cannot be told apart.
	f := newFixture(t, 20, config.UserRegistrationDetails)
	f.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/reports/") {
			w.Write([]byte(`{"value":[{"userType":"member"},{"userType":"member"}]}`))
			return true
		}
		return false
	})
	f.pollAll(t)
	if st := f.p.reports[0].status.Load(); st.Up || !strings.Contains(st.LastError, "without an id") {
		t.Errorf("rows without an id: up=%v, %s", st.Up, st.LastError)
	}
}

// A reload that restarts a tenant keeps its credential (no new token) and
// its pacing: restarting it again and again sends no more requests than
// its rate limit allows.
func TestReloadsKeepTokenAndPacing(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddTenant(&fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, Data: smallData(testNow)})
	cfg := func(reports ...string) *config.Config {
		return testenv.ParseConfig(t, `poll_interval: 1h
request_timeout: 10s
graph_rate_limit: {requests: 3, per: 2s}
report_poll_intervals: {}
tenants:
  - name: a
    tenant_id: %s
    client_id: %s
    client_secret: %q
    cloud: public
    authority_host: %s
    graph_endpoint: %s
    reports: [%s]
`, testTenantID, testClientID, testSecret, srv.AuthorityHost(), srv.GraphEndpoint(), strings.Join(reports, ", "))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := New(ctx, Options{Now: testClock, HTTPClient: srv.Client(), Logger: log.NewNopLogger()})
	start := time.Now()
	// Every reload changes the tenant's reports, so its poller restarts.
	for i := range 12 {
		reports := []string{config.UserRegistrationDetails, config.UserMFASignInSummary}
		if i%2 == 1 {
			reports = reports[:1]
		}
		if err := e.Apply(cfg(reports...)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cancel()
	e.Wait()
	var tokens, graph int
	for _, r := range srv.Requests() {
		switch {
		case strings.HasSuffix(r.Path, "/oauth2/v2.0/token"):
			tokens++
		case strings.Contains(r.Path, "/reports/"):
			graph++
		}
	}
	if tokens != 1 {
		t.Errorf("%d token requests over 12 reloads, want 1", tokens)
	}
	// 3 per 2 s: at most 3 at once, then 3 more per 2 s.
	if allowed := 3 + 3*int(elapsed/(2*time.Second)); graph > allowed {
		t.Errorf("%d Graph requests in %v, more than the %d the pace allows", graph, elapsed.Round(time.Millisecond), allowed)
	}
}

// Check refuses what Apply refuses: a broken credential file.
func TestCheckBuildsCredentials(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "cert.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	missing := filepath.Join(dir, "nope")
	cfg := testenv.ParseConfig(t, `tenants:
  - name: good
    tenant_id: 10000000-0000-4000-8000-000000000000
    client_id: %[1]s
    client_secret: %[2]q
  - name: bad
    tenant_id: 20000000-0000-4000-8000-000000000000
    client_id: %[1]s
    client_certificate_file: %[3]q
  - name: missing
    tenant_id: 30000000-0000-4000-8000-000000000000
    client_id: %[1]s
    client_secret_file: %[4]q
`, testClientID, testSecret, bad, missing)
	err := Check(cfg, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"tenants[1] (bad): client_certificate_file", "no PEM certificate", "tenants[2] (missing): client_secret_file", "no such file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "tenants[0]") {
		t.Errorf("the good tenant is refused: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if applyErr := New(ctx, Options{}).Apply(cfg); applyErr == nil {
		t.Error("Apply accepted what Check refused")
	}

	// Tenants sharing a missing file (defaults:) get one message.
	var tenants strings.Builder
	for i := range 5 {
		fmt.Fprintf(&tenants, "  - {name: t%d, tenant_id: %d0000000-0000-4000-8000-000000000000}\n", i, i+1)
	}
	shared := testenv.ParseConfig(t, `defaults:
  client_id: %s
  client_secret_file: %q
tenants:
%s`, testClientID, missing, tenants.String())
	err = Check(shared, nil)
	if err == nil || strings.Count(err.Error(), "no such file") != 1 ||
		!strings.HasPrefix(err.Error(), "tenants[0] (t0), tenants[1] (t1), 3 more: client_secret_file") {
		t.Errorf("shared file: got %v", err)
	}
}
