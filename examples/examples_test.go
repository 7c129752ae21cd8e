package examples

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

var (
	buildOnce sync.Once
	buildDir  string
	exporter  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// exporterBinary builds the exporter once for the tests that run it.
func exporterBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "examples-test"); buildErr != nil {
			return
		}
		exporter = filepath.Join(buildDir, "entra-authmethods-exporter")
		out, err := exec.Command("go", "build", "-o", exporter, "../cmd/entra-authmethods-exporter").CombinedOutput()
		if err != nil {
			buildErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build ../cmd/entra-authmethods-exporter: %v", buildErr)
	}
	return exporter
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
