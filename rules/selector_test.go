package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

func TestParseSelector(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`job="a"`, `job="a"`},
		{`{job="a",cluster="eu1"}`, `job="a", cluster="eu1"`},
		{` job = "a" , cluster != 'eu1', `, `job="a", cluster!="eu1"`},
		{"cluster=~`eu-.*`", `cluster=~"eu-.*"`},
		{`cluster!~"a\\d+|b"`, `cluster!~"a\\d+|b"`},
		{`env="it's \"quoted\""`, `env="it's \"quoted\""`},
		{`env='it\'s'`, `env="it's"`},
		{`env="\x41\u00e9"`, `env="Aé"`},
		{`env="tab\there"`, `env="tab\there"`},
		// What YAML, the alerts' templates and Grafana would read: escaped.
		{`region="eu: #1 {x} $y [z]"`, `region="eu\x3a \x231 \x7bx\x7d \x24y \x5bz\x5d"`},
		{`_a_1="x"`, `_a_1="x"`},
	} {
		ms, err := ParseSelector(c.in)
		if err != nil {
			t.Errorf("ParseSelector(%s): %v", c.in, err)
			continue
		}
		if got := FormatSelector(ms); got != c.want {
			t.Errorf("ParseSelector(%s) = %s, want %s", c.in, got, c.want)
		}
		// What it writes, it reads back as the same matchers.
		again, err := ParseSelector(FormatSelector(ms))
		if err != nil || FormatSelector(again) != c.want {
			t.Errorf("ParseSelector(%s) again: %v, %v", FormatSelector(ms), again, err)
		}
	}
	for _, c := range []struct{ in, why string }{
		{``, "no matcher"},
		{`{}`, "no matcher"},
		{`{job="a"`, "without its }"},
		{`job=a`, "a quoted string expected"},
		{`job="a`, "unterminated"},
		{`job=="a"`, "a quoted string expected"},
		{`job:"a"`, "no label name"},
		{`job "a"`, "one of =, !=, =~, !~"},
		{`job="a" cluster="b"`, "a comma expected"},
		{`job="a",,`, "a label name expected"},
		{`1job="a"`, "no label name"},
		{`"job"="a"`, "a label name expected"},
		{`__name__="up"`, "no __name__"},
		{`job=~"(a"`, "missing closing )"},
		{`job="\q"`, "bad escape"},
		{`job="\xff"`, "not UTF-8"},
		{"job=\"a\nb\"", "a newline"},
	} {
		_, err := ParseSelector(c.in)
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("ParseSelector(%q): error %v, want one saying %q", c.in, err, c.why)
		}
	}
}

// exporterSelectorRE finds the selectors of the exporter's series in an
// expression: its metrics, up and process_start_time_seconds, which the
// rules read of its targets.
var exporterSelectorRE = regexp.MustCompile(`\b(entra_authmethods_[a-z_]+|up|process_start_time_seconds)\{([^}]*)\}`)

