package deploy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// plain decodes an object into plain data (maps, lists, scalars).
func plain(t *testing.T, o kubeObject) map[string]any {
	t.Helper()
	var m map[string]any
	o.into(t, &m)
	return m
}

// field returns the value at path in plain data: map keys, and list
// indexes as ints; nil where there is none.
func field(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// one returns the one object of a kind among objs, as plain data.
func one(t *testing.T, objs kubeObjects, kind, source string) map[string]any {
	t.Helper()
	ms := objs.ofKind(kind)
	if len(ms) != 1 {
		t.Fatalf("%s: want one %s, got %d", source, kind, len(ms))
	}
	return plain(t, ms[0])
}

// parityCheck is a field of one kind that the chart's rendering and the
// kustomize build must agree on.
type parityCheck struct {
	kind string
	path []any
	why  string
}

func (c parityCheck) String() string {
	var parts []string
	for _, p := range c.path {
		switch k := p.(type) {
		case int:
			parts[len(parts)-1] += fmt.Sprintf("[%d]", k)
		default:
			parts = append(parts, fmt.Sprint(k))
		}
	}
	return c.kind + " " + strings.Join(parts, ".")
}

// podParity are the fields of the exporter's workload (Deployment or
// StatefulSet) that do not depend on names: what the pod runs and how
// safely.
func podParity(kind string) []parityCheck {
	pod := []any{"spec", "template", "spec"}
	container := append(pod[:len(pod):len(pod)], "containers", 0)
	at := func(base []any, path ...any) []any { return append(base[:len(base):len(base)], path...) }
	return []parityCheck{
		{kind, []any{"spec", "replicas"}, "one pod (or one per shard)"},
		{kind, []any{"spec", "strategy"}, "Recreate: two pods never poll Graph at once"},
		{kind, []any{"spec", "podManagementPolicy"}, "shards start together"},
		{kind, []any{"spec", "template", "metadata", "labels", "azure.workload.identity/use"}, "the workload identity webhook"},
		{kind, at(pod, "automountServiceAccountToken"), "the exporter never calls the Kubernetes API"},
		{kind, at(pod, "securityContext"), "the pod's security context"},
		{kind, at(container, "imagePullPolicy"), ""},
		{kind, at(container, "args"), "the same flags"},
		{kind, at(container, "ports"), ""},
		{kind, at(container, "livenessProbe"), ""},
		{kind, at(container, "readinessProbe"), ""},
		{kind, at(container, "resources"), "requests, the memory limit, no CPU limit"},
		{kind, at(container, "securityContext"), "the container's security context"},
		{kind, at(container, "volumeMounts", 0, "mountPath"), "the configuration's directory"},
		{kind, at(container, "volumeMounts", 0, "readOnly"), ""},
	}
}

// objectParity are the fields of the other objects that must agree.
var objectParity = []parityCheck{
	{"ServiceAccount", []any{"automountServiceAccountToken"}, "no Kubernetes API token"},
	{"Service", []any{"spec", "type"}, ""},
	{"Service", []any{"spec", "clusterIP"}, "headless when sharded"},
	{"Service", []any{"spec", "ports"}, ""},
	{"ServiceMonitor", []any{"spec", "endpoints", 0, "port"}, ""},
	{"ServiceMonitor", []any{"spec", "endpoints", 0, "path"}, ""},
	{"ServiceMonitor", []any{"spec", "endpoints", 0, "interval"}, ""},
	{"ServiceMonitor", []any{"spec", "endpoints", 0, "scrapeTimeout"}, ""},
}

// checkParity compares the chart's rendering with a kustomize build, field
// by field.
func checkParity(t *testing.T, chart, kustomize kubeObjects, kind, chartSource, kustomizeSource string) {
	t.Helper()
	for _, c := range append(podParity(kind), objectParity...) {
		want := field(one(t, chart, c.kind, chartSource), c.path...)
		got := field(one(t, kustomize, c.kind, kustomizeSource), c.path...)
		if !reflect.DeepEqual(got, want) {
			why := ""
			if c.why != "" {
				why = " (" + c.why + ")"
			}
			t.Errorf("%s%s: %s has %v, the chart's defaults (%s) %v", c, why, kustomizeSource, got, chartSource, want)
		}
	}

	// The image: the same repository (the tag is VERSION in both, which
	// TestVersionPins and the chart's tests check).
	image := func(objs kubeObjects, source string) string {
		img, _ := field(one(t, objs, kind, source), "spec", "template", "spec", "containers", 0, "image").(string)
		repo, _, _ := strings.Cut(img, "@")
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		return repo
	}
	if got, want := image(kustomize, kustomizeSource), image(chart, chartSource); got != want || got != imageRepository {
		t.Errorf("image repository: %s has %s, the chart %s, want %s", kustomizeSource, got, want, imageRepository)
	}

	// The job the rules and dashboards read: the chart relabels it, the base
	// takes it from the Service's app.kubernetes.io/name label.
	chartJob := ""
	for _, r := range asList(field(one(t, chart, "ServiceMonitor", chartSource), "spec", "endpoints", 0, "relabelings")) {
		if field(r, "targetLabel") == "job" {
			chartJob, _ = field(r, "replacement").(string)
		}
	}
	sm := one(t, kustomize, "ServiceMonitor", kustomizeSource)
	jobLabel, _ := field(sm, "spec", "jobLabel").(string)
	baseJob, _ := field(one(t, kustomize, "Service", kustomizeSource), "metadata", "labels", jobLabel).(string)
	if chartJob == "" || baseJob != chartJob {
		t.Errorf("job: %s scrapes as job %q (jobLabel %q), the chart as %q", kustomizeSource, baseJob, jobLabel, chartJob)
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestKustomizeBaseMatchesChartDefaults holds the kustomize base to the
// Helm chart's defaults: a team choosing either gets the same pod, the same
// hardening, resources, probes and flags, and the same scrape.
func TestKustomizeBaseMatchesChartDefaults(t *testing.T) {
	chart := helmTemplate(t, nil)
	checkParity(t, chart, kustomizeBuild(t, kubeBaseDir), "Deployment", "helm template (defaults)", "kustomize build "+kubeBaseDir)
}

// TestKustomizeShardedMatchesChartSharding does the same for sharding: the
// sharded component on the base against the chart with sharding.enabled and
// its default number of shards.
func TestKustomizeShardedMatchesChartSharding(t *testing.T) {
	chart := helmTemplate(t, nil, "--set", "sharding.enabled=true", "--set", fmt.Sprintf("sharding.totalShards=%d", shards))
	checkParity(t, chart, kustomizeBuild(t, kubeShardedDir), "StatefulSet", "helm template (sharding.enabled)", "kustomize build "+kubeShardedDir)
}
