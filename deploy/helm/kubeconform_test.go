package helm

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The tools and schemas of TestChartKubeconform: kubeconform from the Go
// module proxy (go install), and the schemas kubeschema/ makes from the
// Kubernetes and Prometheus Operator modules of these versions. The chart's
// README names the same.
const (
	kubeconformPackage = "github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0"
	operatorVersion    = "v0.85.0"
	crdSchemaLocation  = "/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
)

// goTool returns the go command: go test runs with the toolchain's first
// in PATH.
func goTool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("no go command in PATH")
	}
	return path
}

// runGo runs the go command in dir with env added, skipping the test on a
// developer's machine when it fails (no access to the module proxy), and
// failing it in CI.
func runGo(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(goTool(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("go %s: %v (no module proxy?)\n%s", strings.Join(args, " "), err, out)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// kubeconformSetup installs kubeconform and writes the schemas, once per
// test, into a temporary directory, and returns kubeconform's command line
// without the files.
func kubeconformSetup(t *testing.T) []string {
	t.Helper()
	tmp := t.TempDir()
	bin, schemas := filepath.Join(tmp, "bin"), filepath.Join(tmp, "schemas")
	runGo(t, ".", []string{"GOBIN=" + bin, "GOFLAGS=", "GOWORK=off"}, "install", kubeconformPackage)
	runGo(t, ".", nil, "run", "./kubeschema", "-out", schemas,
		"-kubernetes-version", kubeVersion, "-operator-version", operatorVersion)
	return []string{filepath.Join(bin, "kubeconform"), "-strict", "-output", "json", "-summary",
		"-kubernetes-version", kubeVersion,
		"-schema-location", filepath.Join(schemas, "kubernetes"),
		"-schema-location", schemas + crdSchemaLocation,
	}
}

type kubeconformSummary struct {
	Resources []struct {
		Filename string `json:"filename"`
		Kind     string `json:"kind"`
		Name     string `json:"name"`
		Status   string `json:"status"`
		Msg      string `json:"msg"`
	} `json:"resources"`
	Summary struct {
		Valid, Invalid, Errors, Skipped int
	} `json:"summary"`
}

// kubeconform validates manifests, and returns its summary.
func kubeconform(t *testing.T, command []string, manifests string) (kubeconformSummary, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(file, []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(command[0], append(command[1:], file)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var s kubeconformSummary
	if jerr := json.Unmarshal(out, &s); jerr != nil {
		t.Fatalf("kubeconform: %v, output %s%s", jerr, out, stderr.Bytes())
	}
	return s, err
}

// TestChartKubeconform renders the chart as a platform team would, with and
// without the Prometheus Operator's API, with every option, sharded, with a
// NetworkPolicy and with a TLS ServiceMonitor, and validates every rendering
// with kubeconform -strict against Kubernetes' schemas and the Operator's
// CRDs: every object valid, none skipped. It also checks that the schemas
// are strict (an unknown field fails) and that a misspelt value fails
// before, in helm.
func TestChartKubeconform(t *testing.T) {
	t.Parallel()
	runHelm(t, "version") // skips without helm, as every chart test
	command := kubeconformSetup(t)

	op := []string{"--api-versions", operatorAPI}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"defaults without the Operator", nil},
		{"defaults with the Operator", op},
		{"forced without the Operator", []string{"--set", "serviceMonitor.force=true,prometheusRule.force=true"}},
		{"all-values", append(op, "--values", allValuesPath)},
		{"sharding", append(op, "--values", shardingValuesPath)},
		{"all-values, sharded", append(op, "--values", allValuesPath, "--values", shardingValuesPath)},
		{"networkPolicy", append(op, "--set", "networkPolicy.enabled=true")},
		{"networkPolicy, sharded, without the Operator", []string{"--set", "networkPolicy.enabled=true,sharding.enabled=true"}},
		{"TLS ServiceMonitor", append(op, "--values", tlsValuesPath)},
		{"everything", append(op, "--values", allValuesPath, "--values", tlsValuesPath, "--values", shardingValuesPath)},
		{"existingConfigSecret", append(op, "--set", "existingConfigSecret=entra-config")},
	} {
		args := append([]string{"template", "x", chartDir, "--namespace", namespace, "--kube-version", kubeVersion}, tc.args...)
		out, stderr, err := runHelm(t, args...)
		if err != nil {
			t.Errorf("%s: helm %s: %v\n%s", tc.name, strings.Join(args, " "), err, stderr)
			continue
		}
		objs := decodeAll(t, out)
		s, err := kubeconform(t, command, out)
		if err != nil || s.Summary.Valid != len(objs) || s.Summary.Invalid+s.Summary.Errors+s.Summary.Skipped != 0 {
			t.Errorf("%s: kubeconform: %v, %+v of %d objects", tc.name, err, s.Summary, len(objs))
			for _, r := range s.Resources {
				t.Errorf("%s: %s %s: %s %s", tc.name, r.Kind, r.Name, r.Status, r.Msg)
			}
		} else {
			t.Logf("%s: kubeconform -strict: %d objects valid (%v)", tc.name, s.Summary.Valid, objs.kinds())
		}
	}

	// The schemas are strict: an unknown field of a Kubernetes kind or of
	// an Operator's kind fails.
	out, _, err := runHelm(t, "template", "x", chartDir, "--namespace", namespace, "--kube-version", kubeVersion, "--api-versions", operatorAPI)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ old, new string }{
		{"\n  replicas: 1\n", "\n  replicas: 1\n  replicaz: 1\n"},
		{"\n      path: /metrics\n", "\n      path: /metrics\n      schemee: https\n"},
		{"\n  groups:\n", "\n  groupz: []\n  groups:\n"},
	} {
		if !strings.Contains(out, tc.old) {
			t.Fatalf("the default rendering has no %q", tc.old)
		}
		s, err := kubeconform(t, command, strings.Replace(out, tc.old, tc.new, 1))
		if err == nil || s.Summary.Invalid != 1 {
			t.Errorf("kubeconform accepts %q: %v, %+v", tc.new, err, s.Summary)
		}
	}

	// A misspelt value never gets that far.
	for _, set := range []string{"serviceMonitor.intervall=30s", "sharding.enable=true"} {
		if _, stderr, err := runHelm(t, "template", "x", chartDir, "--kube-version", kubeVersion, "--set", set); err == nil || !strings.Contains(stderr, "additional properties") {
			t.Errorf("--set %s: want helm's schema error, got %v\n%s", set, err, stderr)
		}
	}
}
