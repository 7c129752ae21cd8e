package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

// Paths are relative to this package's directory, where go test runs.
const (
	chartDir      = "entra-authmethods-exporter"
	allValuesPath = chartDir + "/ci/all-values.yaml"
	chartREADME   = chartDir + "/README.md"
	valuesPath    = chartDir + "/values.yaml"
	rulesPath     = "../prometheus/entra-authmethods.rules.yml"
	dashboardsDir = "../grafana-dashboards"

	// Sharding on: alone, and after all-values.yaml.
	shardingValuesPath = chartDir + "/ci/sharding-values.yaml"
	// TLS and basic auth through webConfig, scraped so by the ServiceMonitor.
	tlsValuesPath = chartDir + "/ci/tls-values.yaml"

	// The Prometheus Operator's API, which helm template knows of only
	// through --api-versions.
	operatorAPI = "monitoring.coreos.com/v1"

	// helm template checks the chart's kubeVersion against this; a helm
	// built with go install would otherwise assume Kubernetes 1.20.
	kubeVersion = "1.33.0"
	namespace   = "monitoring"
	configDir   = "/etc/entra-authmethods-exporter"
	configFlag  = "--config.file=" + configDir + "/config.yaml"
)

// runHelm runs helm with its cache, config and data in a temporary directory
// and no cluster, and returns its standard output and error.
func runHelm(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	helm := testenv.Tool(t, "helm")
	home := t.TempDir()
	cmd := exec.Command(helm, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "kubeconfig"),
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// object is one rendered manifest.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	node *yaml.Node
	doc  map[string]any
}

func (o object) String() string { return o.Kind + "/" + o.Metadata.Name }

// decode decodes the whole object into v.
func (o object) decode(t *testing.T, v any) {
	t.Helper()
	if err := o.node.Decode(v); err != nil {
		t.Fatalf("%s: %v", o, err)
	}
}

type rendered []object

// render runs helm template on the chart (or a packaged chart) as release
// in namespace, on a cluster that serves the Prometheus Operator's API, and
// decodes every object.
func render(t *testing.T, chart, release string, args ...string) rendered {
	t.Helper()
	return renderOn(t, chart, release, append([]string{"--api-versions", operatorAPI}, args...)...)
}

// renderOn is render on a cluster whose API versions the arguments give
// (--api-versions), without the Operator's unless they name it.
func renderOn(t *testing.T, chart, release string, args ...string) rendered {
	t.Helper()
	args = append([]string{"template", release, chart, "--namespace", namespace, "--kube-version", kubeVersion}, args...)
	out, stderr, err := runHelm(t, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return decodeAll(t, out)
}

func decodeAll(t *testing.T, manifests string) rendered {
	t.Helper()
	var objs rendered
	dec := yaml.NewDecoder(strings.NewReader(manifests))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered YAML does not decode: %v", err)
		}
		if len(n.Content) == 0 || n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" {
			continue // an empty document (a template that rendered nothing)
		}
		o := object{node: &n}
		if err := n.Decode(&o); err != nil {
			t.Fatalf("rendered object does not decode: %v", err)
		}
		if err := n.Decode(&o.doc); err != nil {
			t.Fatalf("%s: not a mapping: %v", o, err)
		}
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" || o.Metadata.Namespace == "" {
			t.Fatalf("rendered object without apiVersion, kind, name or namespace: %v", o.doc)
		}
		objs = append(objs, o)
	}
	if len(objs) == 0 {
		t.Fatal("helm template rendered nothing")
	}
	return objs
}

