package main

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/demo"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// binary builds the exporter once for all end-to-end tests.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "eae-e2e")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "entra-authmethods-exporter")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// exporter is a running exporter process.
type exporter struct {
	cmd  *exec.Cmd
	addr string
	log  *testenv.SyncBuffer
}

// start runs the exporter with args and waits until it is ready.
func start(t *testing.T, env []string, args ...string) *exporter {
	t.Helper()
	e := launch(t, env, args...)
	e.waitReady(t)
	return e
}

func (e *exporter) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get("http://" + e.addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter not ready after 60s; log:\n%s", e.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// launch runs the exporter with args until the test ends.
func launch(t *testing.T, env []string, args ...string) *exporter {
	t.Helper()
	return launchWith(t, env, nil, args...)
}

// launchWith runs the exporter through prefix, a command that ends by
// executing its arguments (such as sh -c '...; exec "$0" "$@"'), so that
// the process signalled is still the exporter.
func launchWith(t *testing.T, env, prefix []string, args ...string) *exporter {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	e := &exporter{addr: testenv.FreeAddr(t), log: &testenv.SyncBuffer{}}
	argv := slices.Concat(prefix, []string{bin}, args, []string{"--web.listen-address=" + e.addr})
	e.cmd = exec.Command(argv[0], argv[1:]...)
	e.cmd.Env = append(os.Environ(), env...)
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.cmd.Process.Kill()
		e.cmd.Wait()
		if t.Failed() {
			t.Logf("exporter log:\n%s", e.log.String())
		}
	})
	return e
}

func (e *exporter) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + e.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// stop sends SIGTERM and checks the exporter exits cleanly within 5 s; it
// returns how long the exit took.
func (e *exporter) stop(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- e.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("still running 5s after SIGTERM")
	}
	return time.Since(start)
}

