package deploy

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

// emptyWhenHealthy lists the dashboard queries that rightly return nothing,
// or only zeros, on the demo tenant with a healthy exporter, with or without
// its SSPR outage, as "<dashboard> / <panel>" or "<dashboard> / <panel> /
// <refId>", with the reason. Every other query must return a non-zero value.
var emptyWhenHealthy = map[string]string{
	// Healthy exporter: nothing fails, nothing is throttled, nothing overruns.
	"Exporter health / Targets down":                                                              "0: the target is up",
	"Exporter health / Reports failing":                                                           "0: every poll succeeds",
	"Exporter health / Reports / H":                                                               "failed polls in the time range: 0",
	"Exporter health / Failed polls by reason over the time range":                                "no failed polls: no rows",
	"Exporter health / Overruns, evicted event keys and dropped label values over the time range": "none happen: no rows",
	"Exporter health / Throttled share over the time range":                                       "the fake Graph never answers 429",
	"Fleet / Tenants with failing reports":                                                        "0: every poll succeeds",
	"Fleet / Tenants with stale data":                                                             "0: the data is fresh",
	"Fleet / Failing reports by tenant":                                                           "no failing reports: no rows",
	// Counters step once per demo poll (every 5 minutes): within the test's
	// seconds Prometheus sees no step, so their increase over the range is
	// 0 and filtered out. dashboards/promql_test.go (TestCounterQueries)
	// checks these queries on counters that step.
	"Exporter health / Graph requests by status code over the time range":                          "no poll step seen yet",
	"Activity / Usage events over the time range (userCredentialUsageDetails, stopped 2025-08-01)": "no poll step seen yet",
	// Registrations fail at their baseline in both demos: the spike
	// alert's conditions do not all hold, and there is no excess (shown as
	// 0, not negative).
	"Activity / Registration failure spike: the alert's inputs now / I":   "0: no registration spike",
	"Activity / Registration failure spike: the alert's inputs now / G":   "0: no registration excess, so no deviations",
	"Activity / Registration failure spike: the alert's inputs now / F":   "0: no registration excess",
	"Activity / Excess registration failures against the alert's minimum": "0: no registration excess",
	"Fleet / Most registration failures beyond the usual, last 6 hours":   "no registration excess: no rows",
	// Prometheus holds seconds of the demo: nothing from 30 days before to
	// compare with. dashboards/promql_test.go (TestGroupQueries) checks the
	// change on 30 days of series.
	"Adoption / Groups / F": "the change against 30 days before: no series 30 days old",
	// The demo's guests register no phishing-resistant or passwordless
	// method (its passkeys go to members).
	"Adoption / Guests by authentication strength, $tenant / A": "0: no guest is phishing-resistant",
	"Adoption / Guests by authentication strength, $tenant / B": "0: no guest is passwordless",
}

// emptyInGroup adds what is rightly empty with the group variable on
// groupOnTheDemo rather than All: the panels that follow the group show its
// members only.
var emptyInGroup = map[string]string{
	"Adoption / Guests by authentication strength, $tenant": "the group has no guests",
	"Adoption / Admins without phishing-resistant":          "0: the group's admins are all phishing-resistant",
}

// groupOnTheDemo is a group of the demo tenant the dashboards are checked on.
const groupOnTheDemo = "finance"

// emptyWithoutOutage adds what is rightly empty on the ordinary demo:
// resets fail at their baseline too.
var emptyWithoutOutage = map[string]string{
	"Activity / Password reset failure spike: the alert's inputs now / I":   "0: no reset spike",
	"Activity / Password reset failure spike: the alert's inputs now / G":   "0: no reset excess, so no deviations",
	"Activity / Password reset failure spike: the alert's inputs now / F":   "0: no reset excess",
	"Activity / Excess password reset failures against the alert's minimum": "0: no reset excess",
	"Fleet / Most password reset failures beyond the usual, last 6 hours":   "no reset excess: no rows",
}

// process is a command started for the test, stopped at its end at the latest.
type process struct {
	cmd *exec.Cmd
	out *testenv.SyncBuffer
}

