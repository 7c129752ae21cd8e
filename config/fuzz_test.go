package config

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var (
	validName       = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	validLabelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	validMetricName = regexp.MustCompile(`^entra_authmethods_[a-z0-9_]+$`)
)

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
	f.Add([]byte("defaults: {client_id: c, client_secret_file: s, labels: {x: y}}\ntenants: [{name: a, tenant_id: t}, {name: b, tenant_id: u, auth: azure_cli}]"))
	f.Add([]byte("defaults: {cloud: china, report_poll_intervals: {user_events_summary: 1m}}\ntenants: [{name: a, graph_endpoint: 'https://g'}]"))
	f.Add([]byte("defaults: &d {name: x}\ntenants: [{<<: *d}]"))
	f.Add([]byte("report_poll_intervals: {user_registration_details: 6h, user_events_summary: 1s}\npoll_interval: 1w\ntenants: [{name: a, report_poll_intervals: {}}]"))
	f.Add([]byte("report_poll_intervals: {}\ntenants: [{name: a, labels: {customer: c, __x: y, job: z, a: ''}}]"))
	f.Add([]byte("exclude_metrics: [entra_authmethods_users, entra_authmethods_users, up, [x]]\ntenants: [{name: a}]"))
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
		excluded := map[string]bool{}
		for _, m := range cfg.ExcludeMetrics {
			if !validMetricName.MatchString(m) || excluded[m] {
				t.Fatalf("accepted exclude_metrics entry %q (duplicate: %v)", m, excluded[m])
			}
			excluded[m] = true
		}
		for r, d := range cfg.ReportPollIntervals {
			if !slices.Contains(AllReports(), r) || d < minPollInterval || d > maxPollInterval {
				t.Fatalf("accepted report_poll_intervals %s: %v", r, d)
			}
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
			if len(tn.PollIntervals) != len(tn.Reports) {
				t.Fatalf("poll intervals %v for reports %v", tn.PollIntervals, tn.Reports)
			}
			for _, r := range tn.Reports {
				if d := tn.PollIntervals[r]; d < minPollInterval || d > maxPollInterval {
					t.Fatalf("report %s polled every %v", r, d)
				}
			}
			if len(tn.Labels) > 32 {
				t.Fatalf("%d labels accepted", len(tn.Labels))
			}
			for k, v := range tn.Labels {
				if !validLabelName.MatchString(k) || strings.HasPrefix(k, "__") ||
					slices.Contains([]string{"tenant", "tenant_id", "cloud", "job", "instance"}, k) ||
					v == "" || len(v) > 128 || !utf8.ValidString(v) {
					t.Fatalf("accepted label %q=%q", k, v)
				}
			}
			for _, p := range tn.UsageSummaryPeriods {
				if !slices.Contains(usageSummaryPeriods, p) {
					t.Fatalf("unknown period %q accepted", p)
				}
			}
		}
	})
}