// promtoolCheck pipes a scrape through `promtool check metrics`. Without
// promtool the check is skipped locally but fails in CI.
func promtoolCheck(t *testing.T, scrape string) {
	t.Helper()
	path := testenv.Tool(t, "promtool")
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

var (
	// What the wall clock sets: when polls ran and took, and when the
	// configuration loaded; and the connections the test itself opened
	// while it waited. What Graph's data says is fixed by --fixed-time.
	timeDependent = regexp.MustCompile(`^(entra_authmethods_(report_duration_seconds|report_last_success_timestamp_seconds|config_last_reload_success_timestamp_seconds|exporter_http_connections_(admitted_total|open))(\{[^}]*\})?) .*$`)
	buildInfo     = regexp.MustCompile(`^(entra_authmethods_exporter_build_info)\{.*\} 1$`)
	notOK         = regexp.MustCompile(`^entra_authmethods_graph_requests_total\{code="[^2]`)
)

// normalise keeps the exporter's own families and masks what changes between runs.
func normalise(scrape string) string {
	var out []string
	for _, line := range strings.Split(scrape, "\n") {
		if !strings.Contains(line, "entra_authmethods_") || notOK.MatchString(line) {
			continue
		}
		line = timeDependent.ReplaceAllString(line, "$1 <varies>")
		line = buildInfo.ReplaceAllString(line, `$1{<varies>} 1`)
		out = append(out, line)
	}
	return strings.Join(out, "\n") + "\n"
}

// demoDays are the instants the demo runs at in the end-to-end tests
// (--fixed-time), so that no test depends on the day, hour or time zone it
// runs in: one on each day of the week, one just after midnight UTC, each
// in another time zone, which must not matter. The first is the golden
// scrape's.
var demoDays = []struct{ at, tz string }{
	{"2026-12-09T10:00:00Z", "UTC"},                 // Wednesday
	{"2026-12-07T00:00:30Z", "Pacific/Kiritimati"},  // Monday just after midnight UTC (the afternoon at UTC+14); yesterday a Sunday
	{"2026-12-08T23:59:00Z", "America/Los_Angeles"}, // Tuesday, a minute before midnight UTC
	{"2026-12-10T12:00:00Z", "Asia/Kolkata"},        // Thursday
	{"2026-12-11T17:45:00Z", "Europe/Berlin"},       // Friday
	{"2026-12-12T08:00:00Z", "Australia/Lord_Howe"}, // Saturday: yesterday a weekday, today not
	{"2026-12-13T21:30:00Z", "UTC"},                 // Sunday: yesterday a Saturday
}

// TestDemoEndToEnd runs the demo at its golden instant and compares the
// whole scrape with testdata/demo.prom, then checks the other endpoints.
func TestDemoEndToEnd(t *testing.T) {
	day := demoDays[0]
	e := start(t, []string{"TZ=" + day.tz}, "--demo", "--fixed-time="+day.at, "--web.enable-lifecycle")
	code, scrape := e.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	golden := "testdata/demo.prom"
	got := normalise(scrape)
	if *update {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("scrape differs from %s (run with -update after an intended change):\n%s", golden, lineDiff(string(want), got))
	}
	// The golden file must hold what the fake serves for the golden day.
	if w := withDemoDay(t, string(want), day.at); w != string(want) {
		t.Errorf("%s does not hold the fake's newest daily rows at %s:\n%s", golden, day.at, lineDiff(string(want), w))
	}

	if code, body := e.get(t, "/"); code != 200 || !strings.Contains(body, "user_registration_details") || !strings.Contains(body, "/metrics") {
		t.Errorf("landing page: %d\n%s", code, body)
	}
	if code, _ := e.get(t, "/-/healthy"); code != 200 {
		t.Errorf("/-/healthy: %d", code)
	}
	if code, _ := e.get(t, "/-/reload"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", code)
	}
	resp, err := http.Post("http://"+e.addr+"/-/reload", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("POST /-/reload: %v %v", err, resp)
	}
	e.stop(t)
	promtoolCheck(t, scrape)
}

// TestDemoOnEveryDay runs the demo at each of demoDays' other instants: the
// scrape equals the golden one but for the daily reports, which hold the
// fake's newest day before that instant (a weekend day is quieter).
func TestDemoOnEveryDay(t *testing.T) {
	golden, err := os.ReadFile("testdata/demo.prom")
	if err != nil {
		t.Fatal(err)
	}
	for _, day := range demoDays[1:] {
		t.Run(day.at, func(t *testing.T) {
			t.Parallel()
			e := start(t, []string{"TZ=" + day.tz}, "--demo", "--fixed-time="+day.at)
			_, scrape := e.get(t, "/metrics")
			e.stop(t)
			if got, want := normalise(scrape), withDemoDay(t, string(golden), day.at); got != want {
				t.Errorf("scrape at %s (TZ=%s) differs from the golden one with that day's daily rows:\n%s", day.at, day.tz, lineDiff(want, got))
			}
		})
	}
}

// withDemoDay is the golden demo scrape as it must be at the instant at
// (RFC 3339): its daily reports' lines set to the newest rows the fake
// serves then, and the newest events as much later or earlier as at is
// than the golden instant (the demo's events are dated from its start).
func withDemoDay(t *testing.T, scrape, at string) string {
	t.Helper()
	now, err := time.Parse(time.RFC3339, at)
	golden, err2 := time.Parse(time.RFC3339, demoDays[0].at)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	d := fakegraph.Synthetic(demo.Seed, demo.Users, now)
	signins := slices.MaxFunc(d.MFASignIns, func(a, b fakegraph.MFASignInDay) int { return a.CreatedDateTime.Compare(b.CreatedDateTime) })
	resets := slices.MaxFunc(d.PasswordResets, func(a, b fakegraph.PasswordResetDay) int { return a.AggregatedDateTime.Compare(b.AggregatedDateTime) })
	tenant := `tenant="` + demo.TenantName + `"`
	daily := map[string]int64{
		`entra_authmethods_daily_signins{factor="multi",` + tenant + `}`:                              signins.MultiFactorSignIns,
		`entra_authmethods_daily_signins{factor="single",` + tenant + `}`:                             signins.SingleFactorSignIns,
		`entra_authmethods_daily_signins_timestamp_seconds{` + tenant + `}`:                           signins.CreatedDateTime.Unix(),
		`entra_authmethods_daily_password_operations{operation="admin_reset",` + tenant + `}`:         resets.PasswordResetsByAdminCount,
		`entra_authmethods_daily_password_operations{operation="self_service_change",` + tenant + `}`: resets.ChangePasswordSelfServiceCount,
		`entra_authmethods_daily_password_operations{operation="self_service_reset",` + tenant + `}`:  resets.PasswordResetsSelfServiceCount,
		`entra_authmethods_daily_password_operations_timestamp_seconds{` + tenant + `}`:               resets.AggregatedDateTime.Unix(),
	}
	format := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) } // as the text format writes it
	lines := strings.Split(scrape, "\n")
	for i, line := range lines {
		series, value, ok := strings.Cut(line, " ")
		if v, daily0 := daily[series]; ok && daily0 {
			lines[i] = series + " " + format(float64(v))
			delete(daily, series)
		} else if ok && strings.HasPrefix(series, "entra_authmethods_newest_event_timestamp_seconds{") {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatal(err)
			}
			lines[i] = series + " " + format(v+now.Sub(golden).Seconds())
		}
	}
	if len(daily) > 0 {
		t.Errorf("not in the scrape: %v", slices.Collect(maps.Keys(daily)))
	}
	return strings.Join(lines, "\n")
}