func (r rendered) all(kind string) []object {
	var out []object
	for _, o := range r {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// one decodes the only object of a kind into v.
func (r rendered) one(t *testing.T, kind string, v any) object {
	t.Helper()
	objs := r.all(kind)
	if len(objs) != 1 {
		t.Fatalf("want exactly one %s, got %d", kind, len(objs))
	}
	if v != nil {
		objs[0].decode(t, v)
	}
	return objs[0]
}

// kinds counts the objects by kind.
func (r rendered) kinds() map[string]int {
	m := map[string]int{}
	for _, o := range r {
		m[o.Kind]++
	}
	return m
}

// The parts of the rendered objects the tests read.

type securityContext struct {
	RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
	RunAsUser                *int64 `yaml:"runAsUser"`
	RunAsGroup               *int64 `yaml:"runAsGroup"`
	FSGroup                  *int64 `yaml:"fsGroup"`
	ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
		Add  []string `yaml:"add"`
	} `yaml:"capabilities"`
	SeccompProfile struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
	TCPSocket *struct {
		Port any `yaml:"port"`
	} `yaml:"tcpSocket"`
	PeriodSeconds int `yaml:"periodSeconds"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name      string         `yaml:"name"`
		Value     string         `yaml:"value"`
		ValueFrom map[string]any `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe   probe           `yaml:"livenessProbe"`
	ReadinessProbe  probe           `yaml:"readinessProbe"`
	SecurityContext securityContext `yaml:"securityContext"`
	Resources       struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type volume struct {
	Name   string `yaml:"name"`
	Secret *struct {
		SecretName  string `yaml:"secretName"`
		DefaultMode *int   `yaml:"defaultMode"`
	} `yaml:"secret"`
}

// workload is the exporter's Deployment or, sharded, its StatefulSet.
type workload struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		ServiceName         string `yaml:"serviceName"`
		PodManagementPolicy string `yaml:"podManagementPolicy"`
		Selector            struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				ServiceAccountName           string            `yaml:"serviceAccountName"`
				AutomountServiceAccountToken *bool             `yaml:"automountServiceAccountToken"`
				SecurityContext              securityContext   `yaml:"securityContext"`
				Containers                   []container       `yaml:"containers"`
				Volumes                      []volume          `yaml:"volumes"`
				NodeSelector                 map[string]string `yaml:"nodeSelector"`
				Tolerations                  []any             `yaml:"tolerations"`
				Affinity                     map[string]any    `yaml:"affinity"`
				PriorityClassName            string            `yaml:"priorityClassName"`
				ImagePullSecrets             []struct {
					Name string `yaml:"name"`
				} `yaml:"imagePullSecrets"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type service struct {
	Spec struct {
		ClusterIP string            `yaml:"clusterIP"`
		Selector  map[string]string `yaml:"selector"`
		Ports     []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type relabeling struct {
	Action       string   `yaml:"action"`
	SourceLabels []string `yaml:"sourceLabels"`
	Separator    *string  `yaml:"separator"`
	Regex        *string  `yaml:"regex"`
	TargetLabel  string   `yaml:"targetLabel"`
	Replacement  *string  `yaml:"replacement"`
}

type serviceMonitor struct {
	Spec struct {
		JobLabel string `yaml:"jobLabel"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		NamespaceSelector struct {
			MatchNames []string `yaml:"matchNames"`
		} `yaml:"namespaceSelector"`
		Endpoints []struct {
			Port              string       `yaml:"port"`
			Path              string       `yaml:"path"`
			Interval          string       `yaml:"interval"`
			ScrapeTimeout     string       `yaml:"scrapeTimeout"`
			Relabelings       []relabeling `yaml:"relabelings"`
			MetricRelabelings []relabeling `yaml:"metricRelabelings"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

type secret struct {
	Data map[string]string `yaml:"data"`
}

type configMap struct {
	Data map[string]string `yaml:"data"`
}

// exporter returns the exporter's workload, the Deployment or (sharded)
// the StatefulSet, whichever is rendered, never both, and its one container.
func exporter(t *testing.T, r rendered) (workload, container) {
	t.Helper()
	objs := append(r.all("Deployment"), r.all("StatefulSet")...)
	if len(objs) != 1 {
		t.Fatalf("want exactly one Deployment or StatefulSet, got %d", len(objs))
	}
	var d workload
	objs[0].decode(t, &d)
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%s: want one container, got %d", objs[0], len(cs))
	}
	return d, cs[0]
}

// shardFlags returns the number of shards of --total-shards=N (0 without
// it) and how often --shard.from-hostname is in args.
func shardFlags(t *testing.T, args []string) (total, fromHostname int) {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--total-shards="); ok {
			if total != 0 {
				t.Errorf("args %v: --total-shards twice", args)
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				t.Errorf("args %v: %s is no number of shards", args, a)
			}
			total = n
		}
		if a == "--shard.from-hostname" {
			fromHostname++
		}
	}
	return total, fromHostname
}

// configText returns the rendered configuration file and the Secret's name.
func configText(t *testing.T, r rendered) (string, string) {
	t.Helper()
	var s secret
	o := r.one(t, "Secret", &s)
	raw, err := base64.StdEncoding.DecodeString(s.Data["config.yaml"])
	if err != nil || len(raw) == 0 {
		t.Fatalf("%s: data config.yaml is not base64 of a config (%v)", o, err)
	}
	return string(raw), o.Metadata.Name
}

func subset(sub, set map[string]string) bool {
	if len(sub) == 0 {
		return false
	}
	for k, v := range sub {
		if set[k] != v {
			return false
		}
	}
	return true
}

func boolIs(p *bool, want bool) bool { return p != nil && *p == want }

// checkObjects checks what every object of a rendering must have.
func checkObjects(t *testing.T, r rendered, wantNamespace, dashboardNamespace string) {
	t.Helper()
	dnsName := regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	for _, o := range r {
		if !dnsName.MatchString(o.Metadata.Name) || len(o.Metadata.Name) > 253 ||
			(o.Kind == "Service" || o.Kind == "Deployment") && len(o.Metadata.Name) > 63 ||
			// The pods' controller-revision-hash label is <name>-<10 characters>.
			o.Kind == "StatefulSet" && len(o.Metadata.Name) > 52 {
			t.Errorf("%s: not a valid name", o)
		}
		ns := wantNamespace
		if o.Kind == "ConfigMap" && dashboardNamespace != "" {
			ns = dashboardNamespace
		}
		if o.Metadata.Namespace != ns {
			t.Errorf("%s: namespace %q, want %q", o, o.Metadata.Namespace, ns)
		}
		l := o.Metadata.Labels
		for _, key := range []string{"helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version"} {
			if l[key] == "" {
				t.Errorf("%s: no label %s", o, key)
			}
		}
		if l["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("%s: label app.kubernetes.io/managed-by is %q, want Helm", o, l["app.kubernetes.io/managed-by"])
		}
	}
}

// checkWiring checks that the objects find each other: the workload's
// selector its pods, the Service the pods and their port (and, sharded, the
// StatefulSet the Service, headless), the ServiceMonitor the Service, the
// pod its service account and configuration.
func checkWiring(t *testing.T, r rendered) {
	t.Helper()
	d, c := exporter(t, r)
	pod := d.Spec.Template
	if !subset(d.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
		t.Errorf("%s selector %v does not select its pods %v", d.Kind, d.Spec.Selector.MatchLabels, pod.Metadata.Labels)
	}
	var svc service
	svcObj := r.one(t, "Service", &svc)
	if !subset(svc.Spec.Selector, pod.Metadata.Labels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, pod.Metadata.Labels)
	}
	if d.Kind == "StatefulSet" {
		if d.Spec.ServiceName != svcObj.Metadata.Name {
			t.Errorf("StatefulSet serviceName %q, want the Service %q", d.Spec.ServiceName, svcObj.Metadata.Name)
		}
		if svc.Spec.ClusterIP != "None" {
			t.Errorf("Service clusterIP %q with sharding, want None (headless)", svc.Spec.ClusterIP)
		}
	} else if svc.Spec.ClusterIP != "" {
		t.Errorf("Service clusterIP %q without sharding, want one allocated", svc.Spec.ClusterIP)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].TargetPort != "http" {
		t.Errorf("Service ports %+v, want one named http to the container's port http", svc.Spec.Ports)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 9871 {
		t.Errorf("container ports %+v, want http on 9871", c.Ports)
	}
	if sms := r.all("ServiceMonitor"); len(sms) > 0 {
		var sm serviceMonitor
		r.one(t, "ServiceMonitor", &sm)
		if !subset(sm.Spec.Selector.MatchLabels, svcObj.Metadata.Labels) {
			t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v", sm.Spec.Selector.MatchLabels, svcObj.Metadata.Labels)
		}
		if !slices.Contains(sm.Spec.NamespaceSelector.MatchNames, svcObj.Metadata.Namespace) {
			t.Errorf("ServiceMonitor namespaceSelector %v misses the Service's namespace %s", sm.Spec.NamespaceSelector.MatchNames, svcObj.Metadata.Namespace)
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoints %+v, want port http, path /metrics", sm.Spec.Endpoints)
		}
	}
	if sas := r.all("ServiceAccount"); len(sas) == 1 && pod.Spec.ServiceAccountName != sas[0].Metadata.Name {
		t.Errorf("serviceAccountName %q, want the chart's ServiceAccount %q", pod.Spec.ServiceAccountName, sas[0].Metadata.Name)
	}
	if !boolIs(pod.Spec.AutomountServiceAccountToken, false) {
		t.Error("automountServiceAccountToken is not false: the exporter never calls the Kubernetes API")
	}
	if len(c.Args) == 0 || c.Args[0] != configFlag {
		t.Errorf("args %v, want %s first", c.Args, configFlag)
	}
	// The configuration: the directory mounted read-only (no subPath, so an
	// edited Secret reaches the file), from a Secret.
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.Name != "config" {
			continue
		}
		mounted = true
		if filepath.Clean(m.MountPath) != configDir || m.SubPath != "" || !m.ReadOnly {
			t.Errorf("config mount %+v, want %s read-only, without subPath", m, configDir)
		}
	}
	if !mounted {
		t.Error("no volume mount named config")
	}
}

// configVolumeSecret returns the Secret the config volume reads.
func configVolumeSecret(t *testing.T, d workload) string {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "config" {
			if v.Secret == nil {
				t.Fatal("volume config is no Secret")
			}
			return v.Secret.SecretName
		}
	}
	t.Fatal("no volume named config")
	return ""
}

// checkHardening checks probes, security contexts and the number of pods.
func checkHardening(t *testing.T, d workload, c container) {
	t.Helper()
	if c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/-/healthy" || c.LivenessProbe.HTTPGet.Port != "http" {
		t.Errorf("livenessProbe %+v, want httpGet /-/healthy on port http", c.LivenessProbe.HTTPGet)
	}
	if c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/-/ready" || c.ReadinessProbe.HTTPGet.Port != "http" {
		t.Errorf("readinessProbe %+v, want httpGet /-/ready on port http", c.ReadinessProbe.HTTPGet)
	}
	pod := d.Spec.Template.Spec.SecurityContext
	if !boolIs(pod.RunAsNonRoot, true) || pod.RunAsUser == nil || *pod.RunAsUser != 65532 || pod.FSGroup == nil || pod.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("pod securityContext %+v, want runAsNonRoot, runAsUser and fsGroup 65532, seccomp RuntimeDefault", pod)
	}
	sc := c.SecurityContext
	switch {
	case !boolIs(sc.RunAsNonRoot, true), sc.RunAsUser == nil || *sc.RunAsUser != 65532:
		t.Errorf("container securityContext: want runAsNonRoot and runAsUser 65532, got %+v", sc)
	case !boolIs(sc.ReadOnlyRootFilesystem, true):
		t.Error("container securityContext: want readOnlyRootFilesystem: true")
	case !boolIs(sc.AllowPrivilegeEscalation, false):
		t.Error("container securityContext: want allowPrivilegeEscalation: false")
	case !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("container capabilities %+v, want drop [ALL] and nothing added", sc.Capabilities)
	case sc.SeccompProfile.Type != "RuntimeDefault":
		t.Errorf("container seccompProfile %q, want RuntimeDefault", sc.SeccompProfile.Type)
	}
	total, fromHostname := shardFlags(t, c.Args)
	switch d.Kind {
	case "Deployment":
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != "Recreate" {
			t.Errorf("replicas %v, strategy %q: want 1 and Recreate (two pollers would share Graph's throttle budget)", d.Spec.Replicas, d.Spec.Strategy.Type)
		}
		if total != 0 || fromHostname != 0 {
			t.Errorf("Deployment args %v: shard flags without sharding", c.Args)
		}
	case "StatefulSet":
		// One pod per shard, each taking its shard from its ordinal.
		if total == 0 || fromHostname != 1 {
			t.Errorf("StatefulSet args %v: want --total-shards=N and --shard.from-hostname once", c.Args)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != total {
			t.Errorf("StatefulSet replicas %v, want --total-shards %d", d.Spec.Replicas, total)
		}
		if d.Spec.PodManagementPolicy != "Parallel" {
			t.Errorf("StatefulSet podManagementPolicy %q, want Parallel", d.Spec.PodManagementPolicy)
		}
	}
}

// scrapedJob is the job Prometheus gives the ServiceMonitor's targets: the
// Prometheus Operator sets it to the Service's name, or to the value of the
// Service's jobLabel label when it has one, then applies the endpoint's
// relabelings.
func scrapedJob(t *testing.T, r rendered) string {
	t.Helper()
	var sm serviceMonitor
	r.one(t, "ServiceMonitor", &sm)
	svc := r.one(t, "Service", nil)
	labels := map[string]string{"job": svc.Metadata.Name}
	if v := svc.Metadata.Labels[sm.Spec.JobLabel]; sm.Spec.JobLabel != "" && v != "" {
		labels["job"] = v
	}
	for _, rl := range sm.Spec.Endpoints[0].Relabelings {
		relabel(t, labels, rl)
	}
	return labels["job"]
}

// relabel applies one relabeling of the actions the chart uses.
func relabel(t *testing.T, labels map[string]string, rl relabeling) {
	t.Helper()
	sep, re, repl := ";", "(.*)", "$1"
	if rl.Separator != nil {
		sep = *rl.Separator
	}
	if rl.Regex != nil {
		re = *rl.Regex
	}
	if rl.Replacement != nil {
		repl = *rl.Replacement
	}
	var vals []string
	for _, l := range rl.SourceLabels {
		vals = append(vals, labels[l])
	}
	value := strings.Join(vals, sep)
	rx := regexp.MustCompile("^(?:" + re + ")$")
	switch strings.ToLower(rl.Action) {
	case "", "replace":
		if m := rx.FindStringSubmatchIndex(value); m != nil {
			labels[rl.TargetLabel] = string(rx.ExpandString(nil, repl, value, m))
		}
	default:
		t.Fatalf("relabeling action %q: not simulated by this test", rl.Action)
	}
}

// wantKinds compares the kinds rendered with want.
func wantKinds(t *testing.T, r rendered, want map[string]int) {
	t.Helper()
	if got := r.kinds(); !reflect.DeepEqual(got, want) {
		t.Errorf("rendered kinds %v, want %v", got, want)
	}
}

func dashboardFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if len(files) == 0 {
		t.Fatalf("no dashboards in %s", dashboardsDir)
	}
	return files
}

// checkRules checks that the PrometheusRule's groups are the rule file's.
func checkRules(t *testing.T, r rendered) {
	t.Helper()
	var rf struct {
		Groups []any `yaml:"groups"`
	}
	raw, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &rf); err != nil || len(rf.Groups) == 0 {
		t.Fatalf("%s: %v, %d groups", rulesPath, err, len(rf.Groups))
	}
	var pr struct {
		Spec map[string]any `yaml:"spec"`
	}
	o := r.one(t, "PrometheusRule", &pr)
	if o.APIVersion != "monitoring.coreos.com/v1" {
		t.Errorf("%s: apiVersion %s", o, o.APIVersion)
	}
	if len(pr.Spec) != 1 || !reflect.DeepEqual(pr.Spec["groups"], any(rf.Groups)) {
		t.Errorf("%s: spec is not exactly the groups of %s", o, rulesPath)
	}
}

// checkDashboards checks one ConfigMap per dashboard, each holding the file
// unchanged and labelled for the Grafana sidecar.
func checkDashboards(t *testing.T, r rendered, wantLabels, wantAnnotations map[string]string) {
	t.Helper()
	held := map[string]int{}
	for _, o := range r.all("ConfigMap") {
		var cm configMap
		o.decode(t, &cm)
		if len(cm.Data) != 1 {
			t.Errorf("%s: want one dashboard, got %d keys", o, len(cm.Data))
		}
		for k := range cm.Data {
			held[k]++
		}
		for k, v := range wantLabels {
			if o.Metadata.Labels[k] != v {
				t.Errorf("%s: label %s is %q, want %q", o, k, o.Metadata.Labels[k], v)
			}
		}
		for k, v := range wantAnnotations {
			if o.Metadata.Annotations[k] != v {
				t.Errorf("%s: annotation %s is %q, want %q", o, k, o.Metadata.Annotations[k], v)
			}
		}
	}
	files := dashboardFiles(t)
	for _, f := range files {
		name := filepath.Base(f)
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if held[name] != 1 {
			t.Errorf("dashboard %s: in %d ConfigMaps, want 1", name, held[name])
			continue
		}
		for _, o := range r.all("ConfigMap") {
			var cm configMap
			o.decode(t, &cm)
			got, ok := cm.Data[name]
			if !ok {
				continue
			}
			if got != string(want) {
				t.Errorf("%s: %s differs from %s", o, name, f)
			}
			var d struct {
				UID string `yaml:"uid"`
			}
			if err := json.Unmarshal([]byte(got), &d); err != nil || d.UID == "" {
				t.Errorf("%s: %s is no dashboard JSON with a uid (%v)", o, name, err)
			}
		}
	}
	if len(held) != len(files) {
		t.Errorf("ConfigMaps hold %d files, deploy/grafana-dashboards %d dashboards", len(held), len(files))
	}
}

func TestChartLint(t *testing.T) {
	for _, values := range [][]string{
		nil, {allValuesPath}, {shardingValuesPath}, {tlsValuesPath},
		{allValuesPath, shardingValuesPath}, {allValuesPath, tlsValuesPath, shardingValuesPath},
	} {
		args := []string{"lint", "--strict", "--kube-version", kubeVersion, chartDir}
		for _, v := range values {
			args = append(args, "--values", v)
		}
		out, stderr, err := runHelm(t, args...)
		if err != nil || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERROR]") {
			t.Errorf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
	}
}

func TestChartDefaults(t *testing.T) {
	t.Parallel()
	r := render(t, chartDir, "myrel")
	wantKinds(t, r, map[string]int{
		"Deployment": 1, "Service": 1, "ServiceAccount": 1, "Secret": 1,
		"ServiceMonitor": 1, "PrometheusRule": 1, "ConfigMap": len(dashboardFiles(t)),
	})
	checkObjects(t, r, namespace, "")
	checkWiring(t, r)
	d, c := exporter(t, r)
	checkHardening(t, d, c)
	checkRules(t, r)
	checkDashboards(t, r, map[string]string{"grafana_dashboard": "1"}, nil)

	if c.Image != "ghcr.io/entra-authmethods-exporter/entra-authmethods-exporter:"+chartAppVersion(t) {
		t.Errorf("image %s, want the chart's appVersion from ghcr.io", c.Image)
	}
	if !slices.Contains(c.Args, "--config.auto-reload-interval=30s") {
		t.Errorf("args %v: want --config.auto-reload-interval=30s", c.Args)
	}
	wantRes := map[string]map[string]string{"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}
	if got := map[string]map[string]string{"requests": c.Resources.Requests, "limits": c.Resources.Limits}; !reflect.DeepEqual(got, wantRes) {
		t.Errorf("resources %v, want %v", got, wantRes)
	}
	if d.Spec.Template.Metadata.Labels["azure.workload.identity/use"] != "true" {
		t.Error(`pod label azure.workload.identity/use: "true" missing (workloadIdentity.enabled)`)
	}

	// The default configuration is valid (its IDs are placeholders).
	text, name := configText(t, r)
	if got := configVolumeSecret(t, d); got != name {
		t.Errorf("config volume reads Secret %q, want the chart's %q", got, name)
	}
	if _, err := config.Parse([]byte(text), "config.yaml"); err != nil {
		t.Errorf("default config: %v", err)
	}
	sum := sha256.Sum256([]byte(text))
	if got := d.Spec.Template.Metadata.Annotations["checksum/config"]; got != hex.EncodeToString(sum[:]) {
		t.Errorf("checksum/config %q, want the config's sha256 %x", got, sum)
	}

	// Without additionalLabels, no release label.
	for _, o := range append(r.all("ServiceMonitor"), r.all("PrometheusRule")...) {
		if v, ok := o.Metadata.Labels["release"]; ok {
			t.Errorf("%s: label release=%s without additionalLabels", o, v)
		}
	}
	if job := scrapedJob(t, r); job != rules.Defaults().Job {
		t.Errorf("the ServiceMonitor's targets get job %q, the rules and dashboards read %q", job, rules.Defaults().Job)
	}
}

// TestChartAllValues renders ci/all-values.yaml, as it is and sharded, and
// checks that every option reaches the objects.
func TestChartAllValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind   string
		values []string
	}{
		{"Deployment", []string{allValuesPath}},
		{"StatefulSet", []string{allValuesPath, shardingValuesPath}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			var args []string
			for _, v := range tc.values {
				args = append(args, "--values", v)
			}
			checkAllValues(t, render(t, chartDir, "x", args...), tc.kind)
		})
	}
}

// checkAllValues checks a rendering of all-values.yaml, whose exporter runs
// as a workload of kind.
func checkAllValues(t *testing.T, r rendered, kind string) {
	t.Helper()
	want := map[string]int{
		kind: 1, "Service": 1, "ServiceAccount": 1, "Secret": 1, "NetworkPolicy": 1,
		"ServiceMonitor": 1, "PrometheusRule": 1, "ConfigMap": len(dashboardFiles(t)),
	}
	if kind == "StatefulSet" {
		want["PodDisruptionBudget"] = 1
	}
	wantKinds(t, r, want)
	var values struct {
		Image struct {
			Repository string `yaml:"repository"`
			Digest     string `yaml:"digest"`
		} `yaml:"image"`
		NamespaceOverride        string `yaml:"namespaceOverride"`
		ConfigAutoReloadInterval string `yaml:"configAutoReloadInterval"`
		ExtraSecretMounts        []struct {
			Name       string `yaml:"name"`
			SecretName string `yaml:"secretName"`
			MountPath  string `yaml:"mountPath"`
		} `yaml:"extraSecretMounts"`
		ExtraArgs      []string          `yaml:"extraArgs"`
		PodLabels      map[string]string `yaml:"podLabels"`
		PodAnnotations map[string]string `yaml:"podAnnotations"`
		ServiceAccount struct {
			Name        string            `yaml:"name"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"serviceAccount"`
		ServiceMonitor struct {
			AdditionalLabels map[string]string `yaml:"additionalLabels"`
			Interval         string            `yaml:"interval"`
			ScrapeTimeout    string            `yaml:"scrapeTimeout"`
		} `yaml:"serviceMonitor"`
		PrometheusRule struct {
			AdditionalLabels map[string]string `yaml:"additionalLabels"`
		} `yaml:"prometheusRule"`
		Dashboards struct {
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
			Namespace   string            `yaml:"namespace"`
		} `yaml:"dashboards"`
		NodeSelector      map[string]string `yaml:"nodeSelector"`
		PriorityClassName string            `yaml:"priorityClassName"`
	}
	raw, err := os.ReadFile(allValuesPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	checkObjects(t, r, values.NamespaceOverride, values.Dashboards.Namespace)
	checkWiring(t, r)
	d, c := exporter(t, r)
	checkHardening(t, d, c)
	checkRules(t, r)
	checkDashboards(t, r, values.Dashboards.Labels, values.Dashboards.Annotations)

	// kube-prometheus-stack selects by the release label.
	if values.ServiceMonitor.AdditionalLabels["release"] == "" || values.PrometheusRule.AdditionalLabels["release"] == "" {
		t.Fatalf("%s: additionalLabels must ask for a release label", allValuesPath)
	}
	sm := r.one(t, "ServiceMonitor", nil)
	pr := r.one(t, "PrometheusRule", nil)
	for k, v := range values.ServiceMonitor.AdditionalLabels {
		if sm.Metadata.Labels[k] != v {
			t.Errorf("%s: label %s=%q, want %q", sm, k, sm.Metadata.Labels[k], v)
		}
	}
	for k, v := range values.PrometheusRule.AdditionalLabels {
		if pr.Metadata.Labels[k] != v {
			t.Errorf("%s: label %s=%q, want %q", pr, k, pr.Metadata.Labels[k], v)
		}
	}
	var smSpec serviceMonitor
	sm.decode(t, &smSpec)
	ep := smSpec.Spec.Endpoints[0]
	if ep.Interval != values.ServiceMonitor.Interval || ep.ScrapeTimeout != values.ServiceMonitor.ScrapeTimeout {
		t.Errorf("ServiceMonitor interval %q, scrapeTimeout %q, want %q, %q", ep.Interval, ep.ScrapeTimeout, values.ServiceMonitor.Interval, values.ServiceMonitor.ScrapeTimeout)
	}
	if len(ep.MetricRelabelings) == 0 {
		t.Error("ServiceMonitor: metricRelabelings missing")
	}
	// The user's relabelings come after the job's, and the job survives them
	// and jobLabel.
	if job := scrapedJob(t, r); job != rules.Defaults().Job {
		t.Errorf("the ServiceMonitor's targets get job %q, the rules and dashboards read %q", job, rules.Defaults().Job)
	}
	labels := map[string]string{}
	for _, rl := range ep.Relabelings {
		relabel(t, labels, rl)
	}
	if labels["cluster"] != "aks-prod" {
		t.Errorf("relabelings from values not applied: %v", labels)
	}

	// Secrets mounted read-only where the config expects its files.
	volumes := map[string]volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	if len(values.ExtraSecretMounts) == 0 {
		t.Fatalf("%s: no extraSecretMounts", allValuesPath)
	}
	var mountPaths []string
	for _, want := range values.ExtraSecretMounts {
		v, ok := volumes[want.Name]
		if !ok || v.Secret == nil || v.Secret.SecretName != want.SecretName {
			t.Errorf("extraSecretMounts %s: want a volume of Secret %s, got %+v", want.Name, want.SecretName, v)
		}
		found := false
		for _, m := range c.VolumeMounts {
			if m.Name == want.Name {
				found = true
				if m.MountPath != want.MountPath || !m.ReadOnly {
					t.Errorf("extraSecretMounts %s: mounted %+v, want read-only at %s", want.Name, m, want.MountPath)
				}
			}
		}
		if !found {
			t.Errorf("extraSecretMounts %s: not mounted", want.Name)
		}
		mountPaths = append(mountPaths, want.MountPath)
	}
	text, name := configText(t, r)
	if got := configVolumeSecret(t, d); got != name {
		t.Errorf("config volume reads Secret %q, want the chart's %q", got, name)
	}
	var cfg struct {
		Tenants []struct {
			Name                  string `yaml:"name"`
			ClientSecretFile      string `yaml:"client_secret_file"`
			ClientCertificateFile string `yaml:"client_certificate_file"`
		} `yaml:"tenants"`
	}
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("rendered config: %v", err)
	}
	files := 0
	for _, tn := range cfg.Tenants {
		for _, f := range []string{tn.ClientSecretFile, tn.ClientCertificateFile} {
			if f == "" {
				continue
			}
			files++
			if !slices.ContainsFunc(mountPaths, func(p string) bool { return strings.HasPrefix(f, strings.TrimSuffix(p, "/")+"/") }) {
				t.Errorf("tenant %s reads %s, under none of the extraSecretMounts %v", tn.Name, f, mountPaths)
			}
		}
	}
	if files == 0 {
		t.Errorf("%s: no tenant reads a secret file", allValuesPath)
	}

	// Workload identity: the service account's annotations, the pod label.
	var sa struct {
		Metadata struct {
			Name        string            `yaml:"name"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
	}
	r.one(t, "ServiceAccount", &sa)
	if sa.Metadata.Name != values.ServiceAccount.Name {
		t.Errorf("ServiceAccount %q, want %q", sa.Metadata.Name, values.ServiceAccount.Name)
	}
	if sa.Metadata.Annotations["azure.workload.identity/client-id"] == "" || !reflect.DeepEqual(sa.Metadata.Annotations, values.ServiceAccount.Annotations) {
		t.Errorf("ServiceAccount annotations %v, want %v", sa.Metadata.Annotations, values.ServiceAccount.Annotations)
	}
	pod := d.Spec.Template
	if pod.Metadata.Labels["azure.workload.identity/use"] != "true" {
		t.Error(`pod label azure.workload.identity/use: "true" missing`)
	}
	for k, v := range values.PodLabels {
		if pod.Metadata.Labels[k] != v {
			t.Errorf("pod label %s=%q, want %q", k, pod.Metadata.Labels[k], v)
		}
	}
	for k, v := range values.PodAnnotations {
		if pod.Metadata.Annotations[k] != v {
			t.Errorf("pod annotation %s=%q, want %q", k, pod.Metadata.Annotations[k], v)
		}
	}
	if pod.Metadata.Annotations["checksum/config"] == "" {
		t.Error("no checksum/config annotation")
	}

	// The rest of the options reach the pod.
	if want := values.Image.Repository + "@" + values.Image.Digest; c.Image != want {
		t.Errorf("image %s, want %s (a digest wins over the tag)", c.Image, want)
	}
	for _, a := range append([]string{"--config.auto-reload-interval=" + values.ConfigAutoReloadInterval}, values.ExtraArgs...) {
		if !slices.Contains(c.Args, a) {
			t.Errorf("args %v: want %s", c.Args, a)
		}
	}
	if len(c.Env) != 2 || c.Env[0].Name != "HTTPS_PROXY" || c.Env[1].ValueFrom == nil {
		t.Errorf("env %+v, want extraEnv", c.Env)
	}
	ps := pod.Spec
	if !reflect.DeepEqual(ps.NodeSelector, values.NodeSelector) || len(ps.Tolerations) == 0 || len(ps.Affinity) == 0 ||
		ps.PriorityClassName != values.PriorityClassName || len(ps.ImagePullSecrets) == 0 {
		t.Errorf("scheduling options missing: nodeSelector %v, tolerations %v, affinity %v, priorityClassName %q, imagePullSecrets %v",
			ps.NodeSelector, ps.Tolerations, ps.Affinity, ps.PriorityClassName, ps.ImagePullSecrets)
	}
}

// valuesFile writes a values file for one test.
func valuesFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The probes for basic auth that values.yaml documents, taken from its
// comment: they replace the httpGet probes, which would get 401.
func TestChartProbesForBasicAuth(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var override []string
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "#   "); ok && strings.Contains(v, "Probe: {httpGet: null, tcpSocket") {
			override = append(override, v)
		}
	}
	if len(override) != 2 {
		t.Fatalf("values.yaml documents %d probe overrides for basic auth, want 2: %q", len(override), override)
	}
	r := render(t, chartDir, "myrel", "-f", valuesFile(t, strings.Join(override, "\n")))
	_, c := exporter(t, r)
	for name, p := range map[string]probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p.HTTPGet != nil || p.TCPSocket == nil || p.TCPSocket.Port != "http" || p.PeriodSeconds == 0 {
			t.Errorf("%s probe with the documented override: %+v, want tcpSocket on port http only, keeping its period", name, p)
		}
	}
}

