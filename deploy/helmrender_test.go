package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

const (
	// The Helm chart, which deploy/helm tests on its own; the tests here
	// read its renderings to hold the kustomize manifests and the binary to
	// what it deploys.
	chartDir = "helm/entra-authmethods-exporter"
	// helm template checks the chart's kubeVersion against this; a helm
	// built with go install would otherwise assume Kubernetes 1.20.
	chartKubeVersion = "1.33.0"
	chartRelease     = "entra-authmethods-exporter"
	chartNamespace   = "monitoring"
)

// helmTemplate renders the chart with the given values files (none: the
// defaults) and more helm template arguments, with the Prometheus Operator's
// kinds available, helm's cache, config and data in a temporary directory
// and no cluster, and decodes every object.
func helmTemplate(t *testing.T, valuesFiles []string, args ...string) kubeObjects {
	t.Helper()
	helm := testenv.Tool(t, "helm")
	home := t.TempDir()
	cmdArgs := []string{"template", chartRelease, chartDir, "--namespace", chartNamespace,
		"--kube-version", chartKubeVersion, "--api-versions", "monitoring.coreos.com/v1"}
	for _, f := range valuesFiles {
		cmdArgs = append(cmdArgs, "--values", f)
	}
	cmdArgs = append(cmdArgs, args...)
	cmd := exec.Command(helm, cmdArgs...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "kubeconfig"),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	source := "helm " + strings.Join(cmdArgs, " ")
	if err != nil {
		t.Fatalf("%s: %v\n%s", source, err, stderr.Bytes())
	}
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
		if node.Kind == 0 || len(node.Content) == 0 || node.Content[0].Kind != yaml.MappingNode {
			continue // an empty document: a template that rendered nothing
		}
		objs = append(objs, newKubeObject(t, source, &node))
	}
	if len(objs) == 0 {
		t.Fatalf("%s: no objects", source)
	}
	return objs
}

// chartValuesFiles returns the chart's ci/*.yaml values files, which
// together set every option.
func chartValuesFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files in %s/ci: %v", chartDir, err)
	}
	return files
}
