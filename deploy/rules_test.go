package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

// Paths are relative to this package's directory, where go test runs.
const (
	rulesPath          = "prometheus/entra-authmethods.rules.yml"
	rulesTestPath      = "prometheus/entra-authmethods.rules.test.yml"
	kubeDir            = "kubernetes"
	prometheusRulePath = "kubernetes/prometheusrule.yaml"
	runbookPath        = "../docs/runbook.md"
	runbookURLPrefix   = "https://github.com/entra-authmethods-exporter/entra-authmethods-exporter/blob/main/docs/runbook.md#"
)

// promtoolPath finds promtool: missing, it fails in CI and skips elsewhere.
func promtoolPath(t *testing.T) string { return testenv.Tool(t, "promtool") }

func TestRulesPromtoolCheck(t *testing.T) {
	promtool := promtoolPath(t)
	out, err := exec.Command(promtool, "check", "rules", rulesPath).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", rulesPath, err, out)
	}
	t.Logf("%s", out)
}

func TestRulesPromtoolTest(t *testing.T) {
	promtool := promtoolPath(t)
	out, err := exec.Command(promtool, "test", "rules", rulesTestPath).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules %s: %v\n%s", rulesTestPath, err, out)
	}
	t.Logf("%s", out)
}

// ruleFileYAML is the part of a Prometheus rule file the tests look at.
type ruleFileYAML struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// decodeYAMLFile decodes the single YAML document in path into v.
func decodeYAMLFile(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("%s: want exactly one YAML document", path)
	}
}

func loadRuleFile(t *testing.T) ruleFileYAML {
	t.Helper()
	var rf ruleFileYAML
	decodeYAMLFile(t, rulesPath, &rf)
	if len(rf.Groups) == 0 {
		t.Fatalf("%s: no groups", rulesPath)
	}
	return rf
}

// TestRulesPrometheusRuleMatchesRuleFile keeps the Prometheus Operator's copy
// of the rules identical to the tested rule file.
func TestRulesPrometheusRuleMatchesRuleFile(t *testing.T) {
	var rf struct {
		Groups any `yaml:"groups"`
	}
	decodeYAMLFile(t, rulesPath, &rf)
	var pr struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			Groups any `yaml:"groups"`
		} `yaml:"spec"`
	}
	decodeYAMLFile(t, prometheusRulePath, &pr)
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" || pr.Metadata.Name == "" {
		t.Errorf("%s: got %s %s %q, want a named monitoring.coreos.com/v1 PrometheusRule",
			prometheusRulePath, pr.APIVersion, pr.Kind, pr.Metadata.Name)
	}
	if rf.Groups == nil {
		t.Fatalf("%s: no groups", rulesPath)
	}
	if !reflect.DeepEqual(pr.Spec.Groups, rf.Groups) {
		want, _ := yaml.Marshal(rf.Groups)
		got, _ := yaml.Marshal(pr.Spec.Groups)
		t.Errorf("%s: spec.groups differ from the groups of %s; copy them over (the command is in its header).\n%s",
			prometheusRulePath, rulesPath, firstDifference(string(want), string(got)))
	}
}

// firstDifference shows the first line where two texts differ.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("first difference at line %d of the groups:\n  rule file:      %q\n  PrometheusRule: %q", i+1, wl, gl)
		}
	}
	return "no line differs (types differ)"
}