func TestChartExistingConfigSecret(t *testing.T) {
	t.Parallel()
	r := render(t, chartDir, "myrel", "--set", "existingConfigSecret=entra-config")
	if n := len(r.all("Secret")); n != 0 {
		t.Errorf("existingConfigSecret set, yet %d Secrets rendered", n)
	}
	checkWiring(t, r)
	d, _ := exporter(t, r)
	if got := configVolumeSecret(t, d); got != "entra-config" {
		t.Errorf("config volume reads Secret %q, want entra-config", got)
	}
	if v, ok := d.Spec.Template.Metadata.Annotations["checksum/config"]; ok {
		t.Errorf("checksum/config %q of a config the chart does not render", v)
	}
}

func TestChartConfigChecksum(t *testing.T) {
	t.Parallel()
	checksum := func(args ...string) (string, string) {
		r := render(t, chartDir, "myrel", args...)
		d, _ := exporter(t, r)
		text, _ := configText(t, r)
		return d.Spec.Template.Metadata.Annotations["checksum/config"], text
	}
	a, textA := checksum()
	again, _ := checksum("--set", "podAnnotations.unrelated=change")
	b, textB := checksum("--set", "config.poll_interval=1h")
	if textA == textB || !strings.Contains(textB, "poll_interval: 1h") {
		t.Fatalf("--set config.poll_interval=1h did not change the config:\n%s", textB)
	}
	if a == "" || a != again {
		t.Errorf("checksum/config %q, then %q without a config change", a, again)
	}
	if a == b {
		t.Errorf("checksum/config %q did not change with the config", a)
	}
}

