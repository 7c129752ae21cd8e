package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

const (
	// The label kube-prometheus-stack's Prometheus selects by, and the
	// component's value of it (the chart's default release name).
	releaseLabel   = "release"
	defaultRelease = "kube-prometheus-stack"
	// The label kube-prometheus-stack's Grafana sidecar loads dashboards by.
	dashboardLabel = "grafana_dashboard"
	// kubectl apply (client-side) keeps the whole object in an annotation,
	// and a object's annotations may hold at most 256 KiB.
	maxAppliedObject = 256 << 10

	// The sharded component, its example overlay, and the number of shards
	// they run.
	kubeShardedComponentDir = "kubernetes/components/sharded"
	kubeShardedDir          = "kubernetes/overlays/sharded"
	shards                  = 3
)

// hashedConfigMapRE is the configuration ConfigMap's name with kustomize's
// content hash, which makes a changed configuration roll the pod.
var hashedConfigMapRE = regexp.MustCompile(`^` + regexp.QuoteMeta(kubeConfigMapName) + `-[a-z0-9]{10}$`)

// kustomizeBuild runs kustomize build on dir and decodes every object.
func kustomizeBuild(t *testing.T, dir string) kubeObjects {
	t.Helper()
	kustomize := testenv.Tool(t, "kustomize")
	var stderr bytes.Buffer
	cmd := exec.Command(kustomize, "build", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kustomize build %s: %v\n%s", dir, err, stderr.Bytes())
	}
	source := "kustomize build " + dir
	var objs kubeObjects
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		objs = append(objs, newKubeObject(t, source, &node))
	}
	if len(objs) == 0 {
		t.Fatalf("%s: no objects", source)
	}
	return objs
}

// metadataOf decodes an object's metadata.
func metadataOf(t *testing.T, o kubeObject) kubeMetadata {
	t.Helper()
	var v struct {
		Metadata kubeMetadata `yaml:"metadata"`
	}
	o.into(t, &v)
	return v.Metadata
}

// deploymentOf decodes the one Deployment's (or StatefulSet's) container
// image and the ConfigMaps its pods mount.
func deploymentOf(t *testing.T, objs kubeObjects) (image string, configMaps []string) {
	t.Helper()
	var d kubeDeployment
	objs.exporterWorkload(t, &d)
	for _, c := range d.Spec.Template.Spec.Containers {
		image = c.Image
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			configMaps = append(configMaps, v.ConfigMap.Name)
		}
	}
	return image, configMaps
}

// checkBuild runs the checks every build must pass: those of the files,
// and what kustomize adds (the configuration's hash, the image tag).
func checkBuild(t *testing.T, objs kubeObjects) {
	t.Helper()
	checkDeployment(t, objs)
	checkServiceAndServiceMonitor(t, objs)

	cm, _ := objs.configMap(t)
	if !hashedConfigMapRE.MatchString(cm.Metadata.Name) {
		t.Errorf("ConfigMap %s: want %s-<hash>, so that a changed configuration rolls the pod", cm.Metadata.Name, kubeConfigMapName)
	}
	image, mounted := deploymentOf(t, objs)
	if want := imageRepository + ":" + releaseVersion(t); image != want {
		t.Errorf("exporter: image %q, want %q (images: in %s/kustomization.yaml)", image, want, kubeBaseDir)
	}
	if !slices.Contains(mounted, cm.Metadata.Name) {
		t.Errorf("exporter mounts ConfigMaps %v, not %s", mounted, cm.Metadata.Name)
	}

	// The PrometheusRule reaches the cluster as generated.
	var built, file struct {
		Spec any `yaml:"spec"`
	}
	objs.decode(t, "PrometheusRule", &built)
	decodeYAMLFile(t, prometheusRulePath, &file)
	if !reflect.DeepEqual(built.Spec, file.Spec) {
		t.Errorf("the built PrometheusRule's spec differs from %s", prometheusRulePath)
	}
	for _, o := range objs {
		if metadataOf(t, o).Labels["app.kubernetes.io/name"] != "entra-authmethods-exporter" {
			t.Errorf("%s %s: no label app.kubernetes.io/name: entra-authmethods-exporter", o.kind, o.name)
		}
	}
}

