package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
)

// --config.auto-reload-interval: a changed file is applied within 3 s,
// without a restart, also when it is replaced as the kubelet replaces a
// mounted ConfigMap (a symlink swap); a broken change is refused and the
// old configuration keeps running.
func TestConfigAutoReload(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tenant := func(id string) *fakegraph.Tenant {
		return &fakegraph.Tenant{TenantID: id, ClientID: "cccccccc-0000-4000-8000-000000000003",
			ClientSecret: "auto-reload-secret", Data: fakegraph.Synthetic(3, 20, time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC))}
	}
	srv.AddTenant(tenant("aaaaaaaa-0000-4000-8000-000000000001"))
	srv.AddTenant(tenant("aaaaaaaa-0000-4000-8000-000000000002"))
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, srv.CACertPEM(), 0o600)
	entry := func(name, id string) string {
		return fmt.Sprintf("  - name: %s\n    tenant_id: %s\n    client_id: cccccccc-0000-4000-8000-000000000003\n"+
			"    client_secret: auto-reload-secret\n    authority_host: %s\n    graph_endpoint: %s\n    reports: [user_registration_details]\n",
			name, id, srv.AuthorityHost(), srv.GraphEndpoint())
	}
	one := "tenants:\n" + entry("one", "aaaaaaaa-0000-4000-8000-000000000001")
	two := one + entry("two", "aaaaaaaa-0000-4000-8000-000000000002")

	// The mounted file as a kubelet lays it out: config.yaml -> ..data/config.yaml,
	// ..data -> a timestamped directory, swapped by renaming a new symlink over it.
	version := 0
	publish := func(content string) {
		version++
		ts := filepath.Join(dir, fmt.Sprintf("..v%d", version))
		os.Mkdir(ts, 0o755)
		os.WriteFile(filepath.Join(ts, "config.yaml"), []byte(content), 0o600)
		tmp := filepath.Join(dir, "..data_tmp")
		os.Remove(tmp)
		if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish(one)
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.Symlink(filepath.Join("..data", "config.yaml"), cfgFile); err != nil {
		t.Fatal(err)
	}
	e := start(t, []string{"SSL_CERT_FILE=" + caFile}, "--config.file="+cfgFile, "--config.allow-custom-endpoints", "--config.auto-reload-interval=1s")
	scrapeHas := func(want string) func() bool {
		return func() bool { _, s := e.get(t, "/metrics"); return strings.Contains(s, want) }
	}
	within := func(d time.Duration, what string, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > d {
				t.Fatalf("%s: not within %v\n%s", what, d, e.log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		return time.Since(start)
	}

	publish(two)
	took := within(3*time.Second, "the second tenant appears", scrapeHas(`entra_authmethods_tenant_info{cloud="public",tenant="two"`))
	t.Logf("a new tenant on /metrics %v after the file changed", took.Round(time.Millisecond))
	if strings.Count(e.log.String(), "starting entra-authmethods-exporter") != 1 {
		t.Error("the exporter restarted")
	}

	publish(two + "    bogus: 1\n")
	within(3*time.Second, "the broken change is refused", scrapeHas("\nentra_authmethods_config_last_reload_successful 0\n"))
	if !strings.Contains(e.log.String(), `unknown key`) {
		t.Errorf("the reason is not logged:\n%s", e.log.String())
	}
	time.Sleep(1500 * time.Millisecond) // a tick or two more: not tried again, and the old one runs
	if _, s := e.get(t, "/metrics"); !strings.Contains(s, `entra_authmethods_report_up{report="user_registration_details",tenant="two"} 1`) {
		t.Error("the old configuration stopped serving after a broken change")
	}
	if n := strings.Count(e.log.String(), "reload failed"); n != 1 {
		t.Errorf("the broken file was tried %d times, want once", n)
	}

	publish(one)
	within(3*time.Second, "the fixed file is applied", func() bool {
		_, s := e.get(t, "/metrics")
		return strings.Contains(s, "\nentra_authmethods_config_last_reload_successful 1\n") && !strings.Contains(s, `tenant="two"`)
	})
	e.stop(t)
}

// --version says what a build is: the release ldflags (as goreleaser and
// the Dockerfile set them), or, without them, what Go recorded from the
// checkout (go install ...@vX records the module version the same way).
func TestVersion(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git: a build cannot record its revision")
	}
	dir := t.TempDir()
	build := func(name string, env []string, args ...string) string {
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, args...), ".")...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := exec.Command(bin, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --version: %v\n%s", name, err, out)
		}
		return string(out)
	}
	const pkg = "github.com/prometheus/common/version"
	release := build("release", nil, "-ldflags", "-X "+pkg+".Version=0.1.0 -X "+pkg+".Revision=0123abc -X "+pkg+".Branch=main -X "+pkg+".BuildDate=20261128-10:00:00")
	for _, want := range []string{"version 0.1.0", "branch: main", "revision: 0123abc", "build date:       20261128-10:00:00"} {
		if !strings.Contains(release, want) {
			t.Errorf("release build: %q lacks %q", release, want)
		}
	}
	plain := build("plain", []string{"GOFLAGS=-buildvcs=true"})
	if strings.Contains(plain, "version dev") || strings.Contains(plain, "revision: unknown") || !strings.Contains(plain, "(commit)") {
		t.Errorf("a build from a checkout does not say what it is:\n%s", plain)
	}
	t.Logf("release build:\n%splain build:\n%s", release, plain)
}
