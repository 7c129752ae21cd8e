package deploy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

// emptyByDesign lists dashboard queries that may rightly return no data on
// the demo tenant, by a fragment of their expression, with the reason.
var emptyByDesign = map[string]string{
	`admin="true", feature="mfaCapable"`: "admins who are not MFA-capable: a table that should be empty",
}

// startProcess runs a command until the test ends and returns its output so far on failure.
func startProcess(t *testing.T, name string, args ...string) *testenv.SyncBuffer {
	t.Helper()
	out := &testenv.SyncBuffer{}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), tail(out.String(), 4000))
		}
	})
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// waitFor polls f until it returns true or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !f(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

type apiResponse struct {
	Status    string          `json:"status"`
	Error     string          `json:"error"`
	ErrorType string          `json:"errorType"`
	Data      json.RawMessage `json:"data"`
}

func apiGet(base, path string, q url.Values) (*apiResponse, error) {
	resp, err := http.Get(base + path + "?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &r, nil
}

// dashboardQuery is one target of one panel.
type dashboardQuery struct {
	dashboard, panel, expr string
}

// dashboardQueries reads every target expression of every panel, rows included.
func dashboardQueries(t *testing.T) []dashboardQuery {
	t.Helper()
	files, _ := filepath.Glob("grafana-dashboards/*.json")
	var out []dashboardQuery
	type panel struct {
		Title   string  `json:"title"`
		Panels  []panel `json:"panels"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	var walk func(dash string, ps []panel)
	walk = func(dash string, ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				if tg.Expr != "" {
					out = append(out, dashboardQuery{dash, p.Title, tg.Expr})
				}
			}
			walk(dash, p.Panels)
		}
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Title  string  `json:"title"`
			Panels []panel `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		walk(d.Title, d.Panels)
	}
	return out
}

// substitute replaces Grafana's variables as Grafana would for "All" tenants.
var substitute = strings.NewReplacer(
	"${tenant:regex}", ".*", "${tenant}", ".*", "$tenant", ".*",
	"${__rate_interval}", "1m", "$__rate_interval", "1m",
	"${__range}", "1h", "$__range", "1h", "${__interval}", "15s", "$__interval", "15s",
)

// TestDashboardsAndRulesAgainstPrometheus starts the exporter on its demo
// tenant and a real Prometheus that scrapes it every second and loads the
// rules, then evaluates every dashboard query and checks every rule's health.
func TestDashboardsAndRulesAgainstPrometheus(t *testing.T) {
	prometheus := testenv.Tool(t, "prometheus")
	queries := dashboardQueries(t)
	dashboards := map[string]bool{}
	for _, q := range queries {
		dashboards[q.dashboard] = true
	}
	if len(queries) < 12 || len(dashboards) < 2 {
		t.Fatalf("%d queries in %d dashboards: want at least 12 in at least 2", len(queries), len(dashboards))
	}
	rules, _ := filepath.Glob("prometheus/*.rules.yml")
	if len(rules) == 0 {
		t.Fatal("no rule files in deploy/prometheus")
	}

	dir := t.TempDir()
	exporter := filepath.Join(dir, "entra-authmethods-exporter")
	if out, err := exec.Command("go", "build", "-o", exporter, "../cmd/exporter").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exporterAddr, promAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	startProcess(t, exporter, "--demo", "--web.listen-address="+exporterAddr)

	var ruleFiles []string
	for _, r := range rules {
		abs, _ := filepath.Abs(r)
		ruleFiles = append(ruleFiles, fmt.Sprintf("%q", abs))
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%s]
scrape_configs:
  - job_name: entra-authmethods
    static_configs:
      - targets: [%q]
`, strings.Join(ruleFiles, ", "), exporterAddr)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfgFile, []byte(cfg), 0o644)
	startProcess(t, prometheus, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr, "--web.enable-lifecycle")
	base := "http://" + promAddr

	waitFor(t, "Prometheus to be ready", 60*time.Second, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	// Every report has been polled, and enough samples exist for rate().
	waitFor(t, "every report of the demo to be up in Prometheus", 90*time.Second, func() bool {
		r, err := apiGet(base, "/api/v1/query", url.Values{"query": {`count(entra_authmethods_report_up == 1) >= 8`}})
		return err == nil && r.Status == "success" && !strings.Contains(string(r.Data), `"result":[]`)
	})
	time.Sleep(5 * time.Second)

	withData, allowedEmpty := 0, 0
	for _, q := range queries {
		expr := substitute.Replace(q.expr)
		r, err := apiGet(base, "/api/v1/query", url.Values{"query": {expr}})
		if err != nil {
			t.Errorf("%s / %s: %v", q.dashboard, q.panel, err)
			continue
		}
		if r.Status != "success" {
			t.Errorf("%s / %s: %s: %s\n  %s", q.dashboard, q.panel, r.ErrorType, r.Error, expr)
			continue
		}
		var data struct {
			Result []json.RawMessage `json:"result"`
		}
		json.Unmarshal(r.Data, &data)
		if len(data.Result) > 0 {
			withData++
			continue
		}
		if reason := emptyReason(q.expr); reason != "" {
			allowedEmpty++
			t.Logf("empty by design (%s): %s / %s", reason, q.dashboard, q.panel)
			continue
		}
		t.Errorf("%s / %s: no data\n  %s", q.dashboard, q.panel, expr)
	}
	t.Logf("%d queries in %d dashboards: %d returned data, %d empty by design", len(queries), len(dashboards), withData, allowedEmpty)

	// Every rule has been evaluated and is healthy.
	waitFor(t, "every rule to be evaluated", 30*time.Second, func() bool {
		return len(unhealthyRules(t, base, true)) == 0
	})
	if bad := unhealthyRules(t, base, false); len(bad) > 0 {
		t.Errorf("unhealthy rules:\n%s", strings.Join(bad, "\n"))
	}
}

func emptyReason(expr string) string {
	for fragment, reason := range emptyByDesign {
		if strings.Contains(strings.ReplaceAll(expr, " ", ""), strings.ReplaceAll(fragment, " ", "")) {
			return reason
		}
	}
	return ""
}

// unhealthyRules lists rules that are not healthy (or, with pending, not yet evaluated).
func unhealthyRules(t *testing.T, base string, pending bool) []string {
	t.Helper()
	r, err := apiGet(base, "/api/v1/rules", nil)
	if err != nil || r.Status != "success" {
		return []string{fmt.Sprintf("rules API: %v %v", err, r)}
	}
	var data struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name           string `json:"name"`
				Health         string `json:"health"`
				LastError      string `json:"lastError"`
				LastEvaluation string `json:"lastEvaluation"`
			} `json:"rules"`
		} `json:"groups"`
	}
	json.Unmarshal(r.Data, &data)
	var bad []string
	n := 0
	for _, g := range data.Groups {
		for _, rule := range g.Rules {
			n++
			switch {
			case rule.Health == "unknown" || strings.HasPrefix(rule.LastEvaluation, "0001"):
				if pending {
					bad = append(bad, g.Name+"/"+rule.Name+": not evaluated yet")
				}
			case rule.Health != "ok":
				bad = append(bad, fmt.Sprintf("%s/%s: %s %s", g.Name, rule.Name, rule.Health, rule.LastError))
			}
		}
	}
	if n == 0 {
		bad = append(bad, "no rules loaded")
	}
	sort.Strings(bad)
	return bad
}