// startProcess runs a command until the test ends and returns it; its output is logged on failure.
func startProcess(t *testing.T, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), out: &testenv.SyncBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), tail(p.out.String(), 4000))
		}
	})
	return p
}

// stop kills the process at once, as a crash or a lost node would.
func (p *process) stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
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

// sample is one series of an instant query's result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) value() float64 {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// instantQuery evaluates expr at t (now when zero).
func instantQuery(base, expr string, at time.Time) ([]sample, error) {
	q := url.Values{"query": {expr}}
	if !at.IsZero() {
		q.Set("time", strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', 3, 64))
	}
	r, err := apiGet(base, "/api/v1/query", q)
	if err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	var data struct {
		ResultType string   `json:"resultType"`
		Result     []sample `json:"result"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("result type %s, want vector", data.ResultType)
	}
	return data.Result, nil
}

// The parts of the dashboards' JSON the test reads.
type (
	dashFile struct {
		UID   string `json:"uid"`
		Title string `json:"title"`
		Time  struct {
			From string `json:"from"`
		} `json:"time"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				IncludeAll bool   `json:"includeAll"`
				AllValue   string `json:"allValue"`
				Current    struct {
					Value values `json:"value"`
				} `json:"current"`
			} `json:"list"`
		} `json:"templating"`
		Annotations struct {
			List []struct {
				Name string `json:"name"`
				Expr string `json:"expr"`
			} `json:"list"`
		} `json:"annotations"`
		Panels []dashPanel `json:"panels"`
	}
	dashPanel struct {
		Title       string      `json:"title"`
		Type        string      `json:"type"`
		Panels      []dashPanel `json:"panels"`
		FieldConfig struct {
			Defaults struct {
				Mappings []struct {
					Type    string          `json:"type"`
					Options json.RawMessage `json:"options"`
				} `json:"mappings"`
				Thresholds struct {
					Steps []struct {
						Color string   `json:"color"`
						Value *float64 `json:"value"`
					} `json:"steps"`
				} `json:"thresholds"`
			} `json:"defaults"`
		} `json:"fieldConfig"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	}
)

// dashboardQuery is one target of one panel, its variables substituted.
type dashboardQuery struct {
	name  string // "<dashboard> / <panel> / <refId>"
	raw   string // as in the JSON
	expr  string // as Grafana sends it with the default variables
	panel *dashPanel
}

// shortTitle drops the dashboards' common title prefix.
func shortTitle(title string) string {
	return strings.TrimPrefix(title, "Entra ID authentication methods / ")
}

// rangeOf is a dashboard's default time range, "now-7d", as a duration.
func rangeOf(t *testing.T, from string) time.Duration {
	m := regexp.MustCompile(`^now-(\d+)([hd])$`).FindStringSubmatch(from)
	if m == nil {
		t.Fatalf("time range from %q", from)
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] == "d" {
		return time.Duration(n) * 24 * time.Hour
	}
	return time.Duration(n) * time.Hour
}

// substituter replaces a dashboard's variables as Grafana does with their
// default selection: All as the variable's allValue, one value as itself,
// several as (a|b); $__range is the default time range in seconds, and
// $__interval and $__rate_interval are the smallest the panels' 1m minimum
// interval allows (1m, and max(1m + 1m, 4 × 1m)).
func substituter(t *testing.T, d dashFile, overrides map[string]string) *strings.Replacer {
	var pairs []string
	add := func(name, value string) {
		pairs = append(pairs, "${"+name+":regex}", value, "${"+name+"}", value, "$"+name, value)
	}
	vars := d.Templating.List
	sort.Slice(vars, func(i, j int) bool { return len(vars[i].Name) > len(vars[j].Name) }) // $tenant before $t...
	for _, v := range vars {
		if v.Type != "query" {
			continue
		}
		value := ""
		switch {
		case overrides[v.Name] != "":
			value = overrides[v.Name]
		case len(v.Current.Value) == 1 && v.Current.Value[0] == "$__all":
			value = v.AllValue
		default:
			quoted := make([]string, len(v.Current.Value))
			for i, s := range v.Current.Value {
				quoted[i] = promRegex(s)
			}
			value = strings.Join(quoted, "|")
			if len(quoted) > 1 {
				value = "(" + value + ")"
			}
		}
		add(v.Name, value)
	}
	add("__rate_interval", "4m")
	add("__range", fmt.Sprintf("%.0fs", rangeOf(t, d.Time.From).Seconds()))
	add("__interval", "1m")
	return strings.NewReplacer(pairs...)
}

// promRegex escapes a value for a regex in a PromQL string, as Grafana
// does: the regex's backslashes doubled in the string literal.
func promRegex(s string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(s), `\`, `\\`)
}

// readDashboards reads every dashboard and the queries of all of its panels,
// rows included, with the given variables overridden.
func readDashboards(t *testing.T, overrides map[string]string) (map[string]dashFile, []dashboardQuery) {
	t.Helper()
	files, _ := filepath.Glob("grafana-dashboards/*.json")
	dashboards := map[string]dashFile{}
	var out []dashboardQuery
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashFile
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		dashboards[d.UID] = d
		sub := substituter(t, d, overrides)
		var walk func(ps []dashPanel)
		walk = func(ps []dashPanel) {
			for i := range ps {
				p := &ps[i]
				for _, tg := range p.Targets {
					if tg.Expr != "" {
						out = append(out, dashboardQuery{shortTitle(d.Title) + " / " + p.Title + " / " + tg.RefID, tg.Expr, sub.Replace(tg.Expr), p})
					}
				}
				walk(p.Panels)
			}
		}
		walk(d.Panels)
	}
	return dashboards, out
}

// emptyReason is why a query may return nothing or zeros, or "".
func emptyReason(name string, empty map[string]string, used map[string]bool) string {
	for _, key := range []string{name, name[:strings.LastIndex(name, " / ")]} {
		if reason, ok := empty[key]; ok {
			used[key] = true
			return reason
		}
	}
	return ""
}

// display is what a stat panel shows for a value (nil: the query returned
// nothing): the text of a matching value mapping, and the mapping's or the
// thresholds' color.
func display(p *dashPanel, v *float64) (text, color string) {
	for _, m := range p.FieldConfig.Defaults.Mappings {
		switch m.Type {
		case "value":
			var options map[string]struct{ Text, Color string }
			json.Unmarshal(m.Options, &options)
			if v != nil {
				if r, ok := options[strconv.FormatFloat(*v, 'f', -1, 64)]; ok {
					return r.Text, r.Color
				}
			}
		case "special":
			var options struct {
				Match  string
				Result struct{ Text, Color string }
			}
			json.Unmarshal(m.Options, &options)
			if v == nil && strings.Contains(options.Match, "null") || v != nil && math.IsNaN(*v) && strings.Contains(options.Match, "nan") {
				return options.Result.Text, options.Result.Color
			}
		}
	}
	if v == nil {
		return "No data", ""
	}
	for _, s := range p.FieldConfig.Defaults.Thresholds.Steps {
		if s.Value == nil || *v >= *s.Value {
			color = s.Color
		}
	}
	return strconv.FormatFloat(*v, 'g', 4, 64), color
}

// prometheusConfig scrapes the exporter at the given addresses, every
// interval, as the rules' job.
func prometheusConfig(ruleFiles []string, interval time.Duration, targets ...string) string {
	quoted := make([]string, len(targets))
	for i, target := range targets {
		quoted[i] = strconv.Quote(target)
	}
	return fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
rule_files: [%s]
scrape_configs:
  - job_name: %q
    static_configs:
      - targets: [%s]
`, interval, interval, strings.Join(ruleFiles, ", "), rules.Defaults().Job, strings.Join(quoted, ", "))
}

