package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

// With no parameter, the command writes exactly the shipped files.
func TestDefaultsAreTheShippedFiles(t *testing.T) {
	dir := t.TempDir()
	if code := run([]string{"--out", dir}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	shipped := map[string]string{
		"entra-authmethods.rules.yml": "../../deploy/prometheus/entra-authmethods.rules.yml",
		"prometheusrule.yaml":         "../../deploy/kubernetes/base/prometheusrule.yaml",
	}
	boards, _ := filepath.Glob("../../deploy/grafana-dashboards/*.json")
	for _, b := range boards {
		shipped[filepath.Join("dashboards", filepath.Base(b))] = b
	}
	for written, path := range shipped {
		got, err := os.ReadFile(filepath.Join(dir, written))
		if err != nil {
			t.Errorf("%s: %v", written, err)
			continue
		}
		want, _ := os.ReadFile(path)
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the shipped %s", written, path)
		}
	}
}

func TestParametersReachTheFiles(t *testing.T) {
	dir := t.TempDir()
	if code := run([]string{"--out", dir, "--job", "acme-entra", "--reset.min-failing-users", "25",
		"--severity.page", "page", "--dashboards.uid-prefix", "acme", "--dashboards.tag", "acme",
		"--coverage-drop.min-lost-users", "25", "--coverage-drop.min-lost-fraction", "0.1",
		"--admins-without-phishing-resistant.severity", "info"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	ruleFile, _ := os.ReadFile(filepath.Join(dir, "entra-authmethods.rules.yml"))
	for _, want := range []string{`up{job="acme-entra"}`, ">= 25)", "severity: page", "severity: info",
		`:lost1d{coverage="phishing_resistant"} >= 25`, ">= 0.1 * max_over_time("} {
		if !strings.Contains(string(ruleFile), want) {
			t.Errorf("the rule file lacks %q", want)
		}
	}
	boards, _ := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	if len(boards) == 0 {
		t.Fatal("no dashboards written")
	}
	for _, b := range boards {
		raw, _ := os.ReadFile(b)
		if !strings.Contains(string(raw), `"uid": "acme-`) || !strings.Contains(string(raw), "acme-entra") {
			t.Errorf("%s: the uid prefix or the job is not in it", b)
		}
	}
}

func TestBadParametersAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--job", ""},
		{"--reset.min-points", "1.5"},
		{"--registration.min-failing-users", "0"},
		{"--coverage-drop.min-lost-fraction", "1"},
		{"--coverage-drop.min-lost-users", "0"},
		{"--admins-without-phishing-resistant.severity", ""},
		{"--dashboards.uid-prefix", "a/b"},
	} {
		if code := run(append([]string{"--out", t.TempDir()}, args...)); code == 0 {
			t.Errorf("%v: accepted", args)
		}
	}
	if code := run(nil); code != 2 {
		t.Errorf("no --out: exit %d, want 2", code)
	}
}

// exporterSelectorRE finds the selectors of the exporter's series: its
// metrics, up and process_start_time_seconds.
var exporterSelectorRE = regexp.MustCompile(`\b(entra_authmethods_[a-z_]+|up|process_start_time_seconds)(\{[^}]*\})?`)

// With --selector, every rule and every dashboard query reads only the
// selector's series; promtool accepts the rules.
func TestSelector(t *testing.T) {
	dir := t.TempDir()
	if code := run([]string{"--out", dir, "--selector", `job="entra-authmethods-exporter",cluster="eu1"`}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	const sel = `job="entra-authmethods-exporter", cluster="eu1"`
	check := func(where, expr string) int {
		found := exporterSelectorRE.FindAllStringSubmatch(expr, -1)
		for _, m := range found {
			if !strings.Contains(m[2], sel) {
				t.Errorf("%s: %s lacks %s", where, m[0], sel)
			}
		}
		return len(found)
	}

	ruleFile := filepath.Join(dir, "entra-authmethods.rules.yml")
	raw, err := os.ReadFile(ruleFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Rules []struct{ Record, Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatal(err)
	}
	selectors := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			// Recording rules' outputs are read by their names alone.
			selectors += check(r.Record+r.Alert, exporterSelectorRE.ReplaceAllStringFunc(r.Expr, func(s string) string {
				if !strings.Contains(s, "{") {
					return "" // a metric name in a label or a function: none of the exporter's series read
				}
				return s
			}))
		}
	}
	if selectors < 50 {
		t.Errorf("only %d selectors of the exporter's series in the rules", selectors)
	}
	shipped, _ := os.ReadFile("../../deploy/prometheus/entra-authmethods.rules.yml")
	if bytes.Equal(raw, shipped) {
		t.Error("the rule file is the shipped one")
	}
	var pr struct {
		Kind string
		Spec struct {
			Groups []any
		}
	}
	prRaw, _ := os.ReadFile(filepath.Join(dir, "prometheusrule.yaml"))
	if err := yaml.Unmarshal(prRaw, &pr); err != nil || pr.Kind != "PrometheusRule" || len(pr.Spec.Groups) != len(rf.Groups) {
		t.Errorf("prometheusrule.yaml: %v, kind %q, %d groups", err, pr.Kind, len(pr.Spec.Groups))
	}

	boards, _ := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	if len(boards) == 0 {
		t.Fatal("no dashboards written")
	}
	for _, b := range boards {
		raw, _ := os.ReadFile(b)
		var d struct {
			Panels []struct {
				Title   string
				Targets []struct{ Expr string }
				Panels  []struct {
					Title   string
					Targets []struct{ Expr string }
				}
			}
			Templating struct {
				List []struct {
					Name, Type, Definition string
					Query                  any
				}
			}
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		n := 0
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				n += check(b+" / "+p.Title, tg.Expr)
			}
			for _, c := range p.Panels {
				for _, tg := range c.Targets {
					n += check(b+" / "+c.Title, tg.Expr)
				}
			}
		}
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				q, _ := v.Query.(string)
				if check(b+" / variable "+v.Name, q) == 0 || check(b+" / variable "+v.Name, v.Definition) == 0 {
					t.Errorf("%s: variable %s reads no series of the exporter: %v", b, v.Name, v.Query)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no query", b)
		}
	}

	promtool := testenv.Tool(t, "promtool")
	if out, err := exec.Command(promtool, "check", "rules", ruleFile).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

func TestBadSelectorsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--selector", `cluster=eu1`},
		{"--selector", `{job="a"`},
		{"--selector", `__name__="up"`},
		{"--selector", `job=~"("`},
		{"--selector", `job="a" cluster="b"`},
		{"--job", "a", "--selector", `cluster="eu1"`},
	} {
		if code := run(append([]string{"--out", t.TempDir()}, args...)); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