func TestChartConfigAsString(t *testing.T) {
	t.Parallel()
	const cfg = `# kept as written, comments too
poll_interval: 45m
tenants:
  - name: contoso
    tenant_id: 11111111-1111-1111-1111-111111111111
    client_id: 22222222-2222-2222-2222-222222222222
    auth: workload_identity
`
	values := "config: |\n" + regexp.MustCompile(`(?m)^`).ReplaceAllString(strings.TrimSuffix(cfg, "\n"), "  ") + "\n"
	r := render(t, chartDir, "myrel", "--values", valuesFile(t, values))
	text, _ := configText(t, r)
	if text != cfg {
		t.Errorf("config given as a string: rendered\n%s\nwant\n%s", text, cfg)
	}
	if _, err := config.Parse([]byte(text), "config.yaml"); err != nil {
		t.Error(err)
	}
}

func TestChartWithoutConfig(t *testing.T) {
	t.Parallel()
	_, stderr, err := runHelm(t, "template", "myrel", chartDir, "--kube-version", kubeVersion, "--values", valuesFile(t, "config: null\n"))
	if err == nil || !strings.Contains(stderr, "existingConfigSecret") {
		t.Errorf("no config and no existingConfigSecret: want an error naming both, got %v\n%s", err, stderr)
	}
}