// lineDiff lists the lines only one side has.
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}

func TestConfigFileTwoTenantsEndToEnd(t *testing.T) {
	// A fake Graph that throttles at 5 requests per 2 s per tenant, while the
	// exporter is configured to send 10: 429s with fractional Retry-After
	// happen and must be ridden out.
	srv, err := fakegraph.NewServer(fakegraph.Options{PageSize: 100, RateLimit: 5, RatePer: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	now := time.Date(2026, 12, 13, 23, 0, 0, 0, time.UTC) // a Sunday; the exporter measures at it too (--fixed-time)
	secrets := map[string]string{"alpha": "alpha-secret-0123456789", "beta": "beta-secret-9876543210"}
	ids := map[string]string{"alpha": "aaaaaaaa-0000-4000-8000-000000000001", "beta": "bbbbbbbb-0000-4000-8000-000000000002"}
	data := map[string]*fakegraph.Data{"alpha": fakegraph.Synthetic(11, 250, now), "beta": fakegraph.Synthetic(12, 180, now)}
	for _, name := range []string{"alpha", "beta"} {
		srv.AddTenant(&fakegraph.Tenant{TenantID: ids[name], ClientID: "cccccccc-0000-4000-8000-000000000003",
			ClientSecret: secrets[name], TypoKeys: name == "beta", Data: data[name]})
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, srv.CACertPEM(), 0o600)
	secretFile := filepath.Join(dir, "beta.secret")
	os.WriteFile(secretFile, []byte(secrets["beta"]+"\n"), 0o600)
	cfg := fmt.Sprintf(`poll_interval: 10m
request_timeout: 20s
graph_rate_limit: {requests: 10, per: 2s}
tenants:
  - name: alpha
    tenant_id: %s
    client_id: cccccccc-0000-4000-8000-000000000003
    client_secret: %s
    authority_host: %s
    graph_endpoint: %s
    reports: [credential_registration_count, credential_usage_summary, credential_registration_details, credential_usage_details,
              user_registration_details, user_events_summary, user_mfa_signin_summary, user_password_resets_summary]
  - name: beta
    tenant_id: %s
    client_id: cccccccc-0000-4000-8000-000000000003
    client_secret_file: %s
    authority_host: %s
    graph_endpoint: %s
`, ids["alpha"], secrets["alpha"], srv.AuthorityHost(), srv.GraphEndpoint(), ids["beta"], secretFile, srv.AuthorityHost(), srv.GraphEndpoint())
	cfgFile := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfgFile, []byte(cfg), 0o600)

	e := start(t, []string{"SSL_CERT_FILE=" + caFile}, "--config.file="+cfgFile, "--config.allow-custom-endpoints", "--log.level=debug", "--fixed-time="+now.Format(time.RFC3339))
	_, scrape := e.get(t, "/metrics")
	series := parseScrape(t, scrape)

	for _, name := range []string{"alpha", "beta"} {
		d := data[name]
		for _, report := range []string{"credential_registration_count", "user_registration_details",
			"user_events_summary", "user_mfa_signin_summary", "user_password_resets_summary"} {
			expect(t, series, 1, "entra_authmethods_report_up", "tenant", name, "report", report)
		}
		expect(t, series, float64(d.TotalUserCount), "entra_authmethods_credential_users", "tenant", name)
		for _, rc := range d.RegistrationCounts {
			expect(t, series, float64(rc.Count), "entra_authmethods_credential_registration_users", "tenant", name, "status", rc.Status)
		}
		expect(t, series, float64(len(d.Users)), "entra_authmethods_report_records", "tenant", name, "report", "user_registration_details")
		members, mfaCapable := 0.0, 0.0
		for _, u := range d.Users {
			if u.UserType == "member" {
				members++
				if u.IsMfaCapable {
					mfaCapable++
				}
			}
		}
		expect(t, series, members, "entra_authmethods_users", "tenant", name, "user_type", "member")
		expect(t, series, mfaCapable, "entra_authmethods_users_registered_by_feature", "tenant", name, "user_type", "member", "feature", "mfaCapable")
		distinct := map[fakegraph.Event]bool{}
		for _, ev := range d.Events {
			distinct[ev] = true
		}
		expect(t, series, float64(len(distinct)), "entra_authmethods_events_total", "tenant", name)
		// The windowed reasons and each feature's newest event, as Graph's
		// rows say at --fixed-time (the synthetic events keep 15 minutes
		// from every window's edge).
		newestEvent, reasons := map[string]time.Time{}, map[[3]string]float64{}
		for ev := range distinct {
			if ev.EventDateTime.After(newestEvent[ev.Feature]) {
				newestEvent[ev.Feature] = ev.EventDateTime
			}
			for _, w := range []struct {
				period string
				span   time.Duration
			}{{"h6", 6 * time.Hour}, {"d1", 24 * time.Hour}, {"d30", 30 * 24 * time.Hour}} {
				if !ev.IsSuccess && now.Sub(ev.EventDateTime) <= w.span {
					reasons[[3]string{w.period, ev.Feature, cmp.Or(ev.FailureReason, "unspecified")}]++
				}
			}
		}
		for feature, at := range newestEvent {
			expect(t, series, float64(at.Unix()), "entra_authmethods_newest_event_timestamp_seconds", "tenant", name, "feature", feature)
		}
		for k, n := range reasons {
			expect(t, series, n, "entra_authmethods_period_failure_reasons", "tenant", name, "period", k[0], "feature", k[1], "reason", k[2])
		}
		newest := d.PasswordResets[0]
		for _, r := range d.PasswordResets {
			if r.AggregatedDateTime.After(newest.AggregatedDateTime) {
				newest = r
			}
		}
		expect(t, series, float64(newest.PasswordResetsSelfServiceCount), "entra_authmethods_daily_password_operations", "tenant", name, "operation", "self_service_reset")
		expect(t, series, float64(newest.AggregatedDateTime.Unix()), "entra_authmethods_daily_password_operations_timestamp_seconds", "tenant", name)
		expect(t, series, 1, "entra_authmethods_tenant_info", "tenant", name, "tenant_id", ids[name], "cloud", "public")
	}
	// The exporter sends twice what the fake allows: it must have met 429s
	// (with fractional Retry-After) and ridden them out, as report_up shows.
	if sum(series, "entra_authmethods_graph_requests_total", "code", "429") == 0 {
		t.Error("no 429 drawn: the throttling path was not exercised")
	}
	_, landing := e.get(t, "/")
	e.stop(t)
	logText := e.log.String()
	needles := []string{secrets["alpha"], secrets["beta"]}
	for _, r := range srv.Requests() {
		if tok := strings.TrimPrefix(r.Authorization, "Bearer "); tok != "" {
			needles = append(needles, tok)
		}
	}
	for _, n := range needles {
		if strings.Contains(logText, n) || strings.Contains(scrape, n) || strings.Contains(landing, n) {
			t.Errorf("a secret or token appears in the log, the scrape or the landing page")
		}
	}
}

// parsed is a scrape as series: metric name and labels to value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

func parseScrape(t *testing.T, scrape string) []sample {
	t.Helper()
	var out []sample
	for _, line := range strings.Split(scrape, "\n") {
		m := sampleLine.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{name: m[1], labels: map[string]string{}}
		for _, lp := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[lp[1]] = lp[2]
		}
		fmt.Sscan(m[3], &s.value)
		out = append(out, s)
	}
	return out
}

