package deploy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

// TestSpikeAlertOnTheDemo runs the demo with and without its SSPR outage,
// each scraped by a real Prometheus with the shipped rules: the SSPR spike
// alert fires on the outage, and no failure-spike alert fires on the
// ordinary demo.
func TestSpikeAlertOnTheDemo(t *testing.T) {
	prometheus := testenv.Tool(t, "prometheus")
	dir := t.TempDir()
	exporter := filepath.Join(dir, "entra-authmethods-exporter")
	if out, err := exec.Command("go", "build", "-o", exporter, "../cmd/entra-authmethods-exporter").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ruleFile, err := filepath.Abs(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		args   []string
		firing string // the spike alert that must fire; "" for none
	}{
		{"with the outage", []string{"--demo", "--demo.sspr-outage"}, "EntraAuthMethodsSSPRResetFailureSpike"},
		{"without", []string{"--demo"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := startDemoAndPrometheus(t, prometheus, exporter, ruleFile, c.args...)
			spikes := func() []string {
				r, err := apiGet(base, "/api/v1/query", url.Values{"query": {`ALERTS{alertname=~".*FailureSpike", alertstate="firing"}`}})
				if err != nil || r.Status != "success" {
					return nil
				}
				var data struct {
					Result []struct {
						Metric map[string]string `json:"metric"`
					} `json:"result"`
				}
				json.Unmarshal(r.Data, &data)
				var names []string
				for _, s := range data.Result {
					names = append(names, s.Metric["alertname"]+"/"+s.Metric["tenant"]+"/"+s.Metric["severity"])
				}
				return names
			}
			if c.firing != "" {
				start := time.Now()
				testenv.Eventually(t, c.firing+" to fire", 90*time.Second, func() bool {
					return strings.Join(spikes(), " ") == c.firing+"/demo/critical"
				})
				t.Logf("%s firing %v after Prometheus was ready", c.firing, time.Since(start).Round(time.Second))
				return
			}
			// Every rule has been evaluated on the demo's data a few times.
			testenv.Eventually(t, "every rule to be evaluated", 60*time.Second, func() bool {
				return len(unhealthyRules(t, base, true)) == 0
			})
			time.Sleep(5 * time.Second)
			if got := spikes(); len(got) > 0 {
				t.Errorf("failure-spike alerts fire on the ordinary demo: %v", got)
			}
		})
	}
}

// startDemoAndPrometheus runs the exporter with args and a Prometheus that
// scrapes it every second as job rules.Defaults().Job with ruleFile loaded,
// waits until every report of the demo is up in Prometheus, and returns
// Prometheus' URL.
func startDemoAndPrometheus(t *testing.T, prometheus, exporter, ruleFile string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	exporterAddr, promAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	startProcess(t, exporter, append(args, "--web.listen-address="+exporterAddr)...)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: %q
    static_configs:
      - targets: [%q]
`, ruleFile, rules.Defaults().Job, exporterAddr)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	startProcess(t, prometheus, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	base := "http://" + promAddr
	waitForDemoInPrometheus(t, base)
	return base
}

// waitForDemoInPrometheus waits until the Prometheus at base is ready and
// has every report of the demo up: every report has been polled, and
// enough samples exist for increase(); and every group of the demo read.
func waitForDemoInPrometheus(t *testing.T, base string) {
	t.Helper()
	testenv.Eventually(t, "Prometheus to be ready", 60*time.Second, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	testenv.Eventually(t, "every report of the demo to be up in Prometheus", 90*time.Second, func() bool {
		r, err := apiGet(base, "/api/v1/query", url.Values{"query": {`count(entra_authmethods_report_up == 1) >= 8`}})
		return err == nil && r.Status == "success" && !strings.Contains(string(r.Data), `"result":[]`)
	})
	testenv.Eventually(t, "every group of the demo to be read", 60*time.Second, func() bool {
		r, err := apiGet(base, "/api/v1/query", url.Values{"query": {`count(entra_authmethods_group_up == 1) >= 6`}})
		return err == nil && r.Status == "success" && !strings.Contains(string(r.Data), `"result":[]`)
	})
}
