package config

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var validName = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// FuzzParse feeds arbitrary YAML to Parse: it must never panic, and what it
// accepts must satisfy every rule validation promises.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/good", "testdata/bad"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("tenants: [{name: a, tenant_id: t, client_id: c, client_secret: s}]"))
	f.Add([]byte("tenants:\n  - &x {name: a}\n  - *x\n"))
	f.Add([]byte("poll_interval: 9999999999999h\ntenants: []"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml")
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v: exactly one must be set", cfg != nil, err)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if cfg.PollInterval < minPollInterval || cfg.RequestTimeout <= 0 || cfg.GraphRateLimit.Requests < 1 ||
			cfg.GraphRateLimit.Per <= 0 || cfg.MaxFailureReasons < 1 || cfg.MaxPagesPerPoll < 1 || len(cfg.Tenants) == 0 {
			t.Fatalf("accepted invalid globals: %+v", cfg)
		}
		names := map[string]bool{}
		for _, tn := range cfg.Tenants {
			if !validName.MatchString(tn.Name) || names[tn.Name] {
				t.Fatalf("accepted tenant name %q (duplicate: %v)", tn.Name, names[tn.Name])
			}
			names[tn.Name] = true
			secrets := 0
			for _, s := range []string{tn.ClientSecret, tn.ClientSecretFile, tn.ClientCertificateFile} {
				if s != "" {
					secrets++
				}
			}
			switch tn.Auth {
			case AuthClientSecret:
				if secrets != 1 || tn.ClientCertificateFile != "" {
					t.Fatalf("client_secret auth with %d credentials", secrets)
				}
			case AuthClientCertificate:
				if secrets != 1 || tn.ClientCertificateFile == "" {
					t.Fatalf("certificate auth with %d credentials", secrets)
				}
			case AuthWorkloadIdentity, AuthManagedIdentity, AuthAzureCLI, AuthDefault:
				if secrets != 0 {
					t.Fatalf("%s auth with a secret or certificate", tn.Auth)
				}
			default:
				t.Fatalf("unknown auth %q accepted", tn.Auth)
			}
			if !strings.HasPrefix(tn.AuthorityHost, "https://") || !strings.HasSuffix(tn.AuthorityHost, "/") ||
				!strings.HasPrefix(tn.GraphEndpoint, "https://") || strings.HasSuffix(tn.GraphEndpoint, "/") {
				t.Fatalf("endpoints not normalised: %q %q", tn.AuthorityHost, tn.GraphEndpoint)
			}
			if len(tn.Reports) == 0 {
				t.Fatal("no reports")
			}
			for _, r := range tn.Reports {
				if !slices.Contains(AllReports(), r) {
					t.Fatalf("unknown report %q accepted", r)
				}
			}
			for _, p := range tn.UsageSummaryPeriods {
				if !slices.Contains(UsageSummaryPeriods(), p) {
					t.Fatalf("unknown period %q accepted", p)
				}
			}
		}
	})
}