// sum adds the values of every series of name matching the label pairs.
func sum(series []sample, name string, pairs ...string) float64 {
	total := 0.0
next:
	for _, s := range series {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(pairs); i += 2 {
			if s.labels[pairs[i]] != pairs[i+1] {
				continue next
			}
		}
		total += s.value
	}
	return total
}

func expect(t *testing.T, series []sample, want float64, name string, pairs ...string) {
	t.Helper()
	if got := sum(series, name, pairs...); got != want {
		t.Errorf("%s%v = %v, want %v", name, pairs, got, want)
	}
}

func TestConfigCheckAndVersion(t *testing.T) {
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("tenants:\n  - name: a\n    tenant_id: 00000000-0000-0000-0000-000000000001\n    client_id: 00000000-0000-0000-0000-000000000002\n    client_secret: x\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("poll_intervall: 5m\ntenants:\n  - name: a\n    tenant_id: t\n"), 0o600)

	out, err := exec.Command(bin, "--config.file="+good, "--config.check").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "valid") {
		t.Errorf("good file: %v %s", err, out)
	}
	out, err = exec.Command(bin, "--config.file="+bad, "--config.check").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), `line 1: unknown key "poll_intervall"`) {
		t.Errorf("bad file: %v %s", err, out)
	}
	// A login host of no national cloud: refused unless allowed.
	foreign := filepath.Join(dir, "foreign.yaml")
	os.WriteFile(foreign, []byte("tenants:\n  - name: a\n    tenant_id: 00000000-0000-0000-0000-000000000001\n    client_id: 00000000-0000-0000-0000-000000000002\n"+
		"    client_secret: x\n    authority_host: https://attacker.example/\n"), 0o600)
	out, err = exec.Command(bin, "--config.file="+foreign, "--config.check").CombinedOutput()
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), `tenants[0] (a): authority_host: "attacker.example" is not a national cloud's login host`) ||
		!strings.Contains(string(out), "--config.allow-custom-endpoints") {
		t.Errorf("foreign login host: %v %s", err, out)
	}
	if out, err := exec.Command(bin, "--config.file="+foreign, "--config.check", "--config.allow-custom-endpoints").CombinedOutput(); err != nil {
		t.Errorf("foreign login host with --config.allow-custom-endpoints: %v %s", err, out)
	}
	out, err = exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "entra-authmethods-exporter, version") {
		t.Errorf("--version: %v %s", err, out)
	}
}

