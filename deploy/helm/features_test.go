package helm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// schemaPath is the chart's values.schema.json.
const schemaPath = chartDir + "/values.schema.json"

// chartAppVersion is the chart's appVersion, the default image tag.
func chartAppVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Version    string `yaml:"version"`
		AppVersion string `yaml:"appVersion"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil || c.AppVersion == "" {
		t.Fatalf("Chart.yaml: no appVersion (%v)", err)
	}
	return c.AppVersion
}

// monitoringKinds counts the ServiceMonitors and PrometheusRules.
func monitoringKinds(r rendered) (int, int) {
	return len(r.all("ServiceMonitor")), len(r.all("PrometheusRule"))
}

// TestChartOperatorAPI checks that the ServiceMonitor and PrometheusRule are
// rendered only where the cluster serves monitoring.coreos.com/v1, unless
// forced, and never when disabled: so helm install works on a cluster
// without the Prometheus Operator.
func TestChartOperatorAPI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		operator   bool
		set        string
		sms, rules int
	}{
		{"defaults, no Operator", false, "", 0, 0},
		{"defaults, Operator", true, "", 1, 1},
		{"forced, no Operator", false, "serviceMonitor.force=true,prometheusRule.force=true", 1, 1},
		{"ServiceMonitor forced", false, "serviceMonitor.force=true", 1, 0},
		{"disabled, Operator", true, "serviceMonitor.enabled=false,prometheusRule.enabled=false", 0, 0},
		{"disabled and forced", false, "serviceMonitor.enabled=false,serviceMonitor.force=true", 0, 0},
	} {
		var args []string
		if tc.operator {
			args = append(args, "--api-versions", operatorAPI)
		}
		if tc.set != "" {
			args = append(args, "--set", tc.set)
		}
		r := renderOn(t, chartDir, "myrel", args...)
		if sms, rules := monitoringKinds(r); sms != tc.sms || rules != tc.rules {
			t.Errorf("%s: %d ServiceMonitors, %d PrometheusRules, want %d, %d", tc.name, sms, rules, tc.sms, tc.rules)
		}
		checkObjects(t, r, namespace, "")
		checkWiring(t, r)
	}
	// Without the Operator, the rest is there as with it.
	without := renderOn(t, chartDir, "myrel")
	wantKinds(t, without, map[string]int{
		"Deployment": 1, "Service": 1, "ServiceAccount": 1, "Secret": 1, "ConfigMap": len(dashboardFiles(t)),
	})
}

// notes renders NOTES.txt, which helm template leaves out: a copy of the
// chart whose notes are a ConfigMap's data.
func notes(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "chart")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(dir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	wrapped := `{{- define "test.notes" }}` + string(text) + "{{- end }}\n" + `apiVersion: v1
kind: ConfigMap
metadata:
  name: notes
  namespace: ` + namespace + `
data:
  notes: {{ include "test.notes" . | toJson }}