func TestChartOptionsOff(t *testing.T) {
	t.Parallel()
	r := render(t, chartDir, "myrel", "--values", valuesFile(t, `
serviceMonitor: {enabled: false}
prometheusRule: {enabled: false}
dashboards: {enabled: false}
serviceAccount: {create: false}
workloadIdentity: {enabled: false}
configAutoReloadInterval: ""
`))
	wantKinds(t, r, map[string]int{"Deployment": 1, "Service": 1, "Secret": 1})
	checkWiring(t, r)
	d, c := exporter(t, r)
	if got := d.Spec.Template.Spec.ServiceAccountName; got != "default" {
		t.Errorf("serviceAccountName %q without a created ServiceAccount, want default", got)
	}
	if _, ok := d.Spec.Template.Metadata.Labels["azure.workload.identity/use"]; ok {
		t.Error("azure.workload.identity/use label with workloadIdentity.enabled=false")
	}
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--config.auto-reload-interval") {
			t.Errorf("%s with configAutoReloadInterval empty", a)
		}
	}
}

// podTemplate returns the pod template of the rendered workload of kind as
// plain data, without the shard flags.
func podTemplate(t *testing.T, r rendered, kind string) map[string]any {
	t.Helper()
	var w struct {
		Spec struct {
			Template map[string]any `yaml:"template"`
		} `yaml:"spec"`
	}
	r.one(t, kind, &w)
	spec, _ := w.Spec.Template["spec"].(map[string]any)
	containers, _ := spec["containers"].([]any)
	for _, c := range containers {
		c := c.(map[string]any)
		args, _ := c["args"].([]any)
		c["args"] = slices.DeleteFunc(args, func(a any) bool {
			s, _ := a.(string)
			return strings.HasPrefix(s, "--total-shards=") || s == "--shard.from-hostname"
		})
	}
	return w.Spec.Template
}