// oneFakeTenant serves one tenant from a fake Graph until the test ends and
// returns a configuration that polls it (its user_registration_details),
// written to dir/config.yaml, and the environment that trusts the fake.
func oneFakeTenant(t *testing.T, dir string) (cfg, cfgFile string, env []string) {
	t.Helper()
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddTenant(&fakegraph.Tenant{TenantID: "aaaaaaaa-0000-4000-8000-000000000001", ClientID: "cccccccc-0000-4000-8000-000000000003",
		ClientSecret: "reload-secret-value", Data: fakegraph.Synthetic(3, 50, time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC))})
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, srv.CACertPEM(), 0o600)
	cfg = fmt.Sprintf("tenants:\n  - name: one\n    tenant_id: aaaaaaaa-0000-4000-8000-000000000001\n    client_id: cccccccc-0000-4000-8000-000000000003\n"+
		"    client_secret: reload-secret-value\n    authority_host: %s\n    graph_endpoint: %s\n    reports: [user_registration_details]\n",
		srv.AuthorityHost(), srv.GraphEndpoint())
	cfgFile = filepath.Join(dir, "config.yaml")
	os.WriteFile(cfgFile, []byte(cfg), 0o600)
	return cfg, cfgFile, []string{"SSL_CERT_FILE=" + caFile}
}

