package rules

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the shipped files")

// The shipped files, relative to this package.
const (
	ruleFilePath       = "../deploy/prometheus/entra-authmethods.rules.yml"
	prometheusRulePath = "../deploy/kubernetes/base/prometheusrule.yaml"
	spikeTestsPath     = "../deploy/prometheus/entra-authmethods.spikes.test.yml"
	trafficTestsPath   = "../deploy/prometheus/entra-authmethods.traffic.test.yml"
	ruleTestsPath      = "../deploy/prometheus/entra-authmethods.rules.test.yml"
)

// TestShippedFilesAreGenerated keeps the shipped rule files what Defaults
// generates; go generate ./rules/ rewrites them.
func TestShippedFilesAreGenerated(t *testing.T) {
	p := Defaults()
	ruleFile, err := RuleFile(p)
	if err != nil {
		t.Fatal(err)
	}
	prometheusRule, err := PrometheusRule(p)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]byte{
		ruleFilePath:       ruleFile,
		prometheusRulePath: prometheusRule,
		spikeTestsPath:     []byte(spikeTests(p)),
		trafficTestsPath:   []byte(trafficTests(p)),
	} {
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what the parameters generate; run go generate ./rules/", path)
		}
	}
}

// promtoolTest runs promtool test rules on the given test files with the
// rule file ruleFile beside them, and returns its output and whether it passed.
func promtoolTest(t *testing.T, ruleFile []byte, tests ...string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "entra-authmethods.rules.yml"), ruleFile, 0o644); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, tf := range tests {
		name := filepath.Join(dir, "test"+string(rune('a'+i))+".yml")
		if err := os.WriteFile(name, []byte(tf), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	out, err := exec.Command(testenv.Tool(t, "promtool"), append([]string{"test", "rules"}, names...)...).CombinedOutput()
	return string(out), err == nil
}

// TestSpikeScenarios runs the scenarios and the other rule tests against
// the rules 3 times in CI and once elsewhere, so that the README's test
// command stays quick: groups are evaluated in a fixed order, so the
// outcome never depends on the run. (Before that order was fixed, 5 runs
// of 40 failed; 50 in a row passed after.)
func TestSpikeScenarios(t *testing.T) {
	p := Defaults()
	ruleFile, _ := RuleFile(p)
	ruleTests, err := os.ReadFile(ruleTestsPath)
	if err != nil {
		t.Fatal(err)
	}
	runs := 1
	if os.Getenv("CI") != "" {
		runs = 3
	}
	for i := range runs {
		t.Run(strconv.Itoa(i+1), func(t *testing.T) {
			t.Parallel()
			if out, ok := promtoolTest(t, ruleFile, spikeTests(p), string(ruleTests)); !ok {
				t.Fatalf("run %d of %d failed:\n%s", i+1, runs, out)
			}
		})
	}
}

// TestTrafficScenarios runs the scenarios of days once (they take a minute).
func TestTrafficScenarios(t *testing.T) {
	t.Parallel()
	ruleFile, _ := RuleFile(Defaults())
	if out, ok := promtoolTest(t, ruleFile, trafficTests(Defaults())); !ok {
		t.Fatalf("%s", out)
	}
}

// TestSpikeMutations weakens, then tightens, each clause of the failure
// alerts in turn: every changed rule must fail the scenario named as its
// witness, or no scenario tests that clause. Each mutant runs its witness
// alone (TestSpikeScenarios runs every scenario against the real rules);
// together they take minutes of promtool, so they run in CI.
func TestSpikeMutations(t *testing.T) {
	if os.Getenv("CI") == "" {
		t.Skip("the mutations take minutes of promtool: they run in CI (CI=1 go test ./rules/ runs them here)")
	}
	p := Defaults()
	weaken := func(f func(*Params)) []byte {
		q := p
		f(&q)
		b, err := RuleFile(q)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ruleFile, _ := RuleFile(p)
	edit := func(old, replacement string) []byte {
		if !bytes.Contains(ruleFile, []byte(old)) {
			t.Fatalf("the rule file has no %q to change", old)
		}
		return bytes.ReplaceAll(ruleFile, []byte(old), []byte(replacement))
	}
	lastHourOnly, _ := render(p, "h1")
	sixHoursOnly, _ := render(p, "h6")
	for name, m := range map[string]struct {
		rules   []byte
		witness string // the tenant of the scenario that must fail
	}{
		"no minimum of excess failures": {weaken(func(q *Params) { q.ResetSpike.MinExcessFailures = 1; q.RegistrationSpike.MinExcessFailures = 1 }), "smallco3"},
		"no significance":               {weaken(func(q *Params) { q.ResetSpike.MinZ = 0; q.RegistrationSpike.MinZ = 0 }), "bigco"},
		"no minimum of points":          {weaken(func(q *Params) { q.ResetSpike.MinPoints = 0; q.RegistrationSpike.MinPoints = 0 }), "big-drift"},
		"no minimum of failing users":   {weaken(func(q *Params) { q.ResetSpike.MinFailingUsers = 1; q.RegistrationSpike.MinFailingUsers = 1 }), "smallco2"},
		"the last hour only":            {lastHourOnly, "contoso5"},
		"the last six hours only":       {sixHoursOnly, "contoso"},
		"duplicates added up":           {edit("max by (tenant, feature, period, method)", "sum by (tenant, feature, period, method)"), "smallco4"},
		"no keep_firing_for":            {edit("keep_firing_for: 15m", "keep_firing_for: 0s"), "contoso3"},
		"baseline including the window": {edit(`sum without (period) (tenant_feature_method_period:entra_authmethods_period_event_failures:max{period="h6"})`, "0"), "contoso"},
		"expected without the method mix": {edit("tenant_feature_method:entra_authmethods_event_failure_ratio:baseline7d\n          or on (tenant, feature, method)",
			"(tenant_feature_method:entra_authmethods_event_failure_ratio:baseline7d > 2)\n          or on (tenant, feature, method)"), "m-passkey2"},
		"severity of resets":                     {weaken(func(q *Params) { q.ResetSpike.Severity = "warning" }), "contoso"},
		"spikes from stale data":                 {edit("          and on (tenant)\n          (tenant:entra_authmethods_events_data_fresh:bool == 1)\n        # A restart", "        # A restart"), "r-report-fails2"},
		"six hours until the outage leaves them": {edit(`"period", "h6", "", ""`, `"period", "none", "", ""`), "r-recovers"},
		"data lost looks back an hour":           {edit(`_failure_spike:active[6h]))`, `_failure_spike:active[1h]))`), "r-crash"},
		"data lost waits an hour": {edit("(tenant:entra_authmethods_events_data_fresh:bool == 1)\n        for: 10m",
			"(tenant:entra_authmethods_events_data_fresh:bool == 1)\n        for: 1h"), "r-crash"},
		"method spike from one failure":        {weaken(func(q *Params) { q.MethodSpike.MinExcessFailures = 1 }), "m-sms-few"},
		"method spike from 1000 users":         {weaken(func(q *Params) { q.MethodSpike.MinFailingUsers = 1000 }), "m-sms"},
		"method spike until it leaves 6 hours": {edit("(tenant_feature_method:entra_authmethods_event_failure_ratio:baseline7d + 0.125),\n              \"period\", \"h6\"", "(tenant_feature_method:entra_authmethods_event_failure_ratio:baseline7d + 0.125),\n              \"period\", \"none\""), "m-sms"},
		"vanished while Graph is late":         {edit(`(tenant:entra_authmethods_newest_event_age_seconds:min > 3600)`, `(tenant:entra_authmethods_newest_event_age_seconds:min > 1e9)`), "r-late"},
		"degradation against 7 days": {edit("tenant_feature:entra_authmethods_event_failure_ratio:baseline30d\n                  >=",
			"tenant_feature:entra_authmethods_event_failure_ratio:baseline7d\n                  >="), "r-degrading"},
		"lag at any hour": {edit(`(sum by (tenant) (tenant_feature:entra_authmethods_period_events:usual_h1) >= 20)`, `(sum by (tenant) (tenant_feature:entra_authmethods_period_events:usual_h1) >= 0)`), "r-quiet-night"},
		// Made stricter, a clause must miss an outage a scenario wants caught.
		"a minimum of 50 excess failures": {weaken(func(q *Params) { q.ResetSpike.MinExcessFailures = 50; q.RegistrationSpike.MinExcessFailures = 50 }), "contoso"},
		"a significance of 20":            {weaken(func(q *Params) { q.ResetSpike.MinZ = 20; q.RegistrationSpike.MinZ = 20 }), "contoso"},
		"a minimum of 30 points":          {weaken(func(q *Params) { q.ResetSpike.MinPoints = 0.30; q.RegistrationSpike.MinPoints = 0.30 }), "contoso"},
		"a minimum of 100 failing users":  {weaken(func(q *Params) { q.ResetSpike.MinFailingUsers = 100; q.RegistrationSpike.MinFailingUsers = 100 }), "contoso"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// TestSpikeScenarios runs the witness with the real rules.
			if out, ok := promtoolTest(t, m.rules, witnessTests(t, p, m.witness)); ok {
				t.Errorf("the scenarios pass with %s: the witness %s does not test it\n%s", name, m.witness, out)
			}
		})
	}
}

// witnessTests is the promtool test file of the one scenario of tenant.
func witnessTests(t *testing.T, p Params, tenant string) string {
	t.Helper()
	for _, set := range []struct {
		every     int
		scenarios []scenario
	}{{1, append(spikeScenarios(), realisticScenarios()...)}, {10, realisticScenarios()}} {
		for _, s := range set.scenarios {
			if s.tenant == tenant && max(s.step, 1) == set.every {
				return scenarioFile(p, "witness", set.every, []scenario{s})
			}
		}
	}
	t.Fatalf("no scenario of tenant %s", tenant)
	return ""
}

func TestParamsAreChecked(t *testing.T) {
	for name, f := range map[string]func(*Params){
		"empty job":       func(p *Params) { p.Job = "" },
		"quote in job":    func(p *Params) { p.Job = `a"b` },
		"zero users":      func(p *Params) { p.ResetSpike.MinFailingUsers = 0 },
		"points of 1":     func(p *Params) { p.RegistrationSpike.MinPoints = 1 },
		"no severity":     func(p *Params) { p.WarnSeverity = "" },
		"no spike sevrty": func(p *Params) { p.ResetSpike.Severity = "" },
		"lost fraction 0": func(p *Params) { p.CoverageDrop.MinLostFraction = 0 },
		"lost users 0":    func(p *Params) { p.CoverageDrop.MinLostUsers = 0 },
		"no admins sevty": func(p *Params) { p.AdminsWithoutPhishingResistantSeverity = "" },
	} {
		p := Defaults()
		f(&p)
		if _, err := RuleFile(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	p := Defaults()
	p.Job, p.ResetSpike.MinFailingUsers = "my-exporter", 25
	out, err := RuleFile(p)
	if err != nil || !strings.Contains(string(out), `up{job="my-exporter"}`) || !strings.Contains(string(out), ">= 25") {
		t.Errorf("custom parameters did not reach the rules: %v", err)
	}
}