`
	if err := os.WriteFile(filepath.Join(dir, "templates", "zz-notes.yaml"), []byte(wrapped), 0o644); err != nil {
		t.Fatal(err)
	}
	r := renderOn(t, dir, "myrel", append(args, "--show-only", "templates/zz-notes.yaml")...)
	var cm configMap
	r.one(t, "ConfigMap", &cm)
	return cm.Data["notes"]
}

// TestChartNotes checks that the notes say when the ServiceMonitor and
// PrometheusRule were skipped, and only then.
func TestChartNotes(t *testing.T) {
	t.Parallel()
	if n := notes(t); !strings.Contains(n, "SKIPPED: the ServiceMonitor and the PrometheusRule") || !strings.Contains(n, "monitoring.coreos.com/v1") {
		t.Errorf("notes without the Operator's API do not say the ServiceMonitor and PrometheusRule were skipped:\n%s", n)
	}
	if n := notes(t, "--api-versions", operatorAPI); strings.Contains(n, "SKIPPED") || !strings.Contains(n, "The ServiceMonitor scrapes it") {
		t.Errorf("notes with the Operator's API:\n%s", n)
	}
	if n := notes(t, "--set", "serviceMonitor.enabled=false,prometheusRule.enabled=false"); strings.Contains(n, "SKIPPED") {
		t.Errorf("notes with both disabled say something was skipped:\n%s", n)
	}
	if n := notes(t, "--set", "prometheusRule.force=true"); !strings.Contains(n, "SKIPPED: the ServiceMonitor (enabled) was not") {
		t.Errorf("notes with the PrometheusRule forced:\n%s", n)
	}
	if n := notes(t, "--set", "networkPolicy.enabled=true"); !strings.Contains(n, "NetworkPolicy") || !strings.Contains(n, "0.0.0.0/0") {
		t.Errorf("notes with networkPolicy.enabled do not describe it:\n%s", n)
	}
}

// TestChartSchemaRefusesUnknownKeys checks that misspelt values fail with
// helm's schema error, at every level, and that wrong types do too.
func TestChartSchemaRefusesUnknownKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ set, want string }{
		{"serviceMonitor.intervall=30s", "additional properties 'intervall' not allowed"},
		{"sharding.enable=true", "additional properties 'enable' not allowed"},
		{"replicas=2", "additional properties 'replicas' not allowed"},
		{"networkPolicy.enable=true", "additional properties 'enable' not allowed"},
		{"podDisruptionBudget.maxUnavailble=2", "additional properties 'maxUnavailble' not allowed"},
		{"serviceMonitor.tlsConfig.insecureSkipVerifyy=true", "additional properties 'insecureSkipVerifyy' not allowed"},
		{"securityContext.readOnlyRootFileSystem=false", "additional properties 'readOnlyRootFileSystem' not allowed"},
		{"livenessProbe.httpGet.paht=/x", "additional properties 'paht' not allowed"},
		{"webConfig.existingSecrets=x", "additional properties 'existingSecrets' not allowed"},
		{"service.port=http", "/service/port"},
		{"serviceMonitor.enabled=yes", "/serviceMonitor/enabled"},
		{"serviceMonitor.scheme=HTTPS", "/serviceMonitor/scheme"},
	} {
		_, stderr, err := runHelm(t, "template", "myrel", chartDir, "--kube-version", kubeVersion, "--set", tc.set)
		if err == nil || !strings.Contains(stderr, "values don't meet the specifications of the schema") || !strings.Contains(stderr, tc.want) {
			t.Errorf("--set %s: want helm's schema error %q, got %v\n%s", tc.set, tc.want, err, stderr)
		}
	}
}

// TestChartValuesSchema keeps values.schema.json in step with values.yaml:
// every object of the schema refuses unknown keys and every value has a
// type; where values.yaml has a map of options, the schema has exactly its
// keys; the defaults themselves validate (helm lint checks that).
func TestChartValuesSchema(t *testing.T) {
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("%s: %v", schemaPath, err)
	}
	raw, err = os.ReadFile(valuesPath)
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}

	// Every schema node has a type; every object with properties refuses
	// others; objects without properties say what their values are, or are
	// Kubernetes objects passed through (described in the schema).
	var walk func(path string, n map[string]any)
	walk = func(path string, n map[string]any) {
		if _, ok := n["type"]; !ok {
			t.Errorf("%s: %s has no type", schemaPath, path)
		}
		if props, ok := n["properties"].(map[string]any); ok {
			if n["additionalProperties"] != false && path != "" && path != "extraVolumes[]" {
				t.Errorf("%s: %s has properties but takes others (want additionalProperties: false)", schemaPath, path)
			}
			for k, v := range props {
				walk(strings.TrimPrefix(path+"."+k, "."), v.(map[string]any))
			}
		}
		if ap, ok := n["additionalProperties"].(map[string]any); ok {
			walk(path+".*", ap)
		}
		if items, ok := n["items"].(map[string]any); ok {
			walk(path+"[]", items)
		}
	}
	if schema["additionalProperties"] != false {
		t.Errorf("%s: the top level takes unknown keys", schemaPath)
	}
	walk("", schema)

	// The schema's properties are values.yaml's keys, level by level, where
	// values.yaml holds a map of options.
	var compare func(path string, v map[string]any, s map[string]any)
	compare = func(path string, v map[string]any, s map[string]any) {
		props, ok := s["properties"].(map[string]any)
		if !ok {
			return // a map of anything (labels, config): no keys to compare
		}
		var vk, sk []string
		for k := range v {
			vk = append(vk, k)
		}
		for k := range props {
			if path == "" && k == "global" {
				continue // set by a parent chart
			}
			sk = append(sk, k)
		}
		sort.Strings(vk)
		sort.Strings(sk)
		if path == "" || isOptions(path) {
			if !slices.Equal(vk, sk) {
				t.Errorf("%s: %s has keys %v, values.yaml %v", schemaPath, orTop(path), sk, vk)
			}
		} else {
			for _, k := range vk {
				if !slices.Contains(sk, k) {
					t.Errorf("%s: values.yaml's %s.%s is not in the schema", schemaPath, path, k)
				}
			}
		}
		for k, sub := range v {
			m, ok := sub.(map[string]any)
			if !ok {
				continue
			}
			ps, ok := props[k].(map[string]any)
			if !ok {
				continue
			}
			compare(strings.TrimPrefix(path+"."+k, "."), m, ps)
		}
	}
	compare("", values, schema)
}

// isOptions tells the maps of values.yaml that are the chart's options,
// whose keys the schema must match exactly, from Kubernetes objects passed
// through, of which values.yaml shows some fields only.
func isOptions(path string) bool {
	switch strings.SplitN(path, ".", 2)[0] {
	case "resources", "podSecurityContext", "securityContext", "livenessProbe", "readinessProbe",
		"affinity", "nodeSelector", "config":
		return false
	}
	if path == "serviceMonitor.tlsConfig" || path == "serviceMonitor.basicAuth" {
		return false
	}
	return !strings.Contains(path, "Selector")
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

type networkPolicy struct {
	Spec struct {
		PodSelector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"podSelector"`
		PolicyTypes []string `yaml:"policyTypes"`
		Ingress     []struct {
			From  []map[string]any `yaml:"from"`
			Ports []npPort         `yaml:"ports"`
		} `yaml:"ingress"`
		Egress []struct {
			To    []map[string]any `yaml:"to"`
			Ports []npPort         `yaml:"ports"`
		} `yaml:"egress"`
	} `yaml:"spec"`
}