func TestBadReloadKeepsRunning(t *testing.T) {
	cfg, cfgFile, env := oneFakeTenant(t, t.TempDir())
	e := start(t, env, "--config.file="+cfgFile, "--config.allow-custom-endpoints", "--web.enable-lifecycle")

	os.WriteFile(cfgFile, []byte(cfg+"    bogus: 1\n"), 0o600)
	e.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.log.String(), "reload failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no failed reload logged:\n%s", e.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(e.log.String(), `unknown key \"bogus\"`) && !strings.Contains(e.log.String(), `unknown key "bogus"`) {
		t.Errorf("the reason is not logged:\n%s", e.log.String())
	}
	if _, scrape := e.get(t, "/metrics"); !strings.Contains(scrape, `entra_authmethods_report_up{report="user_registration_details",tenant="one"} 1`) {
		t.Errorf("the old configuration stopped serving after a bad reload")
	}
	resp, err := http.Post("http://"+e.addr+"/-/reload", "", nil)
	if err != nil || resp.StatusCode != 500 {
		t.Errorf("POST /-/reload with a bad file: %v %v", err, resp)
	}
	if _, scrape := e.get(t, "/metrics"); !strings.Contains(scrape, "\nentra_authmethods_config_last_reload_successful 0\n") {
		t.Errorf("config_last_reload_successful is not 0 after a failed reload")
	}
	// The same failure again is not logged again at error level.
	if resp, err := http.Post("http://"+e.addr+"/-/reload", "", nil); err == nil {
		resp.Body.Close()
	}
	if n := strings.Count(e.log.String(), "level=error msg=\"reload failed"); n != 1 {
		t.Errorf("the same failed reload logged %d times at error level, want 1:\n%s", n, e.log.String())
	}
	os.WriteFile(cfgFile, []byte(cfg), 0o600)
	resp, err = http.Post("http://"+e.addr+"/-/reload", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("POST /-/reload with a good file: %v %v", err, resp)
	}
	_, scrape := e.get(t, "/metrics")
	if !strings.Contains(scrape, "\nentra_authmethods_config_last_reload_successful 1\n") ||
		!strings.Contains(scrape, "entra_authmethods_config_last_reload_success_timestamp_seconds ") {
		t.Errorf("reload metrics after a good reload:\n%s", scrape)
	}
	// The file unchanged: a reload applies nothing and logs nothing.
	applied := strings.Count(e.log.String(), "configuration applied")
	for range 5 {
		if resp, err := http.Post("http://"+e.addr+"/-/reload", "", nil); err != nil || resp.StatusCode != 200 {
			t.Errorf("POST /-/reload, unchanged: %v %v", err, resp)
		} else {
			resp.Body.Close()
		}
	}
	if n := strings.Count(e.log.String(), "configuration applied"); n != applied {
		t.Errorf("5 reloads of an unchanged file applied it %d times", n-applied)
	}
	e.stop(t)
	if strings.Contains(e.log.String(), "reload-secret-value") {
		t.Error("the secret appears in the log")
	}
}

func TestBasicAuthThroughWebConfig(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(t.TempDir(), "web.yaml")
	os.WriteFile(webConfig, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600)
	addr := launch(t, nil, "--demo", "--web.config.file="+webConfig).addr
	get := func(user, pass string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(30 * time.Second)
	for get("prometheus", "scrape-password") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("no authenticated scrape within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("scrape without credentials: %d, want 401", code)
	}
	if code := get("prometheus", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("scrape with a wrong password: %d, want 401", code)
	}
}

func TestTLSThroughWebConfig(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "exporter"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	webConfig := filepath.Join(dir, "web.yaml")
	os.WriteFile(webConfig, []byte("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"), 0o600)

	addr := launch(t, nil, "--demo", "--web.config.file="+webConfig).addr
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("https://" + addr + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(body), "entra_authmethods_tenant_info") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scrape over TLS within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP is served although TLS is configured")
		}
	}
}