// releaseLabels returns the release label of the ServiceMonitor and the
// PrometheusRule ("" when unset).
func releaseLabels(t *testing.T, objs kubeObjects) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		ms := objs.ofKind(kind)
		if len(ms) != 1 {
			t.Fatalf("want one %s, got %d", kind, len(ms))
		}
		got[kind] = metadataOf(t, ms[0]).Labels[releaseLabel]
	}
	return got
}

// TestKustomizeBase builds the base: everything the exporter needs, with no
// label of any particular Prometheus installation.
func TestKustomizeBase(t *testing.T) {
	objs := kustomizeBuild(t, kubeBaseDir)
	checkBuild(t, objs)
	for kind, release := range releaseLabels(t, objs) {
		if release != "" {
			t.Errorf("%s: label release=%q in the base; the component sets it", kind, release)
		}
	}
	for _, o := range objs {
		if _, ok := metadataOf(t, o).Labels[dashboardLabel]; ok {
			t.Errorf("%s %s: a dashboard in the base; the component ships them", o.kind, o.name)
		}
	}
}

// TestKustomizeKubePrometheusStack builds the example overlay: the base with
// the kube-prometheus-stack component, in one namespace, with its own
// configuration and client ID.
func TestKustomizeKubePrometheusStack(t *testing.T) {
	objs := kustomizeBuild(t, kubeExampleDir)
	checkBuild(t, objs)
	for kind, release := range releaseLabels(t, objs) {
		if release != defaultRelease {
			t.Errorf("%s: label release=%q, want %q (kube-prometheus-stack selects by it)", kind, release, defaultRelease)
		}
	}
	checkDashboardConfigMaps(t, objs)

	// One namespace for all, Grafana's, where the sidecar finds the dashboards.
	namespaces := map[string]bool{}
	for _, o := range objs {
		namespaces[metadataOf(t, o).Namespace] = true
	}
	if len(namespaces) != 1 || namespaces[""] {
		t.Errorf("objects in namespaces %v, want one namespace for all", sortedKeys(namespaces))
	}

	// The overlay's configuration replaces the base's, under another name.
	base, _ := kustomizeBuild(t, kubeBaseDir).configMap(t)
	example, _ := objs.configMap(t)
	if base.Metadata.Name == example.Metadata.Name || base.Data["config.yaml"] == example.Data["config.yaml"] {
		t.Errorf("the example overlay's configuration did not replace the base's (ConfigMap %s)", example.Metadata.Name)
	}
}

// checkDashboardConfigMaps checks that every dashboard of
// deploy/grafana-dashboards is in a ConfigMap of its own, labelled for
// Grafana's sidecar, byte for byte, small enough for kubectl apply.
func checkDashboardConfigMaps(t *testing.T, objs kubeObjects) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if len(files) == 0 {
		t.Fatalf("no dashboards in %s", dashboardsDir)
	}
	want := map[string][]byte{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want[filepath.Base(f)] = raw
	}
	var k kustomization
	decodeYAMLFile(t, filepath.Join(kubeComponentDir, "kustomization.yaml"), &k)
	generators := map[string]bool{}
	for _, g := range k.ConfigMapGenerator {
		generators[g.Name] = true
	}
	seen := map[string]bool{}
	for _, o := range objs.ofKind("ConfigMap") {
		var cm kubeConfigMap
		o.into(t, &cm)
		if _, ok := cm.Metadata.Labels[dashboardLabel]; !ok {
			continue
		}
		if got := cm.Metadata.Labels[dashboardLabel]; got != "1" {
			t.Errorf("ConfigMap %s: label %s=%q, want \"1\"", o.name, dashboardLabel, got)
		}
		if !generators[o.name] {
			t.Errorf("ConfigMap %s: not a name of %s's configMapGenerator (a hash added? an old one left behind would feed the sidecar too)", o.name, kubeComponentDir)
		}
		if len(cm.Data) != 1 {
			t.Errorf("ConfigMap %s: %d data keys, want one dashboard", o.name, len(cm.Data))
		}
		for key, content := range cm.Data {
			switch {
			case want[key] == nil:
				t.Errorf("ConfigMap %s: %s is no dashboard of %s", o.name, key, dashboardsDir)
			case seen[key]:
				t.Errorf("ConfigMap %s: %s shipped twice", o.name, key)
			case content != string(want[key]):
				t.Errorf("ConfigMap %s: %s differs from %s/%s", o.name, key, dashboardsDir, key)
			}
			seen[key] = true
			var board struct {
				UID string `json:"uid"`
			}
			if err := json.Unmarshal([]byte(content), &board); err != nil || board.UID == "" {
				t.Errorf("ConfigMap %s: %s is no dashboard JSON with a uid: %v", o.name, key, err)
			}
		}
		var asMap map[string]any
		if err := o.node.Decode(&asMap); err != nil {
			t.Fatal(err)
		}
		if applied, err := json.Marshal(asMap); err != nil || len(applied) >= maxAppliedObject {
			t.Errorf("ConfigMap %s: %d bytes as JSON, over kubectl apply's %d (%v)", o.name, len(applied), maxAppliedObject, err)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("dashboard %s is in no ConfigMap labelled %s", name, dashboardLabel)
		}
	}
}