type npPort struct {
	Port     any    `yaml:"port"`
	Protocol string `yaml:"protocol"`
}

// TestChartNetworkPolicy checks the NetworkPolicy: none by default; with
// networkPolicy.enabled, one selecting the exporter's pods that lets
// Prometheus reach the metrics port and lets the exporter reach DNS and 443
// on the configured CIDRs, and nothing else.
func TestChartNetworkPolicy(t *testing.T) {
	t.Parallel()
	if n := len(render(t, chartDir, "myrel").all("NetworkPolicy")); n != 0 {
		t.Errorf("%d NetworkPolicies by default, want none", n)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		cidrs []string
	}{
		{"defaults", []string{"--set", "networkPolicy.enabled=true"}, []string{"0.0.0.0/0", "::/0"}},
		{"defaults, sharded", []string{"--set", "networkPolicy.enabled=true,sharding.enabled=true"}, []string{"0.0.0.0/0", "::/0"}},
		{"all-values", []string{"--values", allValuesPath}, []string{"20.190.128.0/18", "40.126.0.0/18", "2603:1006:2000::/48"}},
	} {
		r := render(t, chartDir, "myrel", tc.args...)
		var np networkPolicy
		o := r.one(t, "NetworkPolicy", &np)
		d, c := exporter(t, r)
		if !subset(np.Spec.PodSelector.MatchLabels, d.Spec.Template.Metadata.Labels) {
			t.Errorf("%s: %s podSelector %v does not select the pods %v", tc.name, o, np.Spec.PodSelector.MatchLabels, d.Spec.Template.Metadata.Labels)
		}
		if !slices.Equal(np.Spec.PolicyTypes, []string{"Ingress", "Egress"}) {
			t.Errorf("%s: policyTypes %v, want Ingress and Egress", tc.name, np.Spec.PolicyTypes)
		}
		// In: the metrics port, from Prometheus's pods.
		if len(np.Spec.Ingress) == 0 {
			t.Fatalf("%s: no ingress rule", tc.name)
		}
		in := np.Spec.Ingress[0]
		if len(in.Ports) != 1 || in.Ports[0].Port != c.Ports[0].Name || in.Ports[0].Protocol != "TCP" {
			t.Errorf("%s: ingress ports %+v, want the container's port %s", tc.name, in.Ports, c.Ports[0].Name)
		}
		if len(in.From) != 1 || in.From[0]["podSelector"] == nil || in.From[0]["namespaceSelector"] == nil {
			t.Errorf("%s: ingress from %v, want one peer with a podSelector and a namespaceSelector (Prometheus)", tc.name, in.From)
		} else if sel, _ := in.From[0]["podSelector"].(map[string]any)["matchLabels"].(map[string]any); sel["app.kubernetes.io/name"] != "prometheus" {
			t.Errorf("%s: ingress from pods %v, want Prometheus's", tc.name, sel)
		}
		// Out: DNS on 53 UDP and TCP, HTTPS on 443 to the CIDRs.
		var dns, https bool
		for _, e := range np.Spec.Egress {
			ports := map[string]bool{}
			for _, p := range e.Ports {
				ports[p.Protocol+"/"+toString(p.Port)] = true
			}
			switch {
			case ports["UDP/53"] && ports["TCP/53"] && len(ports) == 2:
				dns = true
			case ports["TCP/443"] && len(ports) == 1:
				https = true
				var cidrs []string
				for _, to := range e.To {
					if b, ok := to["ipBlock"].(map[string]any); ok {
						cidrs = append(cidrs, b["cidr"].(string))
					}
				}
				if !slices.Equal(cidrs, tc.cidrs) {
					t.Errorf("%s: egress 443 to %v, want %v", tc.name, cidrs, tc.cidrs)
				}
			}
		}
		if !dns || !https {
			t.Errorf("%s: egress %+v: want DNS (53 UDP and TCP) and HTTPS (443)", tc.name, np.Spec.Egress)
		}
	}
	// all-values' extra rules come after the chart's.
	r := render(t, chartDir, "myrel", "--values", allValuesPath)
	var np networkPolicy
	r.one(t, "NetworkPolicy", &np)
	if len(np.Spec.Ingress) != 2 || len(np.Spec.Egress) != 3 {
		t.Errorf("all-values: %d ingress and %d egress rules, want 2 and 3 (with extraIngress and extraEgress)", len(np.Spec.Ingress), len(np.Spec.Egress))
	}
	if len(np.Spec.Egress) > 0 && len(np.Spec.Egress[0].To) != 1 {
		t.Errorf("all-values: DNS to %v, want networkPolicy.dnsTo", np.Spec.Egress[0].To)
	}
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

type pdb struct {
	Spec struct {
		MaxUnavailable             any    `yaml:"maxUnavailable"`
		MinAvailable               any    `yaml:"minAvailable"`
		UnhealthyPodEvictionPolicy string `yaml:"unhealthyPodEvictionPolicy"`
		Selector                   struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
	} `yaml:"spec"`
}

// TestChartPodDisruptionBudget checks the PodDisruptionBudget: sharded only,
// selecting the StatefulSet's pods, maxUnavailable 1 unless told otherwise.
func TestChartPodDisruptionBudget(t *testing.T) {
	t.Parallel()
	if n := len(render(t, chartDir, "myrel").all("PodDisruptionBudget")); n != 0 {
		t.Errorf("%d PodDisruptionBudgets without sharding, want none", n)
	}
	if n := len(render(t, chartDir, "myrel", "--set", "sharding.enabled=true,podDisruptionBudget.enabled=false").all("PodDisruptionBudget")); n != 0 {
		t.Errorf("%d PodDisruptionBudgets with podDisruptionBudget.enabled=false, want none", n)
	}
	for _, tc := range []struct {
		name              string
		args              []string
		maxUnav, minAvail any
		policy            string
	}{
		{"defaults", []string{"--set", "sharding.enabled=true"}, 1, nil, ""},
		{"percentage", []string{"--set", "sharding.enabled=true,podDisruptionBudget.maxUnavailable=25%"}, "25%", nil, ""},
		{"all-values", []string{"--values", allValuesPath, "--values", shardingValuesPath}, nil, "50%", "AlwaysAllow"},
	} {
		r := render(t, chartDir, "myrel", tc.args...)
		var p pdb
		o := r.one(t, "PodDisruptionBudget", &p)
		d, _ := exporter(t, r)
		if d.Kind != "StatefulSet" || !subset(p.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
			t.Errorf("%s: %s selector %v does not select the StatefulSet's pods", tc.name, o, p.Spec.Selector.MatchLabels)
		}
		if !reflect.DeepEqual(p.Spec.MaxUnavailable, tc.maxUnav) || !reflect.DeepEqual(p.Spec.MinAvailable, tc.minAvail) || p.Spec.UnhealthyPodEvictionPolicy != tc.policy {
			t.Errorf("%s: maxUnavailable %v, minAvailable %v, policy %q; want %v, %v, %q", tc.name,
				p.Spec.MaxUnavailable, p.Spec.MinAvailable, p.Spec.UnhealthyPodEvictionPolicy, tc.maxUnav, tc.minAvail, tc.policy)
		}
	}
}

type scrapeEndpoint struct {
	Scheme    string         `yaml:"scheme"`
	TLSConfig map[string]any `yaml:"tlsConfig"`
	BasicAuth map[string]any `yaml:"basicAuth"`
}

// TestChartTLS checks webConfig and the ServiceMonitor's TLS and basic
// auth: the web configuration mounted and passed, the probes adapted, the
// ServiceMonitor scraping over HTTPS with the CA and credentials given.
func TestChartTLS(t *testing.T) {
	t.Parallel()
	const webFlag = "--web.config.file=/etc/entra-authmethods-exporter-web/web-config.yml"
	var values struct {
		WebConfig struct {
			ExistingSecret string `yaml:"existingSecret"`
		} `yaml:"webConfig"`
		ServiceMonitor scrapeEndpoint `yaml:"serviceMonitor"`
	}
	raw, err := os.ReadFile(tlsValuesPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"tls-values", []string{"--values", tlsValuesPath}},
		{"all-values, tls-values, sharded", []string{"--values", allValuesPath, "--values", tlsValuesPath, "--values", shardingValuesPath}},
	} {
		r := render(t, chartDir, "myrel", tc.args...)
		checkWiring(t, r)
		d, c := exporter(t, r)
		if !slices.Contains(c.Args, webFlag) {
			t.Errorf("%s: args %v, want %s", tc.name, c.Args, webFlag)
		}
		var mounted bool
		for _, m := range c.VolumeMounts {
			if m.Name == "web-config" && m.MountPath == "/etc/entra-authmethods-exporter-web" && m.ReadOnly {
				mounted = true
			}
		}
		var volume bool
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == "web-config" && v.Secret != nil && v.Secret.SecretName == values.WebConfig.ExistingSecret {
				volume = true
			}
		}
		if !mounted || !volume {
			t.Errorf("%s: the Secret %s is not mounted read-only at /etc/entra-authmethods-exporter-web", tc.name, values.WebConfig.ExistingSecret)
		}
		// Basic auth: the kubelet sends no credentials, so the probes check the port.
		for name, p := range map[string]probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			if p.HTTPGet != nil || p.TCPSocket == nil || p.TCPSocket.Port != "http" {
				t.Errorf("%s: %s probe %+v, want a tcpSocket check of port http", tc.name, name, p)
			}
		}
		var sm struct {
			Spec struct {
				Endpoints []scrapeEndpoint `yaml:"endpoints"`
			} `yaml:"spec"`
		}
		r.one(t, "ServiceMonitor", &sm)
		ep := sm.Spec.Endpoints[0]
		if ep.Scheme != "https" || !reflect.DeepEqual(ep.TLSConfig, values.ServiceMonitor.TLSConfig) || !reflect.DeepEqual(ep.BasicAuth, values.ServiceMonitor.BasicAuth) {
			t.Errorf("%s: ServiceMonitor endpoint %+v, want scheme https with tls-values' tlsConfig and basicAuth", tc.name, ep)
		}
	}

	// TLS without basic auth: HTTPS probes, and the ServiceMonitor's scheme
	// follows webConfig.tls.
	r := render(t, chartDir, "myrel", "--set", "webConfig.existingSecret=web,webConfig.tls=true")
	_, c := exporter(t, r)
	type httpsProbe struct {
		HTTPGet struct {
			Path   string `yaml:"path"`
			Scheme string `yaml:"scheme"`
		} `yaml:"httpGet"`
	}
	var w struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						LivenessProbe  httpsProbe `yaml:"livenessProbe"`
						ReadinessProbe httpsProbe `yaml:"readinessProbe"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	r.one(t, "Deployment", &w)
	for _, p := range []httpsProbe{w.Spec.Template.Spec.Containers[0].LivenessProbe, w.Spec.Template.Spec.Containers[0].ReadinessProbe} {
		if p.HTTPGet.Scheme != "HTTPS" || p.HTTPGet.Path == "" {
			t.Errorf("webConfig.tls: probe %+v, want httpGet with scheme HTTPS", p)
		}
	}
	if !slices.Contains(c.Args, "--web.config.file=/etc/entra-authmethods-exporter-web/web-config.yml") {
		t.Errorf("webConfig: args %v", c.Args)
	}
	var sm struct {
		Spec struct {
			Endpoints []scrapeEndpoint `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	r.one(t, "ServiceMonitor", &sm)
	if sm.Spec.Endpoints[0].Scheme != "https" {
		t.Errorf("webConfig.tls: ServiceMonitor scheme %q, want https", sm.Spec.Endpoints[0].Scheme)
	}

	// Without webConfig: plain HTTP, no scheme, no flag.
	r = render(t, chartDir, "myrel")
	_, c = exporter(t, r)
	r.one(t, "ServiceMonitor", &sm)
	if sm.Spec.Endpoints[0].Scheme != "" || sm.Spec.Endpoints[0].TLSConfig != nil || slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--web.config.file") }) {
		t.Errorf("defaults: endpoint %+v, args %v: want plain HTTP", sm.Spec.Endpoints[0], c.Args)
	}
}