func TestSIGTERMCancelsRequestsInFlight(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddTenant(&fakegraph.Tenant{TenantID: "aaaaaaaa-0000-4000-8000-000000000001", ClientID: "cccccccc-0000-4000-8000-000000000003",
		ClientSecret: "slow-secret-value"})
	inFlight := make(chan struct{}, 1)
	srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/reports/") {
			return false
		}
		select { // Graph never answers
		case inFlight <- struct{}{}:
		default:
		}
		<-r.Context().Done()
		return true
	})
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, srv.CACertPEM(), 0o600)
	cfgFile := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf("request_timeout: 10m\ntenants:\n  - name: one\n    tenant_id: aaaaaaaa-0000-4000-8000-000000000001\n"+
		"    client_id: cccccccc-0000-4000-8000-000000000003\n    client_secret: slow-secret-value\n    authority_host: %s\n    graph_endpoint: %s\n",
		srv.AuthorityHost(), srv.GraphEndpoint())), 0o600)
	e := launch(t, []string{"SSL_CERT_FILE=" + caFile}, "--config.file="+cfgFile, "--config.allow-custom-endpoints")
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatalf("no request reached Graph; log:\n%s", e.log.String())
	}
	start := time.Now()
	e.stop(t) // fails unless the process exits cleanly within 5 s
	t.Logf("exited %v after SIGTERM with a request in flight", time.Since(start).Round(time.Millisecond))
}

// A bad flag value is one line naming the flag, and exit status 2.
func TestBadFlagsExit2(t *testing.T) {
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ arg, flag string }{
		{"--web.telemetry-path=/", "--web.telemetry-path"},
		{"--web.telemetry-path=", "--web.telemetry-path"},
		{"--web.telemetry-path=/-/reload", "--web.telemetry-path"},
		{"--web.telemetry-path=/-/healthy", "--web.telemetry-path"},
		{"--web.telemetry-path=metrics", "--web.telemetry-path"},
		{"--web.max-connections=-1", "--web.max-connections"},
		{"--auto-gomemlimit.ratio=1.5", "--auto-gomemlimit.ratio"},
		{"--auto-gomemlimit.ratio=0", "--auto-gomemlimit.ratio"},
	} {
		var stderr strings.Builder
		cmd := exec.Command(bin, "--demo", c.arg)
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		out := stderr.String()
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || strings.Count(out, "\n") != 1 || !strings.Contains(out, c.flag) {
			t.Errorf("%s: %v, stderr %q; want exit status 2 and one line naming %s", c.arg, err, out, c.flag)
		}
	}
}

// --web.systemd-socket serves on the listener systemd passes (fd 3), as
// exporter-toolkit's own ListenAndServe does.
func TestSystemdSocketActivation(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("socket activation is Linux's")
	}
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.TCPListener).File()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// $$ is the shell's PID, which exec hands on to the exporter.
	e := &exporter{addr: l.Addr().String(), log: &testenv.SyncBuffer{}}
	e.cmd = exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"`, bin, "--demo", "--web.systemd-socket")
	e.cmd.ExtraFiles = []*os.File{f}
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.cmd.Process.Kill()
		e.cmd.Wait()
		if t.Failed() {
			t.Logf("exporter log:\n%s", e.log.String())
		}
	})
	e.waitReady(t)
	if code, body := e.get(t, "/metrics"); code != 200 || !strings.Contains(body, "entra_authmethods_tenant_info") {
		t.Errorf("/metrics on the activated socket: %d", code)
	}
	e.stop(t)
}

// Every --web.listen-address is served (exporter-toolkit opens them; the
// connection cap sees their connections through ConnState).
func TestListensOnEveryAddress(t *testing.T) {
	second := testenv.FreeAddr(t)
	e := start(t, nil, "--demo", "--web.listen-address="+second)
	for _, addr := range []string{e.addr, second} {
		resp, err := http.Get("http://" + addr + "/-/healthy")
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", addr, resp.Status)
		}
	} // Without --web.enable-lifecycle there is no /-/reload.
	resp, err := http.Post("http://"+e.addr+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /-/reload without --web.enable-lifecycle: %s, want 404", resp.Status)
	}
}

// --auto-gomemlimit leaves the limit to GOMEMLIMIT or AUTOMEMLIMIT=off when
// either is set, and says so.
func TestAutoMemLimitYieldsToTheEnvironment(t *testing.T) {
	for env, want := range map[string]string{
		"GOMEMLIMIT=1GiB":  "GOMEMLIMIT is set: the memory limit is left to it",
		"AUTOMEMLIMIT=off": "AUTOMEMLIMIT is off; GOMEMLIMIT not set",
	} {
		e := start(t, []string{env}, "--demo")
		if log := e.log.String(); !strings.Contains(log, want) {
			t.Errorf("with %s the log does not say %q:\n%s", env, want, log)
		}
	}
}
