package helm

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the chart's copies of the rule file and dashboards (go generate ./deploy/helm/)")

// The chart's copies of the rule file and dashboards.
const (
	filesDir          = chartDir + "/files"
	rulesCopyPath     = filesDir + "/entra-authmethods.rules.yml"
	dashboardsCopyDir = filesDir + "/dashboards"
	refresh           = "run go generate ./deploy/helm/"
)

// TestChartFilesAreCopies keeps files/ of the chart byte-identical to the
// rule file and dashboards it ships: regular files, since Flux's
// GitRepository and Windows checkouts without core.symlinks drop symbolic
// links. -update (go generate ./deploy/helm/) writes them.
func TestChartFilesAreCopies(t *testing.T) {
	want := map[string]string{rulesCopyPath: rulesPath}
	for _, d := range dashboardFiles(t) {
		want[filepath.Join(dashboardsCopyDir, filepath.Base(d))] = d
	}
	if *update {
		if err := os.RemoveAll(filesDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dashboardsCopyDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for dst, src := range want {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var have []string
	err := filepath.WalkDir(filesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			t.Errorf("%s is a symbolic link; %s", path, refresh)
			return nil
		}
		if !d.IsDir() {
			have = append(have, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dst, src := range want {
		w, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(dst)
		if err != nil || !bytes.Equal(got, w) {
			t.Errorf("%s is not a copy of %s (%v); %s", dst, src, err, refresh)
		}
	}
	for _, p := range have {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is a copy of nothing shipped; %s", p, refresh)
		}
	}
	if len(have) != len(want) {
		t.Errorf("%s holds %d files, want %d", filesDir, len(have), len(want))
	}
}

// TestNoSymlinksUnderDeploy checks that nothing under deploy/ is a symbolic
// link: Flux's GitRepository and Windows checkouts drop them.
func TestNoSymlinksUnderDeploy(t *testing.T) {
	var links []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			links = append(links, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(links)
	for _, l := range links {
		t.Errorf("%s is a symbolic link; deploy/ must hold regular files", l)
	}
}