// TestChartPodExtras checks topologySpreadConstraints, extraVolumes,
// extraVolumeMounts and extraEnvFrom on the Deployment and, sharded, the
// StatefulSet, and the labelSelector a constraint gets when it has none.
func TestChartPodExtras(t *testing.T) {
	t.Parallel()
	var values struct {
		ExtraVolumes      []map[string]any `yaml:"extraVolumes"`
		ExtraVolumeMounts []map[string]any `yaml:"extraVolumeMounts"`
		ExtraEnvFrom      []map[string]any `yaml:"extraEnvFrom"`
		Topology          []map[string]any `yaml:"topologySpreadConstraints"`
	}
	raw, err := os.ReadFile(allValuesPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	if len(values.ExtraVolumes) == 0 || len(values.ExtraVolumeMounts) == 0 || len(values.ExtraEnvFrom) == 0 || len(values.Topology) < 2 {
		t.Fatalf("%s: want extraVolumes, extraVolumeMounts, extraEnvFrom and two topologySpreadConstraints", allValuesPath)
	}
	for _, tc := range []struct {
		kind string
		args []string
	}{
		{"Deployment", []string{"--values", allValuesPath}},
		{"StatefulSet", []string{"--values", allValuesPath, "--values", shardingValuesPath}},
	} {
		r := render(t, chartDir, "myrel", tc.args...)
		var w struct {
			Spec struct {
				Template struct {
					Metadata struct {
						Labels map[string]string `yaml:"labels"`
					} `yaml:"metadata"`
					Spec struct {
						Volumes    []map[string]any `yaml:"volumes"`
						Containers []struct {
							VolumeMounts []map[string]any `yaml:"volumeMounts"`
							EnvFrom      []map[string]any `yaml:"envFrom"`
						} `yaml:"containers"`
						Topology []struct {
							TopologyKey   string `yaml:"topologyKey"`
							LabelSelector struct {
								MatchLabels map[string]string `yaml:"matchLabels"`
							} `yaml:"labelSelector"`
						} `yaml:"topologySpreadConstraints"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		r.one(t, tc.kind, &w)
		ps := w.Spec.Template.Spec
		for _, v := range values.ExtraVolumes {
			if !slices.ContainsFunc(ps.Volumes, func(got map[string]any) bool { return reflect.DeepEqual(got, v) }) {
				t.Errorf("%s: extraVolumes %v not among the volumes", tc.kind, v)
			}
		}
		for _, m := range values.ExtraVolumeMounts {
			if !slices.ContainsFunc(ps.Containers[0].VolumeMounts, func(got map[string]any) bool { return reflect.DeepEqual(got, m) }) {
				t.Errorf("%s: extraVolumeMounts %v not among the mounts", tc.kind, m)
			}
		}
		if !reflect.DeepEqual(ps.Containers[0].EnvFrom, values.ExtraEnvFrom) {
			t.Errorf("%s: envFrom %v, want %v", tc.kind, ps.Containers[0].EnvFrom, values.ExtraEnvFrom)
		}
		if len(ps.Topology) != len(values.Topology) {
			t.Fatalf("%s: %d topologySpreadConstraints, want %d", tc.kind, len(ps.Topology), len(values.Topology))
		}
		// The first has no labelSelector in the values: it gets the pods'.
		if sel := ps.Topology[0].LabelSelector.MatchLabels; !subset(sel, w.Spec.Template.Metadata.Labels) || sel["app.kubernetes.io/instance"] == "" {
			t.Errorf("%s: topologySpreadConstraint without labelSelector got %v, want the release's pod labels", tc.kind, sel)
		}
		if sel := ps.Topology[1].LabelSelector.MatchLabels; len(sel) != 1 {
			t.Errorf("%s: topologySpreadConstraint's own labelSelector became %v", tc.kind, sel)
		}
	}
}
