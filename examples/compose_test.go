package examples

import (
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

const (
	composeDir  = "docker-compose"
	composePath = composeDir + "/docker-compose.yml"
	rulesDir    = "../deploy/prometheus"
	boardsDir   = "../deploy/grafana-dashboards"
)

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

// mount is a bind mount: a host path (relative to this package) seen at a
// path in the container.
type mount struct{ host, container string }

// hostPath maps a path in a service's container to the host path of the
// bind mount that holds it ("" if none does).
func hostPath(mounts []mount, p string) string {
	best, host := "", ""
	for _, m := range mounts {
		if (p == m.container || strings.HasPrefix(p, m.container+"/")) && len(m.container) > len(best) {
			best, host = m.container, filepath.Join(m.host, strings.TrimPrefix(p, m.container))
		}
	}
	return host
}

// loadCompose decodes docker-compose.yml and checks every volume: a bind
// mount's host path exists, a named volume is declared. It returns each
// service's bind mounts.
func loadCompose(t *testing.T) (composeFile, map[string][]mount) {
	t.Helper()
	var c composeFile
	decodeYAMLFile(t, composePath, &c)
	mounts := map[string][]mount{}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 || len(parts) > 3 || !path.IsAbs(parts[1]) {
				t.Errorf("%s: service %s: volume %q is not source:/target[:mode]", composePath, name, v)
				continue
			}
			src, dst := parts[0], parts[1]
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s: service %s: named volume %s is not declared under volumes", composePath, name, src)
				}
				continue
			}
			host := filepath.Join(composeDir, src)
			if _, err := os.Stat(host); err != nil {
				t.Errorf("%s: service %s mounts %s, which does not exist: %v", composePath, name, src, err)
			}
			if len(parts) != 3 || parts[2] != "ro" {
				t.Errorf("%s: service %s: mount the repository's %s read-only (:ro)", composePath, name, src)
			}
			mounts[name] = append(mounts[name], mount{host, dst})
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s: service %s publishes %s beyond loopback", composePath, name, p)
			}
		}
		if s.Image != "" && (!strings.Contains(s.Image, ":") || strings.HasSuffix(s.Image, ":latest")) {
			t.Errorf("%s: service %s: image %s, want a pinned tag", composePath, name, s.Image)
		}
	}
	return c, mounts
}

// TestComposeFilesParse checks that every YAML file of the example parses.
func TestComposeFilesParse(t *testing.T) {
	n := 0
	err := filepath.WalkDir(composeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (!strings.HasSuffix(p, ".yml") && !strings.HasSuffix(p, ".yaml")) {
			return err
		}
		var v any
		decodeYAMLFile(t, p, &v)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Errorf("%s: %d YAML files, want the compose file, prometheus.yml and two provisioning files", composeDir, n)
	}
}