// TestKustomizeOverlayChanges builds an overlay as a user writes one: another
// release name and another configuration. The release label follows, and
// the configuration's ConfigMap gets a new name that the Deployment mounts,
// so the pod rolls.
func TestKustomizeOverlayChanges(t *testing.T) {
	base, _ := kustomizeBuild(t, kubeBaseDir).configMap(t)

	dir := t.TempDir()
	rel := func(path string) string { // kustomize takes relative paths only
		abs, err := filepath.Abs(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := filepath.Rel(dir, abs)
		if err != nil {
			t.Fatal(err)
		}
		return filepath.ToSlash(r)
	}
	changed := strings.Replace(base.Data["config.yaml"], "poll_interval: 30m", "poll_interval: 15m", 1)
	if changed == base.Data["config.yaml"] {
		t.Fatalf("%s/config.yaml: no poll_interval: 30m to change", kubeBaseDir)
	}
	kustomization := `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [` + rel(kubeBaseDir) + `]
components: [` + rel(kubeComponentDir) + `]
configMapGenerator:
  - name: ` + kubeConfigMapName + `
    behavior: replace
    files: [config.yaml]
patches:
  - target: {group: monitoring.coreos.com, kind: ServiceMonitor|PrometheusRule}
    patch: |-
      - op: add
        path: /metadata/labels/release
        value: prom
`
	for name, content := range map[string]string{"kustomization.yaml": kustomization, "config.yaml": changed} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	objs := kustomizeBuild(t, dir)
	for kind, release := range releaseLabels(t, objs) {
		if release != "prom" {
			t.Errorf("%s: label release=%q, want the overlay's prom", kind, release)
		}
	}
	cm, _ := objs.configMap(t)
	_, mounted := deploymentOf(t, objs)
	switch {
	case cm.Data["config.yaml"] != changed:
		t.Errorf("ConfigMap %s does not hold the overlay's configuration", cm.Metadata.Name)
	case cm.Metadata.Name == base.Metadata.Name || !hashedConfigMapRE.MatchString(cm.Metadata.Name):
		t.Errorf("ConfigMap %s: a changed configuration kept the name %s; the pod would not roll", cm.Metadata.Name, base.Metadata.Name)
	case !slices.Contains(mounted, cm.Metadata.Name):
		t.Errorf("Deployment mounts %v, not the new ConfigMap %s", mounted, cm.Metadata.Name)
	}
}

// TestKustomizeDashboardsAreCopies keeps the component's dashboards (copies,
// since kustomize reads no file outside its root) identical to
// deploy/grafana-dashboards, and each in the component's configMapGenerator.
func TestKustomizeDashboardsAreCopies(t *testing.T) {
	copyDir := filepath.Join(kubeComponentDir, "dashboards")
	const refresh = "go generate ./dashboards/ writes both"
	originals, _ := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	copies, _ := filepath.Glob(filepath.Join(copyDir, "*.json"))
	if len(originals) == 0 {
		t.Fatalf("no dashboards in %s", dashboardsDir)
	}
	names := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	if !slices.Equal(names(originals), names(copies)) {
		t.Errorf("%s holds %v, %s holds %v; %s", dashboardsDir, names(originals), copyDir, names(copies), refresh)
	}
	for _, o := range originals {
		want, _ := os.ReadFile(o)
		got, err := os.ReadFile(filepath.Join(copyDir, filepath.Base(o)))
		if err == nil && !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s; %s", filepath.Join(copyDir, filepath.Base(o)), o, refresh)
		}
	}

	var k kustomization
	file := filepath.Join(kubeComponentDir, "kustomization.yaml")
	decodeYAMLFile(t, file, &k)
	if k.Kind != "Component" {
		t.Errorf("%s: kind %q, want Component", file, k.Kind)
	}
	generated := map[string]int{}
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			generated[filepath.Base(f)]++
			if filepath.Dir(f) != "dashboards" {
				t.Errorf("%s: configMapGenerator %s reads %s, not a file of dashboards/", file, g.Name, f)
			}
		}
	}
	for _, name := range names(originals) {
		if generated[name] != 1 {
			t.Errorf("%s: dashboards/%s is in %d configMapGenerator entries, want 1", file, name, generated[name])
		}
	}
}