// TestChartSharding renders the chart sharded, from the defaults and from
// all-values.yaml, and compares each with the same values unsharded: a
// StatefulSet of totalShards pods instead of the Deployment, with the shard
// flags, the Service made headless and named as its serviceName, and
// otherwise the same pod template and objects.
func TestChartSharding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		shards  int
		values  []string // both renderings
		sharded []string // then the sharded one
	}{
		{"defaults", 3, nil, []string{"--set", "sharding.enabled=true"}},
		{"one shard", 1, nil, []string{"--set", "sharding.enabled=true,sharding.totalShards=1"}},
		{"all-values", 4, []string{"--values", allValuesPath}, []string{"--values", shardingValuesPath}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plain := render(t, chartDir, "myrel", tc.values...)
			r := render(t, chartDir, "myrel", append(slices.Clone(tc.values), tc.sharded...)...)
			if n := len(plain.all("StatefulSet")); n != 0 {
				t.Errorf("%d StatefulSets without sharding", n)
			}
			if n := len(r.all("Deployment")); n != 0 {
				t.Errorf("%d Deployments beside the StatefulSet: they would poll every tenant again", n)
			}
			checkWiring(t, r)
			d, c := exporter(t, r)
			checkHardening(t, d, c)
			if d.Spec.Replicas == nil || *d.Spec.Replicas != tc.shards {
				t.Errorf("StatefulSet replicas %v, want %d", d.Spec.Replicas, tc.shards)
			}
			if total, _ := shardFlags(t, c.Args); total != tc.shards {
				t.Errorf("args %v: want --total-shards=%d", c.Args, tc.shards)
			}

			got, want := podTemplate(t, r, "StatefulSet"), podTemplate(t, plain, "Deployment")
			if !reflect.DeepEqual(got, want) {
				g, _ := yaml.Marshal(got)
				w, _ := yaml.Marshal(want)
				t.Errorf("the StatefulSet's pod template differs from the Deployment's beyond the shard flags:\n%s\nwant\n%s", g, w)
			}

			// Every other object is the same, the Service but for its clusterIP.
			others := func(r rendered, drop string) map[string]any {
				m := map[string]any{}
				for _, o := range r {
					if o.Kind == drop || o.Kind == "PodDisruptionBudget" {
						continue
					}
					if o.Kind == "Service" {
						spec := o.doc["spec"].(map[string]any)
						if spec["clusterIP"] == "None" {
							delete(spec, "clusterIP")
						}
					}
					m[o.String()] = o.doc
				}
				return m
			}
			if a, b := others(r, "StatefulSet"), others(plain, "Deployment"); !reflect.DeepEqual(a, b) {
				for k := range b {
					if !reflect.DeepEqual(a[k], b[k]) {
						t.Errorf("%s: differs between the sharded rendering and the other", k)
					}
				}
				if len(a) != len(b) {
					t.Errorf("the sharded rendering has %d objects beside its StatefulSet, the other %d beside its Deployment", len(a), len(b))
				}
			}
		})
	}
}