// TestDashboardsAndRulesAgainstPrometheus starts the exporter on its demo
// tenant, with its SSPR outage, and a real Prometheus that scrapes it every
// second as the rules' job and loads the rules. It evaluates every dashboard
// query as Grafana would send it and checks every rule's health; then, with
// the exporter scraped twice, that no count doubles; then stops the
// exporter and removes its target, timing how soon the health headline says
// down and absent.
func TestDashboardsAndRulesAgainstPrometheus(t *testing.T) {
	prometheus := testenv.Tool(t, "prometheus")
	const scrape = time.Second
	dashboards, queries := readDashboards(t, nil)
	if len(queries) < 12 || len(dashboards) < 2 {
		t.Fatalf("%d queries in %d dashboards: want at least 12 in at least 2", len(queries), len(dashboards))
	}
	ruleGlob, _ := filepath.Glob("prometheus/*.rules.yml")
	if len(ruleGlob) == 0 {
		t.Fatal("no rule files in deploy/prometheus")
	}
	var ruleFiles []string
	for _, r := range ruleGlob {
		abs, _ := filepath.Abs(r)
		ruleFiles = append(ruleFiles, strconv.Quote(abs))
	}

	dir := t.TempDir()
	binary := filepath.Join(dir, "entra-authmethods-exporter")
	if out, err := exec.Command("go", "build", "-o", binary, "../cmd/entra-authmethods-exporter").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exporterAddr, promAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	exporter := startProcess(t, binary, "--demo", "--demo.sspr-outage", "--web.listen-address="+exporterAddr)

	cfgFile := filepath.Join(dir, "prometheus.yml")
	configure := func(targets ...string) {
		t.Helper()
		if err := os.WriteFile(cfgFile, []byte(prometheusConfig(ruleFiles, scrape, targets...)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := "http://" + promAddr
	reload := func() {
		t.Helper()
		resp, err := http.Post(base+"/-/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reload: %s", resp.Status)
		}
	}
	configure(exporterAddr)
	startProcess(t, prometheus, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr, "--web.enable-lifecycle")

	waitForDemoInPrometheus(t, base)
	time.Sleep(5 * scrape)

	checkQueries(t, base, dashboards, queries, emptyWhenHealthy)

	// Every rule has been evaluated and is healthy.
	testenv.Eventually(t, "every rule to be evaluated", 30*time.Second, func() bool {
		return len(unhealthyRules(t, base, true)) == 0
	})
	if bad := unhealthyRules(t, base, false); len(bad) > 0 {
		t.Errorf("unhealthy rules:\n%s", strings.Join(bad, "\n"))
	}

	checkScrapedTwice(t, base, exporterAddr, configure, reload)

	// The health headline: up now; down within two scrapes of the exporter
	// stopping; absent within two scrapes of its target going away. The
	// other status panels then show no data or red, never a stale green.
	var headline *dashboardQuery
	var status []dashboardQuery
	for i, q := range queries {
		if strings.HasPrefix(q.name, "Exporter health / Exporter / ") {
			headline = &queries[i]
		}
		if strings.HasPrefix(q.name, "Exporter health / ") && q.panel.Type == "stat" && !strings.Contains(q.panel.Title, "time range") {
			status = append(status, q)
		}
	}
	if headline == nil {
		t.Fatal("no query of the panel Exporter in the health dashboard")
	}
	shows := func(q dashboardQuery) []string {
		result, err := instantQuery(base, q.expr, time.Time{})
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		if len(result) == 0 {
			text, color := display(q.panel, nil)
			return []string{text + "/" + color}
		}
		var out []string
		for _, s := range result {
			v := s.value()
			text, color := display(q.panel, &v)
			out = append(out, text+"/"+color)
		}
		return out
	}
	if got := strings.Join(shows(*headline), " "); got != "up/green" {
		t.Fatalf("health headline with the exporter up shows %s, want up/green", got)
	}
	// turnsRed waits for the headline to show want, failing if it takes
	// longer than limit or shows anything but want or before meanwhile.
	turnsRed := func(event, before, want string, limit time.Duration) {
		t.Helper()
		start := time.Now()
		var got string
		testenv.Eventually(t, "the health headline to show "+want, 30*scrape, func() bool {
			got = strings.Join(shows(*headline), " ")
			if got != want && got != before {
				t.Errorf("%s: the health headline showed %s on the way to %s", event, got, want)
			}
			return got == want
		})
		took := time.Since(start)
		t.Logf("%s: the health headline showed %s after %v (scrape interval %v)", event, got, took.Round(time.Millisecond), scrape)
		if took > limit {
			t.Errorf("%s: the health headline took %v to show %s, more than %v", event, took, want, limit)
		}
	}
	exporter.stop()
	turnsRed("exporter stopped", "up/green", "down/red", 2*scrape)
	time.Sleep(2 * scrape)
	for _, q := range status {
		for _, s := range shows(q) {
			if strings.HasSuffix(s, "/green") || strings.HasSuffix(s, "/") {
				t.Errorf("%s shows %s with the exporter stopped: want no data in red, or red", q.name, s)
			}
		}
	}
	// The target leaves service discovery (the job stays, without targets).
	// Prometheus passes discovery's changes on at most every 5 s, and marks
	// a removed target's series stale just over two scrape intervals after
	// its last scrape; until then the headline says down.
	configure()
	reload()
	turnsRed("target removed", "down/red", "absent/red", 5*time.Second+3*scrape)
}

// TestDashboardsOnTheOrdinaryDemo evaluates every dashboard query on the
// demo without its outage, scraped by a real Prometheus with the rules:
// each returns what its title says, and only the spike panels (no excess
// anywhere) are empty beyond what a healthy exporter leaves empty; then
// again with the group variable on one of the demo's groups.
func TestDashboardsOnTheOrdinaryDemo(t *testing.T) {
	prometheus := testenv.Tool(t, "prometheus")
	dashboards, queries := readDashboards(t, nil)
	exporter := filepath.Join(t.TempDir(), "entra-authmethods-exporter")
	if out, err := exec.Command("go", "build", "-o", exporter, "../cmd/entra-authmethods-exporter").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ruleFile, err := filepath.Abs(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	base := startDemoAndPrometheus(t, prometheus, exporter, ruleFile, "--demo")
	time.Sleep(5 * time.Second)
	empty := maps.Clone(emptyWhenHealthy)
	maps.Copy(empty, emptyWithoutOutage)
	checkQueries(t, base, dashboards, queries, empty)
	checkGroupScope(t, base, queries, "")

	// The same with the group variable on one group: the panels that follow
	// it count its members, and say which group in their labels.
	_, inGroup := readDashboards(t, map[string]string{"group": groupOnTheDemo})
	maps.Copy(empty, emptyInGroup)
	checkQueries(t, base, dashboards, inGroup, empty)
	checkGroupScope(t, base, inGroup, groupOnTheDemo)
}

// checkGroupScope checks that every query following the group variable
// returns the users the variable chooses: with All (group ""), series without
// a group label, the tenant's; with a group, only series of that group.
func checkGroupScope(t *testing.T, base string, queries []dashboardQuery, group string) {
	t.Helper()
	followed := 0
	for _, q := range queries {
		if !strings.Contains(q.raw, `group=~"$group"`) {
			continue
		}
		followed++
		result, err := instantQuery(base, q.expr, time.Time{})
		if err != nil {
			t.Errorf("%s: %v", q.name, err)
			continue
		}
		for _, s := range result {
			if got := s.Metric["group"]; got != group {
				t.Errorf("%s with the group variable on %q: a series of group %q: %v\n  %s", q.name, group, got, s.Metric, q.expr)
			}
		}
	}
	if followed < 20 {
		t.Errorf("only %d queries follow the group variable", followed)
	}
}

// checkQueries evaluates every dashboard query, and every alert annotation's,
// in the Prometheus at base: each must return data, no NaN, and not only
// zeros, unless empty names it ("<dashboard> / <panel>[ / <refId>]" to the
// reason); and each entry of empty must be used.
func checkQueries(t *testing.T, base string, dashboards map[string]dashFile, queries []dashboardQuery, empty map[string]string) {
	t.Helper()
	withData, allowedEmpty := 0, 0
	used := map[string]bool{}
	at := time.Now()
	for _, q := range queries {
		result, err := instantQuery(base, q.expr, at)
		if err != nil {
			t.Errorf("%s: %v\n  %s", q.name, err, q.expr)
			continue
		}
		zeros := 0
		for _, s := range result {
			switch v := s.value(); {
			case math.IsNaN(v) || math.IsInf(v, 0):
				t.Errorf("%s: %v for %v\n  %s", q.name, v, s.Metric, q.expr)
			case v == 0:
				zeros++
			}
		}
		if len(result) > zeros {
			withData++
			continue
		}
		switch reason := emptyReason(q.name, empty, used); {
		case reason != "":
			allowedEmpty++
			t.Logf("empty by design (%s): %s", reason, q.name)
		case len(result) == 0:
			t.Errorf("%s: no data\n  %s", q.name, q.expr)
		default:
			t.Errorf("%s: only zeros where the demo has data\n  %s", q.name, q.expr)
		}
	}
	// The alert annotations: valid, whether or not an alert fires yet.
	for _, d := range dashboards {
		sub := substituter(t, d, nil)
		for _, a := range d.Annotations.List {
			if a.Expr == "" {
				continue
			}
			if _, err := instantQuery(base, sub.Replace(a.Expr), at); err != nil {
				t.Errorf("%s / annotation %s: %v", shortTitle(d.Title), a.Name, err)
			}
		}
	}
	for key := range empty {
		if !used[key] {
			t.Errorf("empty by design: %q matches no query that came back empty or zero: remove it", key)
		}
	}
	t.Logf("%d queries in %d dashboards: %d returned data, %d empty by design", len(queries), len(dashboards), withData, allowedEmpty)

}

// checkScrapedTwice adds a second target for the same exporter (a second
// address of it, as two service discovery entries would) and checks that
// every query that is not about targets (up) or counters' increases returns
// the same with both targets as with the first alone.
func checkScrapedTwice(t *testing.T, base, exporterAddr string, configure func(...string), reload func()) {
	t.Helper()
	second := strings.Replace(exporterAddr, "127.0.0.1", "localhost", 1)
	configure(exporterAddr, second)
	reload()
	testenv.Eventually(t, "the second target to have been scraped a few times", 30*time.Second, func() bool {
		r, err := instantQuery(base, fmt.Sprintf(`count_over_time(up{instance=%q} [1m]) >= 3`, second), time.Time{})
		return err == nil && len(r) == 1
	})
	_, both := readDashboards(t, nil)
	_, first := readDashboards(t, map[string]string{"instance": promRegex(exporterAddr)})
	compared := 0
	for i, q := range both {
		if strings.Contains(q.raw, "increase(") || strings.Contains(q.raw, "up{") {
			continue // increases differ by the targets' scrape times; up is per target
		}
		compared++
		var a, b []sample
		// Values change at the demo's polls: one retry for a poll between the targets' scrapes.
		for try := 0; try < 2; try++ {
			at := time.Now()
			var errA, errB error
			a, errA = instantQuery(base, q.expr, at)
			b, errB = instantQuery(base, first[i].expr, at)
			if errA != nil || errB != nil {
				t.Fatalf("%s: %v %v", q.name, errA, errB)
			}
			if sameSamples(a, b) {
				break
			}
			time.Sleep(2 * time.Second)
		}
		if !sameSamples(a, b) {
			t.Errorf("%s: scraped twice %v, once %v\n  %s", q.name, a, b, q.expr)
		}
	}
	t.Logf("%d queries return the same with the exporter scraped twice as once", compared)
}

func sameSamples(a, b []sample) bool {
	key := func(s sample) string {
		labels := make([]string, 0, len(s.Metric))
		for k, v := range s.Metric {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		return strings.Join(labels, ",")
	}
	values := map[string]float64{}
	for _, s := range a {
		values[key(s)] = s.value()
	}
	if len(a) != len(b) {
		return false
	}
	for _, s := range b {
		v, ok := values[key(s)]
		// time() - ... and the like: the same to the millisecond.
		if !ok || math.Abs(v-s.value()) > 1e-9*math.Max(1, math.Abs(v)) {
			return false
		}
	}
	return true
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

// values is a variable's current value: a list (multi-select) or one string
// (single-select), as Grafana saves them.
type values []string

func (v *values) UnmarshalJSON(raw []byte) error {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		*v = values{one}
		return nil
	}
	return json.Unmarshal(raw, (*[]string)(v))
}