// TestComposeExporter checks that the exporter is built from this
// repository's Dockerfile and runs the demo with the SSPR outage.
func TestComposeExporter(t *testing.T) {
	c, _ := loadCompose(t)
	s, ok := c.Services["exporter"]
	if !ok || s.Build == nil {
		t.Fatalf("%s: no service exporter built from the repository", composePath)
	}
	dockerfile := s.Build.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	context := filepath.Join(composeDir, s.Build.Context)
	if abs, _ := filepath.Abs(context); abs != mustAbs(t, "..") {
		t.Errorf("%s: exporter built in %s, want the repository's root", composePath, s.Build.Context)
	}
	if _, err := os.Stat(filepath.Join(context, dockerfile)); err != nil {
		t.Errorf("%s: exporter: %v", composePath, err)
	}
	for _, flag := range []string{"--demo", "--demo.sspr-outage"} {
		if !slices.Contains(s.Command, flag) {
			t.Errorf("%s: exporter command %v lacks %s", composePath, s.Command, flag)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestComposePrometheus checks that Prometheus scrapes the exporter as the
// rules' job and loads the shipped rules (not their tests), and has promtool
// check its configuration, with the rule files at their host paths.
func TestComposePrometheus(t *testing.T) {
	c, mounts := loadCompose(t)
	s, ok := c.Services["prometheus"]
	if !ok || !strings.HasPrefix(s.Image, "prom/prometheus:") {
		t.Fatalf("%s: no service prometheus running prom/prometheus", composePath)
	}
	var configFile string
	for _, arg := range s.Command {
		if v, ok := strings.CutPrefix(arg, "--config.file="); ok {
			configFile = v
		}
	}
	host := hostPath(mounts["prometheus"], configFile)
	if host == "" {
		t.Fatalf("%s: prometheus --config.file=%q is not in a mounted file", composePath, configFile)
	}

	var cfg map[string]any
	decodeYAMLFile(t, host, &cfg)
	var pc struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	decodeYAMLFile(t, host, &pc)
	if len(pc.ScrapeConfigs) != 1 || pc.ScrapeConfigs[0].JobName != rules.Defaults().Job ||
		len(pc.ScrapeConfigs[0].StaticConfigs) != 1 || !slices.Equal(pc.ScrapeConfigs[0].StaticConfigs[0].Targets, []string{"exporter:9871"}) {
		t.Errorf("%s: want one scrape config, job %s, target exporter:9871 (the exporter service)", host, rules.Defaults().Job)
	}

	// The rule files as Prometheus will find them, at their host paths.
	want, _ := filepath.Glob(filepath.Join(rulesDir, "*.rules.yml"))
	var loaded, hostRules []string
	for _, rf := range pc.RuleFiles {
		h := hostPath(mounts["prometheus"], rf)
		if h == "" {
			t.Errorf("%s: rule_files %s: not in a mounted directory", host, rf)
			continue
		}
		matches, _ := filepath.Glob(h)
		loaded = append(loaded, matches...)
		hostRules = append(hostRules, mustAbs(t, h))
	}
	slices.Sort(loaded)
	if len(want) == 0 || !slices.Equal(loaded, want) {
		t.Errorf("%s: rule_files %v load %v, want %v (the rules, not their tests)", host, pc.RuleFiles, loaded, want)
	}
	cfg["rule_files"] = hostRules
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapped := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(mapped, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testenv.Tool(t, "promtool"), "check", "config", mapped).CombinedOutput()
	if err != nil || strings.Count(string(out), "rules found") != len(want) {
		t.Errorf("promtool check config %s (rule files at their host paths): %v\n%s", host, err, out)
	}
}

// TestComposeGrafana checks Grafana's provisioning: a default Prometheus
// data source at the prometheus service, and a dashboard provider reading
// the directory where deploy/grafana-dashboards is mounted.
func TestComposeGrafana(t *testing.T) {
	c, mounts := loadCompose(t)
	s, ok := c.Services["grafana"]
	if !ok || !strings.HasPrefix(s.Image, "grafana/grafana:") {
		t.Fatalf("%s: no service grafana running grafana/grafana", composePath)
	}
	provisioning := func(kind string) []string {
		dir := hostPath(mounts["grafana"], "/etc/grafana/provisioning/"+kind)
		if dir == "" {
			t.Fatalf("%s: nothing mounted at /etc/grafana/provisioning/%s", composePath, kind)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		more, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
		if files = append(files, more...); len(files) == 0 {
			t.Fatalf("%s: no provisioning file", dir)
		}
		return files
	}

	var datasources []string
	for _, f := range provisioning("datasources") {
		var p struct {
			APIVersion  int `yaml:"apiVersion"`
			Datasources []struct {
				Name      string `yaml:"name"`
				Type      string `yaml:"type"`
				URL       string `yaml:"url"`
				IsDefault bool   `yaml:"isDefault"`
			} `yaml:"datasources"`
		}
		decodeYAMLFile(t, f, &p)
		if p.APIVersion != 1 {
			t.Errorf("%s: apiVersion %d, want 1", f, p.APIVersion)
		}
		for _, ds := range p.Datasources {
			datasources = append(datasources, ds.Name)
			if ds.Type != "prometheus" || ds.URL != "http://prometheus:9090" || !ds.IsDefault {
				t.Errorf("%s: data source %s: want the default, of type prometheus, at http://prometheus:9090 (the prometheus service)", f, ds.Name)
			}
		}
	}
	if len(datasources) != 1 {
		t.Errorf("provisioned data sources %v, want one (the dashboards pick the default)", datasources)
	}
	if _, ok := c.Services["prometheus"]; !ok {
		t.Errorf("%s: no prometheus service for the data source", composePath)
	}

	boards := mustAbs(t, boardsDir)
	providers := 0
	for _, f := range provisioning("dashboards") {
		var p struct {
			APIVersion int `yaml:"apiVersion"`
			Providers  []struct {
				Name    string `yaml:"name"`
				Type    string `yaml:"type"`
				Options struct {
					Path string `yaml:"path"`
				} `yaml:"options"`
			} `yaml:"providers"`
		}
		decodeYAMLFile(t, f, &p)
		if p.APIVersion != 1 {
			t.Errorf("%s: apiVersion %d, want 1", f, p.APIVersion)
		}
		for _, pr := range p.Providers {
			providers++
			h := hostPath(mounts["grafana"], pr.Options.Path)
			if pr.Type != "file" || h == "" || mustAbs(t, h) != boards {
				t.Errorf("%s: provider %s reads %s, which is not where %s is mounted", f, pr.Name, pr.Options.Path, boardsDir)
			}
		}
	}
	if providers != 1 {
		t.Errorf("%d dashboard providers, want one", providers)
	}
	if home := s.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		if h := hostPath(mounts["grafana"], home); h == "" {
			t.Errorf("%s: the home dashboard %s is not mounted", composePath, home)
		} else if _, err := os.Stat(h); err != nil {
			t.Errorf("%s: the home dashboard: %v", composePath, err)
		}
	}
}
