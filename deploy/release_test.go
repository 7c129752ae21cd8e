package deploy

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The release files (.goreleaser.yaml, Dockerfile, Dockerfile.release,
// NOTICE and .github/workflows/) checked for what goreleaser check and
// actionlint do not see. .ci/run also builds a snapshot of the archives and
// lists them.

var updateNotice = flag.Bool("update-notice", false, "rewrite ../NOTICE from the NOTICE files of the modules the release binaries link")

// releaseNoticeRule separates NOTICE's sections: the project's own notice,
// then one per bundled module that has a NOTICE file.
const releaseNoticeRule = "================================================================================"

// TestReleaseNotice keeps ../NOTICE in step with the binaries: after the
// project's own notice, the NOTICE file of every module that `go list -deps
// ./cmd/entra-authmethods-exporter` links on a released platform (the goos and goarch of
// .goreleaser.yaml's builds), verbatim, as section 4(d) of the Apache
// License 2.0 asks of a redistribution. A changed dependency fails it:
// go test ./deploy/ -run TestReleaseNotice -update-notice rewrites NOTICE.
func TestReleaseNotice(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list the modules")
	}
	raw, err := os.ReadFile("../NOTICE")
	if err != nil {
		t.Fatal(err)
	}
	own, _, ok := strings.Cut(string(raw), "\n"+releaseNoticeRule+"\n")
	if !ok || !strings.Contains(own, "entra-authmethods-exporter") || !strings.Contains(own, "Copyright") {
		t.Fatalf("../NOTICE: the project's notice (name, copyright) does not come first, before a line of %d '='", len(releaseNoticeRule))
	}
	var want strings.Builder
	want.WriteString(strings.TrimRight(own, "\n") + "\n")
	for _, m := range releaseModules(t) {
		for _, name := range []string{"NOTICE", "NOTICE.txt", "NOTICE.md"} {
			notice, err := os.ReadFile(filepath.Join(m.dir, name))
			if err != nil {
				continue
			}
			fmt.Fprintf(&want, "\n%s\n%s %s (%s)\n%s\n%s\n", releaseNoticeRule, m.path, m.version, name,
				strings.Repeat("-", len(releaseNoticeRule)), strings.TrimRight(string(notice), " \t\r\n"))
		}
	}
	if *updateNotice {
		if err := os.WriteFile("../NOTICE", []byte(want.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := string(raw); got != want.String() {
		t.Errorf("../NOTICE is not the project's notice plus the bundled modules' NOTICE files (%s); "+
			"go test ./deploy/ -run TestReleaseNotice -update-notice rewrites it", releaseFirstDiff(want.String(), got))
	}
}

type releaseModule struct{ path, version, dir string }

// releaseModules lists the modules linked into the exporter on every
// platform .goreleaser.yaml builds, sorted by path.
func releaseModules(t *testing.T) []releaseModule {
	t.Helper()
	cfg := loadGoreleaser(t)
	seen := map[string]releaseModule{}
	for _, b := range cfg.Builds {
		if b.Main == "" || len(b.Goos) == 0 || len(b.Goarch) == 0 {
			t.Fatalf("../.goreleaser.yaml: build %q names no main, goos or goarch", b.ID)
		}
		for _, goos := range b.Goos {
			for _, goarch := range b.Goarch {
				cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}", b.Main)
				cmd.Dir = ".."
				cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("go list -deps %s (%s/%s): %v", b.Main, goos, goarch, err)
				}
				for line := range strings.Lines(string(out)) {
					f := strings.SplitN(strings.TrimSpace(line), " ", 3)
					if len(f) < 2 {
						continue
					}
					if len(f) < 3 || f[2] == "" {
						t.Fatalf("module %s %s is not in the module cache: go mod download", f[0], f[1])
					}
					seen[f[0]] = releaseModule{f[0], f[1], f[2]}
				}
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("go list found no module")
	}
	mods := make([]releaseModule, 0, len(seen))
	for _, m := range seen {
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b releaseModule) int { return strings.Compare(a.path, b.path) })
	return mods
}

type goreleaserConfig struct {
	ProjectName string `yaml:"project_name"`
	Builds      []struct {
		ID     string   `yaml:"id"`
		Main   string   `yaml:"main"`
		Binary string   `yaml:"binary"`
		Goos   []string `yaml:"goos"`
		Goarch []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		ID              string   `yaml:"id"`
		NameTemplate    string   `yaml:"name_template"`
		WrapInDirectory string   `yaml:"wrap_in_directory"`
		Files           []string `yaml:"files"`
	} `yaml:"archives"`
	SBOMs []struct {
		Artifacts string `yaml:"artifacts"`
	} `yaml:"sboms"`
	Signs []struct {
		Cmd       string   `yaml:"cmd"`
		Artifacts string   `yaml:"artifacts"`
		Args      []string `yaml:"args"`
	} `yaml:"signs"`
	DockerSigns []struct {
		Cmd       string   `yaml:"cmd"`
		Artifacts string   `yaml:"artifacts"`
		Args      []string `yaml:"args"`
	} `yaml:"docker_signs"`
	DockersV2 []struct {
		Dockerfile string   `yaml:"dockerfile"`
		Images     []string `yaml:"images"`
		Platforms  []string `yaml:"platforms"`
		ExtraFiles []string `yaml:"extra_files"`
	} `yaml:"dockers_v2"`
}

func loadGoreleaser(t *testing.T) goreleaserConfig {
	t.Helper()
	var cfg goreleaserConfig
	raw, err := os.ReadFile("../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("../.goreleaser.yaml: %v", err)
	}
	return cfg
}

// TestReleaseGoreleaser checks what a release ships: promu's archive names
// (entra-authmethods-exporter-0.2.0.linux-amd64.tar.gz) wrapped in a
// directory of the same name, LICENSE and NOTICE in every archive and image,
// files that exist, an SBOM of each archive, and cosign signatures of the
// checksums and the images.
func TestReleaseGoreleaser(t *testing.T) {
	cfg := loadGoreleaser(t)
	if len(cfg.Archives) == 0 || len(cfg.DockersV2) == 0 {
		t.Fatal("../.goreleaser.yaml: no archives or no dockers_v2")
	}
	const promu = "{{ .ProjectName }}-{{ .Version }}.{{ .Os }}-{{ .Arch }}"
	for _, a := range cfg.Archives {
		if !strings.HasPrefix(a.NameTemplate, promu) {
			t.Errorf("archive %q: name_template %q, want promu's %s...", a.ID, a.NameTemplate, promu)
		}
		if a.WrapInDirectory != "true" {
			t.Errorf("archive %q: wrap_in_directory %q, want true (a directory named as the archive)", a.ID, a.WrapInDirectory)
		}
		for _, f := range []string{"LICENSE", "NOTICE"} {
			if !slices.Contains(a.Files, f) {
				t.Errorf("archive %q: files lack %s", a.ID, f)
			}
		}
		for _, glob := range a.Files {
			matches, err := filepath.Glob(filepath.Join("..", glob))
			if err != nil || len(matches) == 0 {
				t.Errorf("archive %q: files: %q matches nothing", a.ID, glob)
			}
		}
	}
	for _, d := range cfg.DockersV2 {
		for _, f := range []string{"LICENSE", "NOTICE"} {
			if !slices.Contains(d.ExtraFiles, f) {
				t.Errorf("dockers_v2 %s: extra_files lack %s (the Dockerfile copies it)", d.Dockerfile, f)
			}
		}
		if !slices.Contains(d.Platforms, "linux/amd64") || !slices.Contains(d.Platforms, "linux/arm64") {
			t.Errorf("dockers_v2 %s: platforms %v, want linux/amd64 and linux/arm64", d.Dockerfile, d.Platforms)
		}
	}
	if !slices.ContainsFunc(cfg.SBOMs, func(s struct {
		Artifacts string `yaml:"artifacts"`
	}) bool {
		return s.Artifacts == "archive"
	}) {
		t.Errorf("../.goreleaser.yaml: no sboms entry for the archives")
	}
	keyless := func(what, cmd, artifacts string, args []string) {
		if cmd != "cosign" {
			t.Errorf("%s (%s): cmd %q, want cosign", what, artifacts, cmd)
		}
		for _, a := range args {
			if strings.Contains(a, "--key") {
				t.Errorf("%s (%s): %q: a key, want keyless (the workflow's OIDC identity)", what, artifacts, a)
			}
		}
	}
	var checksums bool
	for _, s := range cfg.Signs {
		checksums = checksums || s.Artifacts == "checksum"
		keyless("signs", s.Cmd, s.Artifacts, s.Args)
	}
	if !checksums {
		t.Error("../.goreleaser.yaml: signs do not sign the checksum file")
	}
	if len(cfg.DockerSigns) == 0 {
		t.Error("../.goreleaser.yaml: no docker_signs: the images are not signed")
	}
	for _, s := range cfg.DockerSigns {
		keyless("docker_signs", s.Cmd, s.Artifacts, s.Args)
	}
}

// releaseFrom matches a FROM line: the optional --platform, the image and
// the stage name.
var releaseFrom = regexp.MustCompile(`^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+\S+)?$`)

// TestReleaseDockerfiles checks both Dockerfiles: every base pinned by
// digest with its tag in the comment above (as image:tag), the final stage
// running as a numeric user (runAsNonRoot can only verify a number), with
// LICENSE and NOTICE; and the same final base in both.
func TestReleaseDockerfiles(t *testing.T) {
	final := map[string]string{}
	for _, name := range []string{"Dockerfile", "Dockerfile.release"} {
		raw, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(raw), "\n")
		var user, last string
		var copied []string
		for i, line := range lines {
			line = strings.TrimSpace(line)
			if m := releaseFrom.FindStringSubmatch(line); m != nil {
				last, user, copied = m[1], "", nil
				ref, digest, ok := strings.Cut(m[1], "@sha256:")
				if !ok || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(digest) {
					t.Errorf("%s:%d: %s is not pinned by digest (image:tag@sha256:...)", name, i+1, m[1])
					continue
				}
				if i == 0 || strings.TrimSpace(lines[i-1]) != "# "+ref {
					t.Errorf("%s:%d: the line above FROM is not the tag, %q", name, i+1, "# "+ref)
				}
				continue
			}
			if u, ok := strings.CutPrefix(line, "USER "); ok {
				user = strings.TrimSpace(u)
			}
			if c, ok := strings.CutPrefix(line, "COPY "); ok && !strings.HasPrefix(c, "--from=") {
				copied = append(copied, strings.Fields(c)...)
			}
		}
		if user != "65532:65532" {
			t.Errorf("%s: the image runs as USER %q, want 65532:65532 (distroless's nonroot, by number)", name, user)
		}
		for _, f := range []string{"LICENSE", "NOTICE"} {
			if !slices.Contains(copied, f) {
				t.Errorf("%s: the image lacks %s", name, f)
			}
		}
		final[name] = last
	}
	if final["Dockerfile"] != final["Dockerfile.release"] {
		t.Errorf("the images' bases differ: Dockerfile %s, Dockerfile.release %s", final["Dockerfile"], final["Dockerfile.release"])
	}
}

// releaseUses matches a step's uses: and the comment after it.
var releaseUses = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*(\S+)\s*(?:#\s*(.*))?$`)

// TestReleaseWorkflows checks the workflows for what actionlint does not:
// every action pinned by a full commit with its release in the comment; CI
// runs .ci/run; the release runs on tags v*, grants nothing at the top and
// id-token only to the jobs that sign, runs goreleaser, and pushes the chart
// to an OCI registry.
func TestReleaseWorkflows(t *testing.T) {
	read := func(name string) string {
		raw, err := os.ReadFile(filepath.Join("..", ".github", "workflows", name))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(raw), "\n") {
			m := releaseUses.FindStringSubmatch(line)
			if m == nil || strings.HasPrefix(m[1], "./") || strings.HasPrefix(m[1], "docker://") {
				continue
			}
			_, ref, _ := strings.Cut(m[1], "@")
			if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(ref) || !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(m[2]) {
				t.Errorf("%s:%d: %s: pin by commit, with the release in a comment (uses: owner/action@<sha> # vX.Y.Z)", name, i+1, strings.TrimSpace(line))
			}
		}
		return string(raw)
	}
	type job struct {
		Permissions map[string]string `yaml:"permissions"`
		Steps       []struct {
			Uses string `yaml:"uses"`
			Run  string `yaml:"run"`
		} `yaml:"steps"`
	}
	type workflow struct {
		On struct {
			Push struct {
				Tags []string `yaml:"tags"`
			} `yaml:"push"`
		} `yaml:"on"`
		Permissions map[string]string `yaml:"permissions"`
		Jobs        map[string]job    `yaml:"jobs"`
	}
	decode := func(name, raw string) workflow {
		var w workflow
		if err := yaml.Unmarshal([]byte(raw), &w); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return w
	}

	ci := decode("ci.yml", read("ci.yml"))
	var runsCI bool
	for _, j := range ci.Jobs {
		for _, s := range j.Steps {
			runsCI = runsCI || strings.Contains(s.Run, "bash .ci/run")
		}
	}
	if !runsCI {
		t.Error("ci.yml: no step runs bash .ci/run")
	}
	if ci.Permissions["contents"] != "read" || len(ci.Permissions) != 1 {
		t.Errorf("ci.yml: permissions %v, want contents: read only", ci.Permissions)
	}

	raw := read("release.yml")
	rel := decode("release.yml", raw)
	if !slices.Equal(rel.On.Push.Tags, []string{"v*"}) {
		t.Errorf("release.yml: on push tags %v, want [v*]", rel.On.Push.Tags)
	}
	if len(rel.Permissions) != 0 || !regexp.MustCompile(`(?m)^permissions: \{\}$`).MatchString(raw) {
		t.Errorf("release.yml: top-level permissions %v, want {} (each job asks for its own)", rel.Permissions)
	}
	var goreleaser, chart bool
	for name, j := range rel.Jobs {
		var signs bool
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, "goreleaser/goreleaser-action@") {
				goreleaser, signs = true, true
			}
			if strings.Contains(s.Run, "helm push") && strings.Contains(s.Run, "oci://ghcr.io/") {
				chart = true
			}
			signs = signs || strings.Contains(s.Run, "cosign sign")
		}
		if signs != (j.Permissions["id-token"] == "write") {
			t.Errorf("release.yml: job %s signs: %v, but id-token %q", name, signs, j.Permissions["id-token"])
		}
	}
	if !goreleaser || !chart {
		t.Errorf("release.yml: goreleaser %v, chart pushed to oci://ghcr.io %v; want both", goreleaser, chart)
	}
}

// releaseFirstDiff says where got first differs from want, by line.
func releaseFirstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d: want %q, got %q", i+1, wl, gl)
		}
	}
	return "no difference"
}
