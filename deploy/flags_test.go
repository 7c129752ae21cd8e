package deploy

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// helpFlagRE is a flag in kingpin's --help: "--name=VALUE", "--[no-]name".
var helpFlagRE = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--(\[no-\])?([a-zA-Z0-9][a-zA-Z0-9._-]*)`)

// binaryFlags builds main's exporter and returns it and the flags its --help
// lists: a boolean's --no-<name> too.
func binaryFlags(t *testing.T) (string, map[string]bool) {
	t.Helper()
	exporter := filepath.Join(t.TempDir(), "entra-authmethods-exporter")
	if out, err := exec.Command("go", "build", "-o", exporter, "../cmd/entra-authmethods-exporter").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(exporter, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help: %v\n%s", exporter, err, out)
	}
	flags := map[string]bool{}
	for _, m := range helpFlagRE.FindAllStringSubmatch(string(out), -1) {
		flags[m[2]] = true
		if m[1] != "" {
			flags["no-"+m[2]] = true
		}
	}
	for _, want := range []string{"config.file", "total-shards", "no-shard.from-hostname"} {
		if !flags[want] {
			t.Fatalf("%s --help: no --%s among %v: is the help's format still kingpin's?\n%s", exporter, want, flags, out)
		}
	}
	return exporter, flags
}

// exporterArgs is the command line of one exporter container in a
// rendering: its command and args, and where it is.
type exporterArgs struct {
	where string
	args  []string
}

// exporterContainers returns the command lines of every container running
// the exporter's image, in any workload kind.
func exporterContainers(t *testing.T, objs kubeObjects) []exporterArgs {
	t.Helper()
	var out []exporterArgs
	for _, o := range objs {
		m := plain(t, o)
		var pod any
		switch o.kind {
		case "Pod":
			pod = field(m, "spec")
		case "CronJob":
			pod = field(m, "spec", "jobTemplate", "spec", "template", "spec")
		default:
			pod = field(m, "spec", "template", "spec")
		}
		for _, list := range []string{"initContainers", "containers"} {
			for i, c := range asList(field(pod, list)) {
				image, _ := field(c, "image").(string)
				if !isExporterImage(image) {
					continue
				}
				var args []string
				for _, key := range []string{"command", "args"} {
					for _, a := range asList(field(c, key)) {
						args = append(args, fmt.Sprint(a))
					}
				}
				out = append(out, exporterArgs{fmt.Sprintf("%s: %s %s %s[%d]", o.source, o.kind, o.name, list, i), args})
			}
		}
	}
	return out
}

// isExporterImage tells whether an image is the exporter's, from its
// repository or a mirror of it (the chart's image.repository).
func isExporterImage(image string) bool {
	repo, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo == "entra-authmethods-exporter" || strings.HasSuffix(repo, "/entra-authmethods-exporter")
}

// flagName is the flag an argument names ("--a.b=c" is a.b), or "".
func flagName(arg string) string {
	if !strings.HasPrefix(arg, "--") || arg == "--" {
		return ""
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
	return name
}

// kustomizeRenderings builds the base, every overlay, and the base with each
// component (a component cannot be built alone).
func kustomizeRenderings(t *testing.T) map[string]kubeObjects {
	t.Helper()
	out := map[string]kubeObjects{kubeBaseDir: kustomizeBuild(t, kubeBaseDir)}
	overlays, _ := filepath.Glob("kubernetes/overlays/*/kustomization.yaml")
	components, _ := filepath.Glob("kubernetes/components/*/kustomization.yaml")
	if len(overlays) == 0 || len(components) == 0 {
		t.Fatalf("no overlays (%v) or no components (%v) under kubernetes/", overlays, components)
	}
	for _, k := range overlays {
		out[filepath.Dir(k)] = kustomizeBuild(t, filepath.Dir(k))
	}
	for _, k := range components {
		dir := t.TempDir()
		rel := func(path string) string { // kustomize takes relative paths only
			abs, err := filepath.Abs(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := filepath.Rel(dir, abs)
			if err != nil {
				t.Fatal(err)
			}
			return filepath.ToSlash(r)
		}
		kustomization := "resources: [" + rel(kubeBaseDir) + "]\ncomponents: [" + rel(filepath.Dir(k)) + "]\n"
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
			t.Fatal(err)
		}
		out[kubeBaseDir+" with "+filepath.Dir(k)] = kustomizeBuild(t, dir)
	}
	return out
}

// chartRenderings renders the chart with its defaults, with each of its
// ci/*.yaml values files, and with all of them at once.
func chartRenderings(t *testing.T) map[string]kubeObjects {
	t.Helper()
	files := chartValuesFiles(t)
	out := map[string]kubeObjects{
		"helm template (defaults)":                                    helmTemplate(t, nil),
		"helm template --values " + strings.Join(files, " --values "): helmTemplate(t, files),
	}
	for _, f := range files {
		out["helm template --values "+f] = helmTemplate(t, []string{f})
	}
	return out
}

// checkConfig is a valid configuration for --config.check.
const checkConfig = `tenants:
  - name: contoso
    tenant_id: 11111111-1111-1111-1111-111111111111
    client_id: 22222222-2222-2222-2222-222222222222
    client_secret: not-a-secret