// TestChartShardingOff checks that sharding.totalShards alone changes
// nothing: no StatefulSet, no shard flags.
func TestChartShardingOff(t *testing.T) {
	t.Parallel()
	r := render(t, chartDir, "myrel", "--set", "sharding.enabled=false,sharding.totalShards=5")
	if n := len(r.all("StatefulSet")); n != 0 {
		t.Errorf("sharding.enabled=false: %d StatefulSets", n)
	}
	checkWiring(t, r)
	d, c := exporter(t, r)
	checkHardening(t, d, c) // one replica, no shard flags
}

// TestChartShardingLongName checks the StatefulSet's name, shorter than the
// other objects' (the pods' controller-revision-hash label), and that its
// serviceName is still the Service's.
func TestChartShardingLongName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("abcdefghi-", 6) + "xyz" // 63 characters
	r := render(t, chartDir, "myrel", "--set", "sharding.enabled=true,fullnameOverride="+long)
	checkObjects(t, r, namespace, "")
	checkWiring(t, r)
	if svc := r.one(t, "Service", nil); svc.Metadata.Name != long {
		t.Errorf("Service %s, want %s", svc.Metadata.Name, long)
	}
}

// TestChartShardingInvalid checks that a number of shards below 1, or none,
// fails the rendering with a message naming the value (values.schema.json's
// for a number below 1 or not whole, the template's for none), and so does
// a Service type that cannot be headless.
func TestChartShardingInvalid(t *testing.T) {
	t.Parallel()
	const (
		schemaMessage      = "at '/sharding/totalShards'"
		totalShardsMessage = "sharding.totalShards must be a whole number of at least 1"
	)
	for _, tc := range []struct{ set, want string }{
		{"sharding.totalShards=0", schemaMessage},
		{"sharding.totalShards=-1", schemaMessage},
		{"sharding.totalShards=2.5", schemaMessage},
		{"sharding.totalShards=three", schemaMessage},
		{"sharding.totalShards=null", totalShardsMessage},
		{"service.type=LoadBalancer", "sharding.enabled needs service.type ClusterIP"},
	} {
		_, stderr, err := runHelm(t, "template", "myrel", chartDir, "--kube-version", kubeVersion,
			"--set", "sharding.enabled=true", "--set", tc.set)
		if err == nil || !strings.Contains(stderr, tc.want) {
			t.Errorf("--set %s: want an error %q, got %v\n%s", tc.set, tc.want, err, stderr)
		}
	}
}