// kubeStatefulSet is what the sharded tests read of the StatefulSet beyond
// kubeDeployment.
type kubeStatefulSet struct {
	Spec struct {
		Replicas            *int           `yaml:"replicas"`
		ServiceName         string         `yaml:"serviceName"`
		PodManagementPolicy string         `yaml:"podManagementPolicy"`
		Strategy            map[string]any `yaml:"strategy"`
	} `yaml:"spec"`
}

type kubeService struct {
	Metadata kubeMetadata `yaml:"metadata"`
	Spec     struct {
		ClusterIP string            `yaml:"clusterIP"`
		Selector  map[string]string `yaml:"selector"`
	} `yaml:"spec"`
}

// checkSharded checks what the sharded component makes of the base: one
// StatefulSet of `shards` pods and no Deployment, each pod told the number
// of shards and to take its own from its hostname, governed by the one
// Service, headless and selecting them, which the ServiceMonitor scrapes.
func checkSharded(t *testing.T, objs kubeObjects) {
	t.Helper()
	if n := len(objs.ofKind("Deployment")); n != 0 {
		t.Errorf("%d Deployments beside the StatefulSet: they would poll every tenant again", n)
	}
	var ss kubeStatefulSet
	src := objs.decode(t, "StatefulSet", &ss)
	var d kubeDeployment
	objs.decode(t, "StatefulSet", &d)
	if r := ss.Spec.Replicas; r == nil || *r != shards {
		t.Errorf("%s: StatefulSet: replicas %v, want %d", src, r, shards)
	}
	if ss.Spec.PodManagementPolicy != "Parallel" {
		t.Errorf("%s: StatefulSet: podManagementPolicy %q, want Parallel", src, ss.Spec.PodManagementPolicy)
	}
	if ss.Spec.Strategy != nil {
		t.Errorf("%s: StatefulSet: the Deployment's strategy %v is left, which a StatefulSet does not have", src, ss.Spec.Strategy)
	}
	args := d.Spec.Template.Spec.Containers[0].Args
	for _, flag := range []string{fmt.Sprintf("--total-shards=%d", shards), "--shard.from-hostname"} {
		if n := countOf(args, flag); n != 1 {
			t.Errorf("%s: StatefulSet: args %v hold %s %d times, want once", src, args, flag, n)
		}
	}

	// One Service, so the ServiceMonitor (checkServiceAndServiceMonitor)
	// scrapes each pod once: the StatefulSet's, headless.
	var svc kubeService
	objs.decode(t, "Service", &svc)
	if ss.Spec.ServiceName == "" || ss.Spec.ServiceName != svc.Metadata.Name {
		t.Errorf("%s: StatefulSet: serviceName %q, want the Service %q", src, ss.Spec.ServiceName, svc.Metadata.Name)
	}
	if svc.Spec.ClusterIP != "None" {
		t.Errorf("Service %s: clusterIP %q, want None (headless)", svc.Metadata.Name, svc.Spec.ClusterIP)
	}
	if len(svc.Spec.Selector) == 0 || !subsetOf(svc.Spec.Selector, d.Spec.Template.Metadata.Labels) {
		t.Errorf("Service %s: selector %v does not select the pods %v", svc.Metadata.Name, svc.Spec.Selector, d.Spec.Template.Metadata.Labels)
	}
	if !subsetOf(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
		t.Errorf("%s: StatefulSet: selector %v does not select its pods", src, d.Spec.Selector.MatchLabels)
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

func subsetOf(sub, set map[string]string) bool {
	for k, v := range sub {
		if set[k] != v {
			return false
		}
	}
	return true
}

// podTemplateOf returns the pod template of the exporter's workload as
// plain data, without the shard flags and with the configuration's
// ConfigMap name blanked, which overlays may change.
func podTemplateOf(t *testing.T, objs kubeObjects) map[string]any {
	t.Helper()
	ws := append(objs.ofKind("Deployment"), objs.ofKind("StatefulSet")...)
	if len(ws) != 1 {
		t.Fatalf("want exactly one Deployment or StatefulSet, got %d", len(ws))
	}
	var w struct {
		Spec struct {
			Template map[string]any `yaml:"template"`
		} `yaml:"spec"`
	}
	ws[0].into(t, &w)
	spec, _ := w.Spec.Template["spec"].(map[string]any)
	containers, _ := spec["containers"].([]any)
	for _, c := range containers {
		c := c.(map[string]any)
		args, _ := c["args"].([]any)
		var kept []any
		for _, a := range args {
			if s, _ := a.(string); !strings.HasPrefix(s, "--total-shards=") && s != "--shard.from-hostname" {
				kept = append(kept, a)
			}
		}
		c["args"] = kept
	}
	volumes, _ := spec["volumes"].([]any)
	for _, v := range volumes {
		if cm, ok := v.(map[string]any)["configMap"].(map[string]any); ok {
			cm["name"] = "<configuration>"
		}
	}
	return w.Spec.Template
}

// TestKustomizeSharded builds the sharded example overlay: the checks of
// every build (hardened pod, hashed configuration mounted, pinned image,
// Service and ServiceMonitor), the StatefulSet and its headless Service, and
// the base's pod template otherwise unchanged.
func TestKustomizeSharded(t *testing.T) {
	objs := kustomizeBuild(t, kubeShardedDir)
	checkBuild(t, objs)
	checkSharded(t, objs)
	for kind, release := range releaseLabels(t, objs) {
		if release != defaultRelease {
			t.Errorf("%s: label release=%q, want %q (kube-prometheus-stack selects by it)", kind, release, defaultRelease)
		}
	}
	checkDashboardConfigMaps(t, objs)

	base := kustomizeBuild(t, kubeBaseDir)
	if got, want := podTemplateOf(t, objs), podTemplateOf(t, base); !reflect.DeepEqual(got, want) {
		t.Errorf("the StatefulSet's pod template differs from the base Deployment's beyond the shard flags and the configuration's name:\n%v\nwant\n%v", got, want)
	}
	cm, _ := objs.configMap(t)
	baseCM, _ := base.configMap(t)
	if cm.Metadata.Name == baseCM.Metadata.Name {
		t.Errorf("the sharded overlay's configuration did not replace the base's (ConfigMap %s)", cm.Metadata.Name)
	}
}

// TestKustomizeShardedRenamed builds an overlay of the sharded one with a
// name prefix and suffix: the StatefulSet's serviceName must follow the
// Service's new name (the component's nameReference configuration), and the
// hashed configuration still be mounted.
func TestKustomizeShardedRenamed(t *testing.T) {
	dir := t.TempDir()
	abs, err := filepath.Abs(kubeShardedDir)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		t.Fatal(err)
	}
	kustomization := "resources: [" + filepath.ToSlash(rel) + "]\nnamePrefix: eu-\nnameSuffix: \"-2\"\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	objs := kustomizeBuild(t, dir)
	checkSharded(t, objs)
	var svc kubeService
	objs.decode(t, "Service", &svc)
	if svc.Metadata.Name != "eu-entra-authmethods-exporter-2" {
		t.Errorf("Service %s: the overlay's prefix and suffix not applied", svc.Metadata.Name)
	}
	var configMaps []string
	for _, o := range objs.ofKind("ConfigMap") {
		configMaps = append(configMaps, o.name)
	}
	_, mounted := deploymentOf(t, objs)
	if len(mounted) != 1 || !slices.Contains(configMaps, mounted[0]) || !strings.HasPrefix(mounted[0], "eu-"+kubeConfigMapName+"-2-") {
		t.Errorf("StatefulSet mounts ConfigMaps %v, want the renamed configuration among %v", mounted, configMaps)
	}
}