`

// TestDeployedFlagsExist checks that every flag the Helm chart's templates
// and the kustomize manifests pass to the exporter is a flag of main's
// binary, and that the binary accepts each container's command line as a
// whole (values included): manifests that pass a flag of an unreleased
// exporter, or one since renamed, crash-loop with "unknown long flag".
// Without helm or kustomize it is skipped, except in CI.
func TestDeployedFlagsExist(t *testing.T) {
	renderings := kustomizeRenderings(t)
	for name, objs := range chartRenderings(t) {
		renderings[name] = objs
	}
	exporter, known := binaryFlags(t)
	config := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(config, []byte(checkConfig), 0o644); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(renderings)) {
		containers := exporterContainers(t, renderings[name])
		if len(containers) == 0 {
			t.Errorf("%s: no container runs the exporter's image", name)
		}
		for _, c := range containers {
			unknown := false
			for _, arg := range c.args {
				flag := flagName(arg)
				if flag == "" {
					continue
				}
				seen[flag] = true
				if !known[flag] {
					unknown = true
					t.Errorf("%s (%s): --%s is no flag of main's exporter (its --help lists %v)", c.where, name, flag, slices.Sorted(maps.Keys(known)))
				}
			}
			if unknown {
				continue
			}
			// The whole command line, as the container would run it: kingpin
			// parses every flag and its value (a bad duration, a flag given
			// twice, a level it does not know) and the exporter checks them,
			// with --config.check reading a configuration of our own instead
			// of the pod's (mounted from Secrets that are not here), and no
			// --shard.from-hostname, which needs a pod's host name.
			args := []string{"--config.file=" + config, "--config.check"}
			for i, arg := range c.args {
				switch {
				case i == 0 && !strings.HasPrefix(arg, "-"): // a command naming the binary
				case flagName(arg) == "config.file", arg == "--shard.from-hostname":
				default:
					args = append(args, arg)
				}
			}
			cmd := exec.Command(exporter, args...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s (%s): the exporter refuses %q: %v\n%s", c.where, name, c.args, err, out)
			}
		}
	}
	// The renderings pass at least these; finding none means the test looked
	// in the wrong place.
	for _, want := range []string{"config.file", "config.auto-reload-interval", "total-shards", "shard.from-hostname"} {
		if !seen[want] {
			t.Errorf("no rendering passes --%s: the test no longer finds the exporter's arguments", want)
		}
	}
	t.Logf("flags passed by %d renderings: %v", len(renderings), slices.Sorted(maps.Keys(seen)))
}
