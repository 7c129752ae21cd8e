package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
