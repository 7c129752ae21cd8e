package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersionPins keeps every place that names the release in step with
// ../VERSION, the one source of the version: the newest CHANGELOG entry,
// the Helm chart's appVersion and the image tag the kustomize base pins.
// The release's tag is v<VERSION>, which .goreleaser.yaml checks.
func TestVersionPins(t *testing.T) {
	version := releaseVersion(t)

	changelog, err := os.ReadFile("../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	newest := regexp.MustCompile(`(?m)^## (\d+\.\d+\.\d+) / \d{4}-\d{2}-\d{2}$`).FindSubmatch(changelog)
	if newest == nil {
		t.Errorf("../CHANGELOG.md: no entry \"## X.Y.Z / YYYY-MM-DD\"")
	} else if string(newest[1]) != version {
		t.Errorf("../CHANGELOG.md: newest entry %s, VERSION %s", newest[1], version)
	}

	var chart struct {
		AppVersion string `yaml:"appVersion"`
	}
	decodeYAMLFile(t, filepath.Join("helm", "entra-authmethods-exporter", "Chart.yaml"), &chart)
	if chart.AppVersion != version {
		t.Errorf("helm/entra-authmethods-exporter/Chart.yaml: appVersion %q, VERSION %s (bump the chart's version too)", chart.AppVersion, version)
	}

	var k struct {
		Images []struct {
			Name   string `yaml:"name"`
			NewTag string `yaml:"newTag"`
		} `yaml:"images"`
	}
	decodeYAMLFile(t, filepath.Join(kubeBaseDir, "kustomization.yaml"), &k)
	if len(k.Images) != 1 || k.Images[0].Name != imageRepository || k.Images[0].NewTag != version {
		t.Errorf("%s/kustomization.yaml: images %+v, want %s with newTag %s", kubeBaseDir, k.Images, imageRepository, version)
	}
}

// releaseVersion returns the release in ../VERSION.
func releaseVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(raw))
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(version) {
		t.Fatalf("../VERSION: %q is not MAJOR.MINOR.PATCH", version)
	}
	return version
}
