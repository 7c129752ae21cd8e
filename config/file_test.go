package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const minimalConfig = "tenants: [{name: a, auth: azure_cli}]\n"

// The configuration file may be a symlink to a regular file (Kubernetes
// mounts a ConfigMap so); anything else, or a huge file, is refused.
func TestLoadFileKinds(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "..data", "config.yaml")
	if err := os.Mkdir(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte(minimalConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config.yaml")
	if err := os.Symlink(filepath.Join("..data", "config.yaml"), link); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(link); err != nil || len(c.Tenants) != 1 {
		t.Errorf("symlink: got %v", err)
	}

	_, err := Load(dir)
	if want := "read config file: open " + dir + ": not a regular file: it is a directory"; err == nil || err.Error() != want {
		t.Errorf("directory: got %v, want %s", err, want)
	}

	huge := filepath.Join(dir, "huge.yaml")
	if err := os.WriteFile(huge, []byte(minimalConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 16<<20+1); err != nil { // sparse: cheap
		t.Fatal(err)
	}
	_, err = Load(huge)
	if want := "read config file: " + huge + ": larger than 16 MiB, the most a configuration file may be"; err == nil || err.Error() != want {
		t.Errorf("huge: got %v, want %s", err, want)
	}
	if err := os.Truncate(huge, 16<<20); err != nil {
		t.Fatal(err)
	}
	// 16 MiB is read (and then refused for its NUL bytes, not its size).
	if _, err = Load(huge); err == nil || strings.Contains(err.Error(), "16 MiB") {
		t.Errorf("16 MiB: got %.200v", err)
	}
}