// ruleExprs returns every rule's expression in a rule file.
func ruleExprs(t *testing.T, file []byte) map[string]string {
	t.Helper()
	var f struct {
		Groups []struct {
			Rules []struct {
				Record, Alert, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(file, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for gi, g := range f.Groups {
		for ri, r := range g.Rules {
			out[fmt.Sprintf("group %d rule %d %s%s", gi, ri, r.Record, r.Alert)] = r.Expr
		}
	}
	return out
}

// TestSelectorReachesEveryRule generates the rules with a selector that
// holds every character FormatSelector escapes: promtool accepts them, and
// every selector of the exporter's series carries it (and no other job).
func TestSelectorReachesEveryRule(t *testing.T) {
	p := Defaults()
	p.Selector = `job="entra-authmethods-exporter", cluster=~"eu-[0-9]+|us: #1 {2} $3", env!=""`
	ms, err := p.Matchers()
	if err != nil {
		t.Fatal(err)
	}
	sel := FormatSelector(ms)
	file, err := RuleFile(p)
	if err != nil {
		t.Fatal(err)
	}
	exprs := ruleExprs(t, file)
	selectors := 0
	for name, expr := range exprs {
		for _, m := range exporterSelectorRE.FindAllStringSubmatch(expr, -1) {
			selectors++
			if !strings.Contains(m[2], sel) {
				t.Errorf("%s: %s lacks the selector %s", name, m[0], sel)
			}
		}
		if strings.Contains(expr, `job="`+p.Job+`"}`) {
			t.Errorf("%s: job=%q alone is left: %s", name, p.Job, expr)
		}
	}
	if selectors < 50 {
		t.Errorf("only %d selectors of the exporter's series found; the pattern no longer matches the rules", selectors)
	}
	// The comments and annotations name the selector, not the job alone.
	if !bytes.Contains(file, []byte("selector {"+sel+"}")) || bytes.Contains(file, []byte("job "+p.Job)) {
		t.Errorf("the rule file does not name the selector in its comments and annotations")
	}

	// The PrometheusRule carries the same expressions.
	pr, err := PrometheusRule(p)
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Spec yaml.Node `yaml:"spec"`
	}
	if err := yaml.Unmarshal(pr, &obj); err != nil {
		t.Fatalf("PrometheusRule: %v", err)
	}
	specYAML, err := yaml.Marshal(&obj.Spec)
	if err != nil {
		t.Fatal(err)
	}
	prExprs := ruleExprs(t, specYAML)
	for name, expr := range exprs {
		if prExprs[name] != expr {
			t.Errorf("%s: the PrometheusRule's expression differs from the rule file's", name)
		}
	}

	promtool := testenv.Tool(t, "promtool")
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// TestSelectorSelects runs the exporter-down alerts of rules generated for
// job and cluster in promtool: a target of the cluster that is down fires
// them, one of another cluster with the same job does not.
func TestSelectorSelects(t *testing.T) {
	promtool := testenv.Tool(t, "promtool")
	p := Defaults()
	p.Selector = `job="entra-authmethods-exporter",cluster="eu1"`
	file, err := RuleFile(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	// promtool compares the annotations too: those of the rule file.
	annotations := map[string]string{}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert       string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(file, &f); err != nil {
		t.Fatal(err)
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "EntraAuthMethodsExporterDown" || r.Alert == "EntraAuthMethodsExporterAbsent" {
				for k, v := range r.Annotations {
					v = strings.ReplaceAll(v, "{{ $labels.instance }}", "a:9871")
					v = strings.ReplaceAll(v, "{{ $labels.job }}", "entra-authmethods-exporter")
					raw, _ := json.Marshal(v) // a JSON string is a YAML string
					annotations[r.Alert] += fmt.Sprintf("%s: %s, ", k, raw)
				}
			}
		}
	}
	test := `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="entra-authmethods-exporter", cluster="eu1", instance="a:9871"}'
        values: '0x10'
      - series: 'up{job="entra-authmethods-exporter", cluster="us1", instance="b:9871"}'
        values: '0x10'
    alert_rule_test:
      - eval_time: 10m
        alertname: EntraAuthMethodsExporterDown
        exp_alerts:
          - exp_labels: {severity: ` + p.WarnSeverity + `, job: entra-authmethods-exporter, cluster: eu1, instance: "a:9871"}
            exp_annotations: {` + annotations["EntraAuthMethodsExporterDown"] + `}
  - interval: 1m
    input_series:
      - series: 'up{job="entra-authmethods-exporter", cluster="us1", instance="b:9871"}'
        values: '1x20'
    alert_rule_test:
      - eval_time: 20m
        alertname: EntraAuthMethodsExporterAbsent
        exp_alerts:
          - exp_labels: {severity: ` + p.WarnSeverity + `, job: entra-authmethods-exporter, cluster: eu1}
            exp_annotations: {` + annotations["EntraAuthMethodsExporterAbsent"] + `}
`
	if err := os.WriteFile(filepath.Join(dir, "test.yml"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "test", "rules", "test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

func TestBadSelectorIsRefused(t *testing.T) {
	p := Defaults()
	p.Selector = `cluster=eu1`
	if _, err := RuleFile(p); err == nil || !strings.Contains(err.Error(), "quoted string") {
		t.Errorf("RuleFile with selector %s: error %v", p.Selector, err)
	}
	// With a selector, the job is not needed.
	p.Selector, p.Job = `cluster="eu1"`, ""
	if _, err := RuleFile(p); err != nil {
		t.Errorf("RuleFile with a selector and no job: %v", err)
	}
}