// TestChartJobWhateverName checks that the scraped job is the rules' job
// whatever the release and the name overrides, and what job: "" leaves.
func TestChartJobWhateverName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		release string
		args    []string
	}{
		{"prod", nil},
		{"entra-authmethods-exporter", nil},
		{"eu-entra-authmethods-exporter-2", nil},
		{"prod", []string{"--set", "nameOverride=entra"}},
		{"prod", []string{"--set", "fullnameOverride=something-else"}},
	} {
		r := render(t, chartDir, tc.release, tc.args...)
		if job := scrapedJob(t, r); job != rules.Defaults().Job {
			t.Errorf("release %s %v: job %q, want the rules' %q", tc.release, tc.args, job, rules.Defaults().Job)
		}
	}
	r := render(t, chartDir, "prod", "--set", "serviceMonitor.job=")
	if job, svc := scrapedJob(t, r), r.one(t, "Service", nil); job != svc.Metadata.Name {
		t.Errorf("serviceMonitor.job empty: job %q, want the operator's default, the Service's name %q", job, svc.Metadata.Name)
	}
	r = render(t, chartDir, "prod", "--set", "serviceMonitor.job=,serviceMonitor.jobLabel=app.kubernetes.io/name")
	if job := scrapedJob(t, r); job != "entra-authmethods-exporter" {
		t.Errorf("serviceMonitor.jobLabel=app.kubernetes.io/name: job %q, want the name label's value", job)
	}
}

// TestChartPackage packages the chart and checks the archive holds the rule
// file and dashboards, regular files, and renders as the chart's directory
// does.
func TestChartPackage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, stderr, err := runHelm(t, "package", chartDir, "--destination", dir); err != nil {
		t.Fatalf("helm package: %v\n%s%s", err, out, stderr)
	}
	pkgs, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if len(pkgs) != 1 {
		t.Fatalf("helm package wrote %v", pkgs)
	}
	f, err := os.Open(pkgs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	inside := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			t.Errorf("%s: archive entry of type %c, want regular files only", h.Name, h.Typeflag)
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		inside[strings.TrimPrefix(h.Name, chartDir+"/")] = b
	}
	want := map[string]string{"files/entra-authmethods.rules.yml": rulesPath}
	for _, d := range dashboardFiles(t) {
		want["files/dashboards/"+filepath.Base(d)] = d
	}
	for name, src := range want {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(inside[name], b) {
			t.Errorf("package: %s is not the content of %s", name, src)
		}
	}
	var names []string
	for name := range inside {
		names = append(names, name)
		if strings.HasPrefix(name, "ci/") {
			t.Errorf("package holds %s, which .helmignore leaves out", name)
		}
	}
	sort.Strings(names)
	t.Logf("packaged: %v", names)

	fromDir := render(t, chartDir, "myrel", "--values", allValuesPath)
	fromPkg := render(t, pkgs[0], "myrel", "--values", allValuesPath)
	if len(fromDir) != len(fromPkg) {
		t.Fatalf("the package renders %d objects, the directory %d", len(fromPkg), len(fromDir))
	}
	for i := range fromDir {
		if !reflect.DeepEqual(fromDir[i].doc, fromPkg[i].doc) {
			t.Errorf("%s renders differently from the package", fromDir[i])
		}
	}
}

// TestChartREADMEValues keeps the chart README's values table in step with
// values.yaml: every top-level key, and the keys one level down of the maps
// that are options rather than objects passed through whole.
func TestChartREADMEValues(t *testing.T) {
	raw, err := os.ReadFile(valuesPath)
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(chartREADME)
	if err != nil {
		t.Fatal(err)
	}
	// The table of the section Values.
	table := string(readme)
	if _, after, ok := strings.Cut(table, "\n## Values\n"); ok {
		table, _, _ = strings.Cut(after, "\n## ")
	} else {
		t.Fatalf("%s: no section ## Values", chartREADME)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)`").FindAllStringSubmatch(table, -1) {
		documented[m[1]] = true
	}
	passedWhole := map[string]bool{
		"config": true, "resources": true, "podSecurityContext": true, "securityContext": true,
		"livenessProbe": true, "readinessProbe": true, "nodeSelector": true, "affinity": true,
	}
	var keys []string
	for k, v := range values {
		sub, ok := v.(map[string]any)
		if !ok || len(sub) == 0 || passedWhole[k] {
			keys = append(keys, k)
			continue
		}
		for sk := range sub {
			keys = append(keys, k+"."+sk)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !documented[k] {
			t.Errorf("%s: values key %s is not in the values table", chartREADME, k)
		}
	}
	for k := range documented {
		if !slices.Contains(keys, k) {
			t.Errorf("%s: the values table lists %s, which values.yaml does not have", chartREADME, k)
		}
	}
}
