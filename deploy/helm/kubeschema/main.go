// Command kubeschema writes the JSON schemas kubeconform validates the chart's
// renderings with, offline: those of the Kubernetes kinds, from Kubernetes'
// OpenAPI document (api/openapi-spec/swagger.json of the k8s.io/kubernetes
// module), and those of the Prometheus Operator's kinds, from its CRDs
// (example/prometheus-operator-crd/ of the
// github.com/prometheus-operator/prometheus-operator module), both fetched
// from the Go module proxy with go mod download, so no other network access
// and no Python (openapi2jsonschema) is needed.
//
// The schemas are strict, as kubeconform's -strict expects: every object
// that lists its properties refuses others (additionalProperties: false),
// but where the API server keeps unknown fields
// (x-kubernetes-preserve-unknown-fields) or takes any (a map).
//
//	go run ./deploy/helm/kubeschema -out /tmp/schemas
//
// writes
//
//	/tmp/schemas/kubernetes/v<version>-standalone-strict/<kind>-<group>-<version>.json
//	/tmp/schemas/crds/<group>/<kind>_<version>.json
//
// for kubeconform's
//
//	-schema-location /tmp/schemas/kubernetes
//	-schema-location '/tmp/schemas/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'
//
// -swagger and -crds read local files instead of the modules.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The modules the schemas come from.
const (
	kubernetesModule = "k8s.io/kubernetes"
	operatorModule   = "github.com/prometheus-operator/prometheus-operator"
	swaggerPath      = "api/openapi-spec/swagger.json"
	crdDir           = "example/prometheus-operator-crd"
)

func main() {
	out := flag.String("out", "", "directory to write the schemas to (required)")
	kubeVersion := flag.String("kubernetes-version", "1.33.0", "Kubernetes version, of k8s.io/kubernetes and of kubeconform's -kubernetes-version")
	operatorVersion := flag.String("operator-version", "v0.85.0", "version of the "+operatorModule+" module")
	swagger := flag.String("swagger", "", "Kubernetes' swagger.json to read instead of the module's")
	crds := flag.String("crds", "", "directory of CRD YAML files to read instead of the Operator module's")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, *kubeVersion, *operatorVersion, *swagger, *crds); err != nil {
		fmt.Fprintln(os.Stderr, "kubeschema:", err)
		os.Exit(1)
	}
}

func run(out, kubeVersion, operatorVersion, swagger, crds string) error {
	kubeVersion = strings.TrimPrefix(kubeVersion, "v")
	var err error
	if swagger == "" {
		if swagger, err = modulePath(kubernetesModule, "v"+kubeVersion, swaggerPath); err != nil {
			return err
		}
	}
	if crds == "" {
		if crds, err = modulePath(operatorModule, operatorVersion, crdDir); err != nil {
			return err
		}
	}

	raw, err := os.ReadFile(swagger)
	if err != nil {
		return err
	}
	schemas, err := KubernetesSchemas(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", swagger, err)
	}
	if err := write(filepath.Join(out, "kubernetes", "v"+kubeVersion+"-standalone-strict"), schemas); err != nil {
		return err
	}

	files, err := filepath.Glob(filepath.Join(crds, "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: no CRDs", crds)
	}
	all := map[string][]byte{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		schemas, err := CRDSchemas(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		maps.Copy(all, schemas)
	}
	return write(filepath.Join(out, "crds"), all)
}

// modulePath downloads a module through the Go module proxy (or finds it in
// the module cache) and returns the path of file in it.
func modulePath(module, version, file string) (string, error) {
	tmp, err := os.MkdirTemp("", "kubeschema")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	// Outside any module, so that no go.mod or go.work is read or changed.
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	var info struct {
		Dir   string
		Error string
	}
	if jerr := json.Unmarshal(stdout, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", module, version, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v\n%s", module, version, err, stderr.Bytes())
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no directory in %s", module, version, stdout)
	}
	return filepath.Join(info.Dir, file), nil
}

// write writes the schemas under dir, each at its relative path.
func write(dir string, schemas map[string][]byte) error {
	for name, s := range schemas {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, s, 0o644); err != nil {
			return err
		}
	}
	return nil
}