var (
	// recordNameRE is the level:metric:operations naming convention.
	recordNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$`)
	alertNameRE  = regexp.MustCompile(`^EntraAuthMethods[A-Z][A-Za-z0-9]*$`)
	severities   = []string{"critical", "warning", "info"}
)

// TestRulesAlertsAndRunbook checks every rule's name and every alert's
// labels and annotations, and that each runbook_url leads to a heading of
// docs/runbook.md.
func TestRulesAlertsAndRunbook(t *testing.T) {
	rf := loadRuleFile(t)
	anchors := runbookAnchors(t)
	seen := map[string]bool{}
	alerts := 0
	for _, g := range rf.Groups {
		if len(g.Rules) == 0 {
			t.Errorf("group %q: no rules", g.Name)
		}
		for _, r := range g.Rules {
			name := r.Record + r.Alert
			if (r.Record == "") == (r.Alert == "") {
				t.Errorf("group %q: a rule needs exactly one of record and alert: %q", g.Name, name)
				continue
			}
			if seen[name] {
				t.Errorf("%s: defined twice", name)
			}
			seen[name] = true
			if strings.TrimSpace(r.Expr) == "" {
				t.Errorf("%s: no expr", name)
			}
			if r.Record != "" {
				if !recordNameRE.MatchString(r.Record) {
					t.Errorf("recording rule %s: not named level:metric:operations", r.Record)
				}
				continue
			}
			alerts++
			if !alertNameRE.MatchString(r.Alert) {
				t.Errorf("alert %s: want an EntraAuthMethods... CamelCase name", r.Alert)
			}
			if !slices.Contains(severities, r.Labels["severity"]) {
				t.Errorf("alert %s: labels.severity is %q, want one of %v", r.Alert, r.Labels["severity"], severities)
			}
			for _, key := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[key]) == "" {
					t.Errorf("alert %s: annotation %s is missing", r.Alert, key)
				}
			}
			url := r.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(url, runbookURLPrefix)
			switch {
			case !ok:
				t.Errorf("alert %s: runbook_url %q does not start with %s", r.Alert, url, runbookURLPrefix)
			case !anchors[anchor]:
				t.Errorf("alert %s: runbook_url anchor #%s is no heading of %s (headings: %v)", r.Alert, anchor, runbookPath, sortedKeys(anchors))
			case anchor != githubAnchor(r.Alert):
				t.Errorf("alert %s: runbook_url anchor #%s, want its own section #%s", r.Alert, anchor, githubAnchor(r.Alert))
			}
		}
	}
	if alerts == 0 {
		t.Errorf("%s: no alerts", rulesPath)
	}
}

// TestRulesEveryRuleUnitTested requires, for every alert, a promtool test
// case where it fires and one where it does not, and for every recording
// rule a promql_expr_test that queries it.
func TestRulesEveryRuleUnitTested(t *testing.T) {
	rf := loadRuleFile(t)
	var tf struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			Name           string `yaml:"name"`
			AlertRuleTests []struct {
				AlertName string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
			PromQLExprTests []struct {
				Expr string `yaml:"expr"`
			} `yaml:"promql_expr_test"`
		} `yaml:"tests"`
	}
	decodeYAMLFile(t, rulesTestPath, &tf)
	loaded := false
	for _, f := range tf.RuleFiles {
		if filepath.Clean(filepath.Join(filepath.Dir(rulesTestPath), f)) == filepath.Clean(rulesPath) {
			loaded = true
		}
	}
	if !loaded {
		t.Errorf("%s: rule_files %v does not load %s", rulesTestPath, tf.RuleFiles, rulesPath)
	}
	firing, quiet := map[string]bool{}, map[string]bool{}
	var exprs []string
	for _, tc := range tf.Tests {
		for _, at := range tc.AlertRuleTests {
			if len(at.ExpAlerts) > 0 {
				firing[at.AlertName] = true
			} else {
				quiet[at.AlertName] = true
			}
		}
		for _, et := range tc.PromQLExprTests {
			exprs = append(exprs, et.Expr)
		}
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			switch {
			case r.Alert != "":
				if !firing[r.Alert] {
					t.Errorf("alert %s: no alert_rule_test where it fires", r.Alert)
				}
				if !quiet[r.Alert] {
					t.Errorf("alert %s: no alert_rule_test where it does not fire", r.Alert)
				}
			case r.Record != "":
				used := regexp.MustCompile(regexp.QuoteMeta(r.Record) + `($|[^a-zA-Z0-9_:])`)
				if !slices.ContainsFunc(exprs, used.MatchString) {
					t.Errorf("recording rule %s: no promql_expr_test queries it", r.Record)
				}
			}
		}
	}
}

// runbookAnchors returns the GitHub anchors of docs/runbook.md's headings.
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(runbookPath)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	count := map[string]int{}
	fence := ""
	headingRE := regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		m := headingRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		a := githubAnchor(m[1])
		if n := count[a]; n > 0 {
			count[a]++
			a = fmt.Sprintf("%s-%d", a, n)
		} else {
			count[a] = 1
		}
		anchors[a] = true
	}
	return anchors
}

// githubAnchor computes the anchor GitHub gives a Markdown heading: lower
// case, punctuation dropped except '-' and '_', spaces turned into '-'.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestGithubAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"EntraAuthMethodsReportDown": "entraauthmethodsreportdown",
		"Wiring the alerts":          "wiring-the-alerts",
		"`auth`":                     "auth",
		"What to do: now (really)!":  "what-to-do-now-really",
		"report_up == 0":             "report_up--0",
	} {
		if got := githubAnchor(heading); got != want {
			t.Errorf("githubAnchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

// TestRunbookLinks checks the runbook's links to its own sections, and that
// it has the sections the alerts and the issue ask for.
func TestRunbookLinks(t *testing.T) {
	anchors := runbookAnchors(t)
	raw, err := os.ReadFile(runbookPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(raw), -1) {
		if !anchors[m[1]] {
			t.Errorf("%s: link to #%s, which is no heading", runbookPath, m[1])
		}
	}
	for _, a := range []string{"wiring-the-alerts", "failure-reasons", "auth", "unauthorized", "forbidden",
		"unlicensed", "throttled", "server", "timeout", "network", "decode", "paging", "other"} {
		if !anchors[a] {
			t.Errorf("%s: no section #%s", runbookPath, a)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestKustomizationListsEveryManifest keeps kustomization.yaml's resources
// and the manifests in deploy/kubernetes in step.
func TestKustomizationListsEveryManifest(t *testing.T) {
	var k struct {
		APIVersion string   `yaml:"apiVersion"`
		Kind       string   `yaml:"kind"`
		Resources  []string `yaml:"resources"`
	}
	decodeYAMLFile(t, filepath.Join(kubeDir, "kustomization.yaml"), &k)
	if k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: kind %q, want Kustomization", k.Kind)
	}
	listed := map[string]bool{}
	for _, r := range k.Resources {
		if listed[r] {
			t.Errorf("kustomization.yaml lists %s twice", r)
		}
		listed[r] = true
		if _, err := os.Stat(filepath.Join(kubeDir, r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		m, _ := filepath.Glob(filepath.Join(kubeDir, pattern))
		files = append(files, m...)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if name == "kustomization.yaml" || name == "kustomization.yml" {
			continue
		}
		if !listed[name] {
			t.Errorf("kustomization.yaml does not list %s", name)
		}
	}
	for _, kind := range []string{"Deployment", "Service", "ServiceAccount", "ConfigMap", "ServiceMonitor", "PrometheusRule"} {
		if len(kubeManifests(t, kind)) != 1 {
			t.Errorf("want exactly one %s among the resources", kind)
		}
	}

	// kubectl is optional: when it is there, kustomize must build the lot.
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		if out, err := exec.Command(kubectl, "kustomize", kubeDir).CombinedOutput(); err != nil {
			t.Errorf("kubectl kustomize %s: %v\n%s", kubeDir, err, out)
		}
	} else {
		t.Log("kubectl not found; kustomize build not tried")
	}
}

// kubeManifest is a manifest of kustomization.yaml's resources, decoded only
// as far as the tests need.
type kubeManifest struct {
	file string
	raw  []byte
}

// kubeManifests returns the resources of the given kind.
func kubeManifests(t *testing.T, kind string) []kubeManifest {
	t.Helper()
	var k struct {
		Resources []string `yaml:"resources"`
	}
	decodeYAMLFile(t, filepath.Join(kubeDir, "kustomization.yaml"), &k)
	var out []kubeManifest
	for _, r := range k.Resources {
		path := filepath.Join(kubeDir, r)
		raw, err := os.ReadFile(path)
		if err != nil {
			continue // reported by TestKustomizationListsEveryManifest
		}
		var head struct {
			Kind string `yaml:"kind"`
		}
		if err := yaml.Unmarshal(raw, &head); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if head.Kind == kind {
			out = append(out, kubeManifest{path, raw})
		}
	}
	return out
}

// decodeKube decodes the one manifest of a kind into v and returns its file.
func decodeKube(t *testing.T, kind string, v any) string {
	t.Helper()
	ms := kubeManifests(t, kind)
	if len(ms) != 1 {
		t.Fatalf("want exactly one %s in %s, got %d", kind, kubeDir, len(ms))
	}
	if err := yaml.Unmarshal(ms[0].raw, v); err != nil {
		t.Fatalf("%s: %v", ms[0].file, err)
	}
	return ms[0].file
}

type kubeSecurityContext struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	RunAsUser                *int  `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
	SeccompProfile *struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

type kubeProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type kubeMetadata struct {
	Name        string            `yaml:"name"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type kubeDeployment struct {
	Metadata kubeMetadata `yaml:"metadata"`
	Spec     struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata kubeMetadata `yaml:"metadata"`
			Spec     struct {
				ServiceAccountName string              `yaml:"serviceAccountName"`
				SecurityContext    kubeSecurityContext `yaml:"securityContext"`
				Containers         []struct {
					Name  string   `yaml:"name"`
					Image string   `yaml:"image"`
					Args  []string `yaml:"args"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					LivenessProbe   kubeProbe           `yaml:"livenessProbe"`
					ReadinessProbe  kubeProbe           `yaml:"readinessProbe"`
					SecurityContext kubeSecurityContext `yaml:"securityContext"`
					Resources       struct {
						Requests map[string]string `yaml:"requests"`
						Limits   map[string]string `yaml:"limits"`
					} `yaml:"resources"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

const (
	configDir  = "/etc/entra-authmethods-exporter"
	configFlag = "--config.file=" + configDir + "/config.yaml"
)

// TestDeployment checks the exporter's Deployment: hardened security
// context, probes, resources, workload identity, and its configuration.
func TestDeployment(t *testing.T) {
	var d kubeDeployment
	file := decodeKube(t, "Deployment", &d)
	fail := func(format string, args ...any) { t.Errorf(file+": "+format, args...) }

	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		fail("want replicas: 1 (two pollers would share Graph's throttling budget)")
	}
	pod := d.Spec.Template.Spec
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Metadata.Labels[k] != v {
			fail("selector %s=%s does not match the pod template's labels", k, v)
		}
	}
	if got := d.Spec.Template.Metadata.Labels["azure.workload.identity/use"]; got != "true" {
		fail(`pod template label azure.workload.identity/use is %q, want "true"`, got)
	}
	var sa struct {
		Metadata kubeMetadata `yaml:"metadata"`
	}
	decodeKube(t, "ServiceAccount", &sa)
	if pod.ServiceAccountName == "" || pod.ServiceAccountName != sa.Metadata.Name {
		fail("serviceAccountName %q, want the ServiceAccount %q", pod.ServiceAccountName, sa.Metadata.Name)
	}
	clientID := sa.Metadata.Annotations["azure.workload.identity/client-id"]
	if clientID == "" {
		t.Errorf("ServiceAccount %s: no azure.workload.identity/client-id annotation", sa.Metadata.Name)
	}

	if len(pod.Containers) != 1 {
		t.Fatalf("%s: want one container, got %d", file, len(pod.Containers))
	}
	c := pod.Containers[0]
	if !strings.HasPrefix(c.Image, "ghcr.io/entra-authmethods-exporter/entra-authmethods-exporter:") {
		fail("image %q", c.Image)
	}
	if !slices.Contains(c.Args, configFlag) {
		fail("args %v do not contain %s", c.Args, configFlag)
	}

	// Security: a container setting wins over the pod's.
	pick := func(container, pod *bool) *bool {
		if container != nil {
			return container
		}
		return pod
	}
	sc, psc := c.SecurityContext, pod.SecurityContext
	if v := pick(sc.RunAsNonRoot, psc.RunAsNonRoot); v == nil || !*v {
		fail("runAsNonRoot must be true")
	}
	runAsUser := sc.RunAsUser
	if runAsUser == nil {
		runAsUser = psc.RunAsUser
	}
	if runAsUser == nil || *runAsUser != 65532 {
		fail("runAsUser must be 65532 (distroless nonroot)")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		fail("readOnlyRootFilesystem must be true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		fail("allowPrivilegeEscalation must be false")
	}
	if !slices.Contains(sc.Capabilities.Drop, "ALL") {
		fail("capabilities must drop ALL, got %v", sc.Capabilities.Drop)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != "RuntimeDefault" {
		fail("seccompProfile must be RuntimeDefault")
	}

	for _, kind := range []string{"requests", "limits"} {
		m := c.Resources.Requests
		if kind == "limits" {
			m = c.Resources.Limits
		}
		for _, res := range []string{"cpu", "memory"} {
			if m[res] == "" {
				fail("no resources.%s.%s", kind, res)
			}
		}
	}

	httpPort := false
	for _, p := range c.Ports {
		if p.Name == "http" && p.ContainerPort == 9871 {
			httpPort = true
		}
	}
	if !httpPort {
		fail("no container port 9871 named http")
	}
	for _, p := range []struct {
		name, path string
		probe      kubeProbe
	}{
		{"livenessProbe", "/-/healthy", c.LivenessProbe},
		{"readinessProbe", "/-/ready", c.ReadinessProbe},
	} {
		switch {
		case p.probe.HTTPGet == nil:
			fail("no %s.httpGet", p.name)
		case p.probe.HTTPGet.Path != p.path:
			fail("%s path %q, want %s", p.name, p.probe.HTTPGet.Path, p.path)
		case p.probe.HTTPGet.Port != "http" && p.probe.HTTPGet.Port != 9871:
			fail("%s port %v, want http", p.name, p.probe.HTTPGet.Port)
		}
	}

	// The configuration comes from the ConfigMap, mounted where --config.file points.
	var cm struct {
		Metadata kubeMetadata      `yaml:"metadata"`
		Data     map[string]string `yaml:"data"`
	}
	cmFile := decodeKube(t, "ConfigMap", &cm)
	volume := ""
	for _, vm := range c.VolumeMounts {
		if strings.TrimSuffix(vm.MountPath, "/") == configDir {
			volume = vm.Name
		}
	}
	mounted := false
	for _, v := range pod.Volumes {
		if v.Name == volume && v.ConfigMap != nil && v.ConfigMap.Name == cm.Metadata.Name {
			mounted = true
		}
	}
	if !mounted {
		fail("the ConfigMap %s is not mounted at %s/", cm.Metadata.Name, configDir)
	}
	data, ok := cm.Data["config.yaml"]
	if !ok {
		t.Fatalf("%s: no data key config.yaml", cmFile)
	}
	cfg, err := config.Parse([]byte(data), cmFile+": config.yaml")
	if err != nil {
		t.Fatalf("the ConfigMap's configuration is invalid:\n%v", err)
	}
	sameClient := false
	for _, tn := range cfg.Tenants {
		if tn.Auth != config.AuthWorkloadIdentity {
			t.Errorf("%s: tenant %s uses auth %q, want %s (no secret in the cluster)", cmFile, tn.Name, tn.Auth, config.AuthWorkloadIdentity)
		}
		if tn.TenantID == "" || tn.ClientID == "" {
			t.Errorf("%s: tenant %s: set tenant_id and client_id", cmFile, tn.Name)
		}
		sameClient = sameClient || tn.ClientID == clientID
	}
	if !sameClient {
		t.Errorf("%s: no tenant uses the service account's client ID %s", cmFile, clientID)
	}
}

// TestServiceAndServiceMonitor checks that the Service selects the pods and
// the ServiceMonitor the Service, on the port named http.
func TestServiceAndServiceMonitor(t *testing.T) {
	var d kubeDeployment
	decodeKube(t, "Deployment", &d)
	var svc struct {
		Metadata kubeMetadata `yaml:"metadata"`
		Spec     struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string `yaml:"name"`
				Port       int    `yaml:"port"`
				TargetPort any    `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	svcFile := decodeKube(t, "Service", &svc)
	if len(svc.Spec.Selector) == 0 {
		t.Errorf("%s: no selector", svcFile)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pods", svcFile, k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].Port != 9871 {
		t.Errorf("%s: want one port 9871 named http", svcFile)
	}

	var sm struct {
		APIVersion string `yaml:"apiVersion"`
		Spec       struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port     string `yaml:"port"`
				Interval string `yaml:"interval"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	smFile := decodeKube(t, "ServiceMonitor", &sm)
	if sm.APIVersion != "monitoring.coreos.com/v1" {
		t.Errorf("%s: apiVersion %q", smFile, sm.APIVersion)
	}
	if len(sm.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("%s: no selector", smFile)
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Metadata.Labels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the Service's labels", smFile, k, v)
		}
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Interval != "60s" {
		t.Errorf("%s: want one endpoint on port http every 60s", smFile)
	}
}
