package examples

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

const (
	unitPath      = "systemd/entra-authmethods-exporter.service"
	sysconfigPath = "systemd/entra-authmethods-exporter.sysconfig"
	unitBinary    = "/usr/local/bin/entra-authmethods-exporter"
	unitConfig    = "/etc/entra-authmethods-exporter/config.yaml"
	// The highest exposure systemd-analyze security may rate the unit, in
	// tenths (0 is a perfect sandbox, 100 none; the unit rates 14, shown as
	// 1.4, with systemd 252).
	maxExposure = "20"
)

// unitFile is a systemd unit: each section's keys with their values in
// order (a key may be repeated), and the comment lines.
type unitFile struct {
	keys     map[string][]string // "Section.Key"
	comments []string
}

func parseUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{keys: map[string][]string{}}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			u.comments = append(u.comments, line)
		case strings.HasSuffix(line, `\`):
			t.Fatalf("%s:%d: continued lines are not supported by this test", path, n)
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
			}
			key := section + "." + strings.TrimSpace(k)
			u.keys[key] = append(u.keys[key], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// last is a key's effective value: the last one set ("" if unset, and ok false).
func (u unitFile) last(key string) (string, bool) {
	vs := u.keys[key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// TestSystemdUnitDirectives checks, without systemd, that the unit has the
// sandbox and the service settings docs/install.md (systemd) promises.
func TestSystemdUnitDirectives(t *testing.T) {
	u := parseUnit(t, unitPath)
	for key, want := range map[string]string{
		"Service.Type":                  "simple",
		"Service.DynamicUser":           "yes",
		"Service.ProtectSystem":         "strict",
		"Service.ProtectHome":           "yes",
		"Service.PrivateTmp":            "yes",
		"Service.PrivateDevices":        "yes",
		"Service.NoNewPrivileges":       "yes",
		"Service.RestrictSUIDSGID":      "yes",
		"Service.CapabilityBoundingSet": "",
		"Service.AmbientCapabilities":   "",
		"Service.Restart":               "on-failure",
		"Service.EnvironmentFile":       "/etc/sysconfig/entra-authmethods-exporter",
		"Service.ExecReload":            "/bin/kill -HUP $MAINPID",
		"Install.WantedBy":              "multi-user.target",
	} {
		if got, ok := u.last(key); !ok || got != want {
			t.Errorf("%s: %s=%q (set: %v), want %q", unitPath, key, got, ok, want)
		}
	}

	families, _ := u.last("Service.RestrictAddressFamilies")
	if got := strings.Fields(families); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"AF_INET", "AF_INET6", "AF_UNIX"}) {
		t.Errorf("%s: RestrictAddressFamilies=%s, want AF_INET AF_INET6 AF_UNIX", unitPath, families)
	}
	if filters := u.keys["Service.SystemCallFilter"]; !slices.Contains(filters, "@system-service") {
		t.Errorf("%s: SystemCallFilter=%v, want @system-service among them", unitPath, filters)
	}
	if mem, _ := u.last("Service.MemoryMax"); !regexp.MustCompile(`^[1-9][0-9]*[KMG]$`).MatchString(mem) {
		t.Errorf("%s: MemoryMax=%q, want a size such as 256M (the exporter sets GOMEMLIMIT from it)", unitPath, mem)
	}

	// $ARGS unbraced, so that systemd splits it into words.
	start, _ := u.last("Service.ExecStart")
	if fields := strings.Fields(start); len(fields) != 2 || fields[0] != unitBinary || fields[1] != "$ARGS" {
		t.Errorf("%s: ExecStart=%q, want %s $ARGS", unitPath, start, unitBinary)
	}

	// The credential's path, as the comments tell config.yaml to use it.
	cred, ok := u.last("Service.LoadCredential")
	id, source, _ := strings.Cut(cred, ":")
	if !ok || id == "" || !filepath.IsAbs(source) {
		t.Fatalf("%s: LoadCredential=%q, want id:/absolute/path", unitPath, cred)
	}
	want := "client_secret_file: /run/credentials/" + filepath.Base(unitPath) + "/" + id
	if !slices.ContainsFunc(u.comments, func(c string) bool { return strings.Contains(c, want) }) {
		t.Errorf("%s: no comment shows %q, where systemd puts credential %s", unitPath, want, id)
	}
}

// TestSystemdAnalyze has systemd-analyze verify the unit and rate its
// sandbox, with ExecStart pointing at a freshly built exporter (verify
// checks that the program exists).
func TestSystemdAnalyze(t *testing.T) {
	analyze := testenv.Tool(t, "systemd-analyze")
	raw, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "ExecStart="+unitBinary+" ") {
		t.Fatalf("%s: ExecStart does not run %s", unitPath, unitBinary)
	}
	unit := filepath.Join(t.TempDir(), filepath.Base(unitPath))
	raw = []byte(strings.ReplaceAll(string(raw), "ExecStart="+unitBinary+" ", "ExecStart="+exporterBinary(t)+" "))
	if err := os.WriteFile(unit, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	// verify warns about unknown keys and bad values but still exits 0.
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=yes", "--threshold="+maxExposure, unit).CombinedOutput()
	level := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || level == nil {
		t.Errorf("systemd-analyze security %s: %v (exposure at most %s tenths wanted)\n%s", unitPath, err, maxExposure, out)
	} else {
		t.Logf("exposure level %s (at most %s tenths)", level[1], maxExposure)
	}
}

// TestSystemdSysconfig checks that the EnvironmentFile sets ARGS to flags
// the exporter accepts: it runs them with --config.check on a configuration
// in place of /etc/entra-authmethods-exporter/config.yaml.
func TestSystemdSysconfig(t *testing.T) {
	raw, err := os.ReadFile(sysconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for n, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`).MatchString(k) {
			t.Fatalf("%s:%d: not a VARIABLE=value line: %q", sysconfigPath, n+1, line)
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		vars[k] = v
	}
	args := strings.Fields(vars["ARGS"])
	if len(args) == 0 {
		t.Fatalf("%s: no ARGS", sysconfigPath)
	}
	i := slices.Index(args, "--config.file="+unitConfig)
	if i < 0 {
		t.Fatalf("%s: ARGS %v lack --config.file=%s", sysconfigPath, args, unitConfig)
	}

	dir := t.TempDir()
	secret := filepath.Join(dir, "client-secret")
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(secret, []byte("abc8Q~0123456789abcdefghijklmnopqrstuvwx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte(`tenants:
  - name: contoso
    tenant_id: 00000000-0000-0000-0000-000000000000
    client_id: 00000000-0000-0000-0000-000000000000
    client_secret_file: `+secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args[i] = "--config.file=" + config
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, exporterBinary(t), append(args, "--config.check")...).CombinedOutput()
	if err != nil {
		t.Errorf("entra-authmethods-exporter %s --config.check: %v\n%s", strings.Join(args, " "), err, out)
	}
}
