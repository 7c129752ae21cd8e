package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// secret is the client secret used throughout testdata/bad; no error may
// contain it.
const secret = "S3CRET-VALUE"

var (
	publicAuthority = "https://login.microsoftonline.com/"
	publicGraph     = "https://graph.microsoft.com"
	allPeriods      = []string{"D1", "D7", "D30"}
)

// builtinIntervals are the intervals a file without report_poll_intervals
// gets, written out here rather than taken from the code under test.
var builtinIntervals = map[string]time.Duration{
	UserRegistrationDetails: 6 * time.Hour, UserMFASignInSummary: 6 * time.Hour, UserPasswordResetsSummary: 6 * time.Hour,
	CredentialRegistrationCount: 6 * time.Hour, CredentialRegistrationDetails: 6 * time.Hour, CredentialUsageSummary: 6 * time.Hour,
}

// polled completes an expected Config of a file without
// report_poll_intervals: the built-in intervals, and each tenant's reports
// at them or at poll_interval.
func polled(c *Config) *Config {
	c.ReportPollIntervals = maps.Clone(builtinIntervals)
	for i := range c.Tenants {
		t := &c.Tenants[i]
		t.PollIntervals = map[string]time.Duration{}
		for _, r := range t.Reports {
			t.PollIntervals[r] = cmp.Or(builtinIntervals[r], c.PollInterval)
		}
	}
	return c
}

// defaults returns a Config with every global default and the given tenants.
func defaults(tenants ...Tenant) *Config {
	return &Config{
		PollInterval:      30 * time.Minute,
		RequestTimeout:    60 * time.Second,
		GraphRateLimit:    RateLimit{Requests: 5, Per: 10 * time.Second},
		GraphAppRateLimit: RateLimit{Requests: 122, Per: 10 * time.Second},
		MaxFailureReasons: 20,
		MaxLabelValues:    100,
		MaxPagesPerPoll:   10000,
		Tenants:           tenants,
	}
}

func TestLoadGood(t *testing.T) {
	full := defaults(
		Tenant{
			Name: "contoso", TenantID: "11111111-1111-1111-1111-111111111111", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth: AuthClientSecret, ClientSecretFile: "/run/secrets/contoso",
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports:             []string{CredentialUsageSummary, UserRegistrationDetails, UserEventsSummary},
			UsageSummaryPeriods: []string{"D7", "D30"},
		},
		Tenant{
			Name: "fabrikam", TenantID: "fabrikam.onmicrosoft.com", ClientID: "33333333-3333-3333-3333-333333333333",
			Auth: AuthClientCertificate, ClientCertificateFile: "/run/secrets/fabrikam.pem",
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		},
		Tenant{
			Name: "test", TenantID: "44444444-4444-4444-4444-444444444444", ClientID: "55555555-5555-5555-5555-555555555555",
			Auth: AuthClientSecret, ClientSecret: "not-a-real-secret",
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		},
		Tenant{
			Name: "aks", TenantID: "66666666-6666-6666-6666-666666666666", ClientID: "77777777-7777-7777-7777-777777777777",
			Auth:  AuthManagedIdentity,
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		},
	)
	full.PollInterval = 15 * time.Minute
	full.RequestTimeout = 45 * time.Second
	full.GraphRateLimit = RateLimit{Requests: 4, Per: 12 * time.Second}
	full.MaxFailureReasons = 30
	full.MaxLabelValues = 50
	full.MaxPagesPerPoll = 500

	twoTenants := defaults(
		Tenant{
			Name: "contoso", TenantID: "11111111-1111-1111-1111-111111111111", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth: AuthClientSecret, ClientSecretFile: "/run/secrets/contoso",
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		},
		Tenant{
			Name: "fabrikam.prod_2", TenantID: "33333333-3333-3333-3333-333333333333", ClientID: "44444444-4444-4444-4444-444444444444",
			Auth: AuthClientSecret, ClientSecretFile: "/run/secrets/fabrikam",
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: []string{UserEventsSummary}, UsageSummaryPeriods: allPeriods,
		},
	)
	twoTenants.PollInterval = time.Hour

	overrides := defaults(Tenant{
		Name: "lab", Auth: AuthAzureCLI,
		Cloud: "usgovernment", AuthorityHost: "https://login.example.test:8443/base/", GraphEndpoint: "https://graph.example.test/v",
		Reports:             []string{CredentialRegistrationCount, CredentialUsageDetails, UserPasswordResetsSummary},
		UsageSummaryPeriods: []string{"D1", "D30"},
	})
	overrides.RequestTimeout = 90 * time.Second
	overrides.GraphRateLimit.Requests = 2
	overrides.MaxFailureReasons = 1

	// defaults.yaml: what each tenant takes from defaults, and what not.
	usgov := func(t Tenant) Tenant {
		t.Cloud, t.AuthorityHost, t.GraphEndpoint = "usgovernment", "https://login.microsoftonline.us/", "https://graph.microsoft.us"
		return t
	}
	msp := func(t Tenant) Tenant {
		t.ClientID, t.Auth, t.ClientSecretFile = "22222222-2222-2222-2222-222222222222", AuthClientSecret, filepath.Join("testdata", "good", "secrets", "msp-app")
		return t
	}
	inheritedReports := []string{UserRegistrationDetails, UserEventsSummary}
	inheritedIntervals := map[string]time.Duration{UserRegistrationDetails: 12 * time.Hour, UserEventsSummary: 10 * time.Minute}
	inheritedLabels := map[string]string{"managed_by": "msp", "tier": "silver"}
	inherited := defaults(
		usgov(msp(Tenant{
			Name: "inherits", TenantID: "11111111-1111-1111-1111-111111111111",
			Reports: inheritedReports, UsageSummaryPeriods: []string{"D30"},
			PollIntervals: inheritedIntervals, Labels: inheritedLabels,
		})),
		usgov(Tenant{
			Name: "own-certificate", TenantID: "33333333-3333-3333-3333-333333333333", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth: AuthClientCertificate, ClientCertificateFile: "/run/secrets/own.pem",
			Reports: inheritedReports, UsageSummaryPeriods: []string{"D30"},
			PollIntervals: inheritedIntervals, Labels: inheritedLabels,
		}),
		usgov(Tenant{
			Name: "own-auth", TenantID: "44444444-4444-4444-4444-444444444444", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth:    AuthWorkloadIdentity,
			Reports: inheritedReports, UsageSummaryPeriods: []string{"D30"},
			PollIntervals: inheritedIntervals, Labels: inheritedLabels,
		}),
		msp(Tenant{
			Name: "own-endpoint", TenantID: "55555555-5555-5555-5555-555555555555",
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: "https://graph.example.test",
			Reports: inheritedReports, UsageSummaryPeriods: []string{"D30"},
			PollIntervals: inheritedIntervals, Labels: inheritedLabels,
		}),
		usgov(msp(Tenant{
			Name: "own-lists", TenantID: "66666666-6666-6666-6666-666666666666",
			Reports: []string{UserEventsSummary, UserMFASignInSummary}, UsageSummaryPeriods: []string{"D30"},
			// user_events_summary: not the defaults' 10m, as the tenant's
			// own intervals replace them whole.
			PollIntervals: map[string]time.Duration{UserEventsSummary: 20 * time.Minute, UserMFASignInSummary: 2 * time.Hour},
			Labels:        map[string]string{"tier": "gold"},
		})),
		usgov(msp(Tenant{
			Name: "opt-out", TenantID: "88888888-8888-8888-8888-888888888888",
			Reports: inheritedReports, UsageSummaryPeriods: []string{"D30"},
			PollIntervals: map[string]time.Duration{UserRegistrationDetails: 12 * time.Hour, UserEventsSummary: 20 * time.Minute},
		})),
	)
	inherited.Tenants[3].ClientID = "22222222-2222-2222-2222-222222222222"
	inherited.Tenants[4].ClientID = "77777777-7777-7777-7777-777777777777"
	inherited.PollInterval = 20 * time.Minute
	inherited.ReportPollIntervals = map[string]time.Duration{UserRegistrationDetails: 12 * time.Hour}

	// fleet.yaml: 30 tenants of one multi-tenant app.
	var customers []Tenant
	for i := 1; i <= 30; i++ {
		name := fmt.Sprintf("customer%02d", i)
		customers = append(customers, Tenant{
			Name: name, TenantID: fmt.Sprintf("c0ffee%02d-0000-4000-8000-0000000000%02d", i, i), ClientID: "0f0e0d0c-0b0a-4908-8706-050403020100",
			Auth: AuthClientSecret, ClientSecretFile: "/run/secrets/msp-app",
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
			Labels: map[string]string{"customer": name},
		})
	}
	fleet := polled(defaults(customers...))

	tests := map[string]*Config{
		"minimal.yaml": polled(defaults(Tenant{
			Name: "contoso", TenantID: "11111111-1111-1111-1111-111111111111", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth: AuthClientSecret, ClientSecretFile: "/run/secrets/contoso",
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		})),
		"full.yaml":        polled(full),
		"two_tenants.yaml": polled(twoTenants),
		"certificate.yaml": polled(defaults(Tenant{
			Name: "contoso", TenantID: "contoso.onmicrosoft.com", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth: AuthClientCertificate, ClientCertificateFile: "/etc/exporter/cert.pem",
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		})),
		"workload_identity.yaml": polled(defaults(Tenant{
			Name: "aks", TenantID: "11111111-1111-1111-1111-111111111111",
			Auth:  AuthWorkloadIdentity,
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		})),
		"china.yaml": polled(defaults(Tenant{
			Name: "cn", TenantID: "11111111-1111-1111-1111-111111111111", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth: AuthClientSecret, ClientSecret: "not-a-real-secret",
			Cloud: "china", AuthorityHost: "https://login.chinacloudapi.cn/", GraphEndpoint: "https://microsoftgraph.chinacloudapi.cn",
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		})),
		"overrides.yaml": polled(overrides),
		// Load makes relative credential paths relative to the file.
		"relative.yaml": polled(defaults(Tenant{
			Name: "rel", TenantID: "11111111-1111-1111-1111-111111111111", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth: AuthClientCertificate, ClientCertificateFile: filepath.Join("testdata", "good", "certs", "rel.pem"),
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		})),
		"defaults.yaml": inherited,
		"fleet.yaml":    fleet,
	}

	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) != len(tests) {
		t.Errorf("testdata/good has %d files, the test covers %d", len(files), len(tests))
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Load(filepath.Join("testdata", "good", name))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadBad(t *testing.T) {
	tests := map[string][]string{
		"unknown_top_key.yaml":        {`testdata/bad/unknown_top_key.yaml: line 3: unknown key "scrape_interval"`},
		"unknown_tenant_key.yaml":     {`line 7: unknown key "clientsecret" in a tenant`},
		"unknown_rate_limit_key.yaml": {`line 3: unknown key "interval" in a rate limit`},
		"bad_duration.yaml":           {`line 2: request_timeout: "1.5m" is not a valid duration`},
		"duplicate_names.yaml":        {`tenants[2] (contoso): name: "contoso" is already used by tenants[0]`},
		"bad_name.yaml":               {`tenants[0] (contoso prod): name: "contoso prod" may only contain letters, digits`},
		"missing_name.yaml":           {`tenants[0]: name: required`},
		"two_credentials.yaml":        {`tenants[0] (contoso): client_secret, client_certificate_file: give exactly one credential`},
		"auth_and_secret.yaml":        {`tenants[0] (contoso): auth: cannot be combined with client_secret`},
		"unknown_auth.yaml":           {`tenants[0] (contoso): auth: unknown value "client_secret" (known: workload_identity, managed_identity, azure_cli, default)`},
		"missing_ids.yaml": {
			`tenants[0] (contoso): client_id: required for client_secret`,
			`tenants[0] (contoso): tenant_id: required for client_secret`,
		},
		"bad_tenant_id.yaml":            {`tenants[0] (contoso): tenant_id: "1111 1111" is not a valid tenant ID`},
		"unknown_cloud.yaml":            {`tenants[0] (contoso): cloud: unknown cloud "germany" (known: china, public, usgovernment, usgovernment_dod)`},
		"http_authority.yaml":           {`tenants[0] (contoso): authority_host: must be an absolute https:// URL`},
		"graph_query.yaml":              {`tenants[0] (contoso): graph_endpoint: must not have a query or fragment`},
		"relative_url.yaml":             {`graph_endpoint: must be an absolute https:// URL`},
		"url_userinfo.yaml":             {`graph_endpoint: must not contain a user name or password`},
		"unknown_report.yaml":           {`tenants[0] (contoso): reports: unknown report "users_registered_by_method" (known: credential_registration_count, credential_usage_summary, credential_registration_details, credential_usage_details, user_registration_details, user_events_summary, user_mfa_signin_summary, user_password_resets_summary)`},
		"empty_reports.yaml":            {`tenants[0] (contoso): reports: empty`},
		"bad_period.yaml":               {`tenants[0] (contoso): usage_summary_periods: unknown period "d14" (known: D1, D7, D30)`},
		"zero_poll_interval.yaml":       {`line 1: poll_interval: must be greater than 0`},
		"poll_interval_too_short.yaml":  {`poll_interval: must be at least 1s, got 1ms`},
		"zero_max_pages.yaml":           {`max_pages_per_poll: must be at least 1, got 0`},
		"zero_requests.yaml":            {`graph_rate_limit: requests: must be between 1 and 1000, got 0`},
		"slow_rate_limit.yaml":          {`line 2: graph_rate_limit: per: must be at most 1h, got "2h"`},
		"zero_label_values.yaml":        {`max_label_values: must be at least 1, got 0`},
		"poll_interval_too_long.yaml":   {`line 1: poll_interval: must be at most 1w, got "292y"`},
		"request_timeout_too_long.yaml": {`line 1: request_timeout: must be at most 10m, got "1h"`},
		"same_app_twice.yaml":           {`tenants[1] (b): tenant_id and client_id are those of tenants[0] (a)`},
		"secret_in_wrong_field.yaml": {
			`tenants[0] (a): tenant_id: "abc…" (40 characters, not shown whole in case it is a secret) is not a valid tenant ID`,
			`tenants[1] (b): cloud: unknown cloud "abc…" (40 characters, not shown whole`,
			`tenants[2] (c): authority_host: must be an absolute https:// URL`,
			`tenants[3] (d): reports: unknown report "abc…" (40 characters`,
		},
		"secret_as_mapping.yaml":    {"line 2: expected a mapping with requests and per, got a string `abc…` (not shown whole in case it is a secret)"},
		"zero_failure_reasons.yaml": {`max_failure_reasons: must be at least 1, got 0`},
		"not_a_number.yaml":         {"line 1: expected an integer, got a string `twenty`"},
		"reports_not_list.yaml":     {"line 3: expected a list, got a string"},
		"no_tenants.yaml":           {`no tenants`},
		"empty.yaml":                {`testdata/bad/empty.yaml: tenants: no tenants`},
		"comment_only.yaml":         {`no tenants`},
		"syntax.yaml":               {`testdata/bad/syntax.yaml: line 3: did not find expected ',' or ']'`}, // yaml.v3 gives the line where the list starts, counted from 0
		"two_documents.yaml":        {`only one YAML document is allowed`},
		"defaults_name.yaml": {
			`testdata/bad/defaults_name.yaml: line 3: defaults: name: not allowed in defaults: name and tenant_id are set per tenant`,
			`testdata/bad/defaults_name.yaml: line 4: defaults: tenant_id: not allowed in defaults: name and tenant_id are set per tenant`,
		},
		"defaults_unknown_key.yaml": {`testdata/bad/defaults_unknown_key.yaml: line 3: unknown key "client_secrets_file" in defaults`},
		"defaults_not_mapping.yaml": {`testdata/bad/defaults_not_mapping.yaml: line 1: expected a mapping of tenant keys, got a list`},
		// Each once (TestDefaultsProblemsOnce checks the whole message).
		"defaults_problems.yaml": {
			`testdata/bad/defaults_problems.yaml: line 3: defaults: client_secret, client_certificate_file: give exactly one credential, not several`,
			`testdata/bad/defaults_problems.yaml: line 5: defaults: cloud: unknown cloud "mars" (known: china, public, usgovernment, usgovernment_dod)`,
			`testdata/bad/defaults_problems.yaml: line 9: defaults: report_poll_intervals: user_events_summary: must be at least 1s, got "1ms"`,
			`testdata/bad/defaults_problems.yaml: tenants[2] (c): cloud: unknown cloud "venus"`,
		},
		"bad_labels.yaml": {
			`testdata/bad/bad_labels.yaml: tenants[0] (contoso): labels: "1tier": not a valid label name (letters, digits and '_', not starting with a digit)`,
			`testdata/bad/bad_labels.yaml: tenants[0] (contoso): labels: "__name__": names starting with "__" are reserved for Prometheus`,
			`testdata/bad/bad_labels.yaml: tenants[0] (contoso): labels: "instance": reserved: it would clash with a label of entra_authmethods_tenant_info or of the target (tenant, tenant_id, cloud, job, instance)`,
			`testdata/bad/bad_labels.yaml: tenants[0] (contoso): labels: "note": the value is 129 bytes long; at most 128 are allowed`,
			`testdata/bad/bad_labels.yaml: tenants[0] (contoso): labels: "region": the value must not be empty`,
		},
		"labels_not_mapping.yaml": {`testdata/bad/labels_not_mapping.yaml: line 3: expected a mapping of label names to values, got a list`},
		"unknown_interval_report.yaml": {
			`testdata/bad/unknown_interval_report.yaml: line 3: report_poll_intervals: unknown report "users_registered_by_method" (known: credential_registration_count, credential_usage_summary, credential_registration_details, credential_usage_details, user_registration_details, user_events_summary, user_mfa_signin_summary, user_password_resets_summary)`,
			`testdata/bad/unknown_interval_report.yaml: line 8: tenants[0] (contoso): report_poll_intervals: unknown report "user_event_summary" (known: credential_registration_count,`,
		},
		"bad_intervals.yaml": {
			`testdata/bad/bad_intervals.yaml: line 2: report_poll_intervals: user_registration_details: must be greater than 0`,
			`testdata/bad/bad_intervals.yaml: line 3: report_poll_intervals: user_mfa_signin_summary: must be at least 1s, got "1ms"`,
			`testdata/bad/bad_intervals.yaml: line 4: report_poll_intervals: user_password_resets_summary: must be at most 1w, got "2w"`,
			`testdata/bad/bad_intervals.yaml: line 9: tenants[0] (contoso): report_poll_intervals: user_events_summary: "1.5m" is not a valid duration (use e.g. 30s, 15m, 1h, 1d)`,
			`testdata/bad/bad_intervals.yaml: tenants[0] (contoso): report_poll_intervals: credential_registration_count: no duration given`,
		},
		"intervals_not_mapping.yaml": {"testdata/bad/intervals_not_mapping.yaml: line 1: expected a mapping of report names to durations, got a string `6h`"},
		"bad_exclude_metrics.yaml": {
			`testdata/bad/bad_exclude_metrics.yaml: line 3: exclude_metrics[1]: "up" is not a metric family name of this exporter (entra_authmethods_ followed by lower-case letters, digits and '_')`,
			`testdata/bad/bad_exclude_metrics.yaml: line 4: exclude_metrics[2]: "entra_authmethods_Users" is not a metric family name`,
			`testdata/bad/bad_exclude_metrics.yaml: line 5: exclude_metrics[3]: "entra_authmethods_users_by_preferred_method" is already listed as exclude_metrics[0]`,
			`testdata/bad/bad_exclude_metrics.yaml: line 6: exclude_metrics[4]: "" is not a metric family name`,
		},
		"exclude_metrics_not_list.yaml": {"testdata/bad/exclude_metrics_not_list.yaml: line 1: expected a list, got a string"},
		"many_problems.yaml": {
			`line 1: poll_interval: must be greater than 0`,
			`tenants[0] (contoso): client_id: required`,
			`tenants[1] (bad name): name: "bad name" may only contain`,
			`tenants[1] (bad name): cloud: unknown cloud "mars"`,
		},
	}

	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) != len(tests) {
		t.Errorf("testdata/bad has %d files, the test covers %d", len(files), len(tests))
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			path := "testdata/bad/" + name
			c, err := Load(path)
			if err == nil {
				t.Fatalf("no error; got %+v", c)
			}
			if c != nil {
				t.Errorf("got a Config along with the error")
			}
			msg := err.Error()
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "Q~Zx0123456789") {
				t.Errorf("error reveals the secret:\n%s", msg)
			}
			for _, line := range strings.Split(msg, "\n") {
				if !strings.HasPrefix(line, path+": ") {
					t.Errorf("error line does not start with the file name: %q", line)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Errorf("got %v", err)
	}
}

func TestParseKeepsRelativePaths(t *testing.T) {
	c, err := Parse([]byte("tenants: [{name: a, tenant_id: t, client_id: c, client_secret_file: s.txt}]"), "inline")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Tenants[0].ClientSecretFile; got != "s.txt" {
		t.Errorf("ClientSecretFile = %q", got)
	}
}

func TestFromEnv(t *testing.T) {
	tenant := func(mod func(*Tenant)) *Config {
		t := Tenant{
			Name: "default", TenantID: "tid", ClientID: "cid", Auth: AuthDefault,
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		}
		mod(&t)
		return polled(defaults(t))
	}
	tests := []struct {
		name string
		env  map[string]string
		want *Config
	}{
		{"secret", map[string]string{"AZURE_TENANT_ID": "tid", "AZURE_CLIENT_ID": "cid", "AZURE_CLIENT_SECRET": secret},
			tenant(func(t *Tenant) { t.Auth, t.ClientSecret = AuthClientSecret, secret })},
		{"certificate", map[string]string{"AZURE_TENANT_ID": "tid", "AZURE_CLIENT_ID": "cid", "AZURE_CLIENT_CERTIFICATE_PATH": "/c.pem"},
			tenant(func(t *Tenant) { t.Auth, t.ClientCertificateFile = AuthClientCertificate, "/c.pem" })},
		{"workload identity", map[string]string{"AZURE_TENANT_ID": "tid", "AZURE_CLIENT_ID": "cid", "AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"},
			tenant(func(t *Tenant) { t.Auth = AuthWorkloadIdentity })},
		{"secret beats federated token", map[string]string{"AZURE_TENANT_ID": "tid", "AZURE_CLIENT_ID": "cid", "AZURE_CLIENT_SECRET": secret, "AZURE_FEDERATED_TOKEN_FILE": "/t"},
			tenant(func(t *Tenant) { t.Auth, t.ClientSecret = AuthClientSecret, secret })},
		{"nothing set", map[string]string{},
			tenant(func(t *Tenant) { t.TenantID, t.ClientID = "", "" })},
		{"managed identity client id", map[string]string{"AZURE_CLIENT_ID": "cid"},
			tenant(func(t *Tenant) { t.TenantID = "" })},
		{"china authority host", map[string]string{"AZURE_TENANT_ID": "tid", "AZURE_CLIENT_ID": "cid", "AZURE_AUTHORITY_HOST": "https://login.chinacloudapi.cn"},
			tenant(func(t *Tenant) {
				t.Cloud, t.AuthorityHost, t.GraphEndpoint = "china", "https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn"
			})},
		{"private authority host", map[string]string{"AZURE_TENANT_ID": "tid", "AZURE_CLIENT_ID": "cid", "AZURE_AUTHORITY_HOST": "https://127.0.0.1:8443"},
			tenant(func(t *Tenant) { t.AuthorityHost = "https://127.0.0.1:8443/" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFromEnvBad(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"secret without ids", map[string]string{"AZURE_CLIENT_SECRET": secret}, []string{
			"environment: tenants[0] (default): AZURE_CLIENT_ID: required for client_secret",
			"environment: tenants[0] (default): AZURE_TENANT_ID: required for client_secret",
		}},
		{"secret and certificate", map[string]string{"AZURE_TENANT_ID": "tid", "AZURE_CLIENT_ID": "cid", "AZURE_CLIENT_SECRET": secret, "AZURE_CLIENT_CERTIFICATE_PATH": "/c.pem"}, []string{
			"AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH: give exactly one credential",
		}},
		{"certificate password", map[string]string{"AZURE_TENANT_ID": "tid", "AZURE_CLIENT_ID": "cid", "AZURE_CLIENT_CERTIFICATE_PATH": "/c.pem", "AZURE_CLIENT_CERTIFICATE_PASSWORD": secret}, []string{
			"AZURE_CLIENT_CERTIFICATE_PASSWORD: not supported",
		}},
		{"http authority host", map[string]string{"AZURE_AUTHORITY_HOST": "http://login.example.test"}, []string{
			"AZURE_AUTHORITY_HOST: must be an absolute https:// URL",
		}},
		{"workload identity without tenant", map[string]string{"AZURE_FEDERATED_TOKEN_FILE": "/t"}, []string{
			"AZURE_TENANT_ID: required for workload_identity",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(func(k string) string { return tt.env[k] })
			if err == nil {
				t.Fatalf("no error; got %+v", c)
			}
			if c != nil {
				t.Errorf("got a Config along with the error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%s", w, err)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error reveals the secret:\n%s", err)
			}
		})
	}
}

// Secrets given in odd places must not leak through yaml.v3's messages.
func TestSecretNotInErrors(t *testing.T) {
	for _, doc := range []string{
		"tenants: [{name: a, client_secret: [" + secret + "]}]",
		"tenants: [{name: a, client_secret: {" + secret + ": x}}]",
		"tenants: [{name: a, client_secret: " + secret + ", client_secret_file: /f}]",
		"tenants: [{name: a, client_secret: " + secret + ", auth: bogus, cloud: x}]",
		"tenants: [{name: 'a b', client_secret: " + secret + "}]",
		"max_failure_reasons: " + secret + "\ntenants: [{name: a}]",
		"tenants: [{name: a, client_secret: \"" + secret + "}]",
		"defaults: {client_secret: " + secret + ", client_secret_file: /f, cloud: x}\ntenants: [{name: a}, {name: b}]",
		"defaults: {name: " + secret + "}\ntenants: [{name: a}]",
		"tenants: [{name: a, labels: {a: [" + secret + "]}}]",
		"report_poll_intervals: " + secret + "\ntenants: [{name: a}]",
		"exclude_metrics: " + secret + "\ntenants: [{name: a}]",
		"exclude_metrics: [{" + secret + ": x}]\ntenants: [{name: a}]",
	} {
		_, err := Parse([]byte(doc), "inline")
		if err == nil {
			t.Errorf("%q: no error", doc)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("%q: error reveals the secret:\n%s", doc, err)
		}
	}
}

// Durations use Prometheus syntax, with the key and line on errors.
func TestDurations(t *testing.T) {
	good := map[string]time.Duration{
		"30s":   30 * time.Second,
		"15m":   15 * time.Minute,
		"1h30m": 90 * time.Minute,
		"1d":    24 * time.Hour,
		"1w":    7 * 24 * time.Hour,
	}
	for s, want := range good {
		c, err := Parse([]byte("poll_interval: "+s+"\ntenants: [{name: a}]"), "inline")
		if err != nil || c.PollInterval != want {
			t.Errorf("poll_interval %s: got %v, %v; want %v", s, c, err, want)
		}
	}
	for _, s := range []string{"1.5h", "-1s", "1x", "30m1h", "90", "[1h]"} {
		_, err := Parse([]byte("tenants: [{name: a}]\npoll_interval: "+s), "inline")
		if err == nil || !strings.Contains(err.Error(), "inline: line 2: ") {
			t.Errorf("poll_interval %s: got %v, want an error on line 2", s, err)
		}
	}
}

// A tenant's report R is polled at its own (or the defaults')
// report_poll_intervals[R], else the top-level one, else poll_interval; the
// top-level key, when absent, is the built-in list.
func TestReportPollIntervals(t *testing.T) {
	const tenant = "\ntenants: [{name: a, reports: [user_registration_details, user_events_summary, user_mfa_signin_summary]}]"
	type want struct {
		top    map[string]time.Duration // Config.ReportPollIntervals
		tenant map[string]time.Duration // Tenants[0].PollIntervals
	}
	h := time.Hour
	tests := []struct {
		name, doc string
		want      want
	}{
		{"absent: built-in", tenant, want{
			builtinIntervals,
			map[string]time.Duration{UserRegistrationDetails: 6 * h, UserEventsSummary: 30 * time.Minute, UserMFASignInSummary: 6 * h},
		}},
		{"null: as absent", "report_poll_intervals:" + tenant, want{
			builtinIntervals,
			map[string]time.Duration{UserRegistrationDetails: 6 * h, UserEventsSummary: 30 * time.Minute, UserMFASignInSummary: 6 * h},
		}},
		// The built-in intervals never poll more often than poll_interval.
		{"absent, long poll_interval", "poll_interval: 12h" + tenant, want{
			map[string]time.Duration{
				UserRegistrationDetails: 12 * h, UserMFASignInSummary: 12 * h, UserPasswordResetsSummary: 12 * h,
				CredentialRegistrationCount: 12 * h, CredentialRegistrationDetails: 12 * h, CredentialUsageSummary: 12 * h,
			},
			map[string]time.Duration{UserRegistrationDetails: 12 * h, UserEventsSummary: 12 * h, UserMFASignInSummary: 12 * h},
		}},
		{"empty: every report at poll_interval", "poll_interval: 1h\nreport_poll_intervals: {}" + tenant, want{
			map[string]time.Duration{},
			map[string]time.Duration{UserRegistrationDetails: h, UserEventsSummary: h, UserMFASignInSummary: h},
		}},
		{"partial: exactly what is given", "report_poll_intervals: {user_events_summary: 5m}" + tenant, want{
			map[string]time.Duration{UserEventsSummary: 5 * time.Minute},
			map[string]time.Duration{UserRegistrationDetails: 30 * time.Minute, UserEventsSummary: 5 * time.Minute, UserMFASignInSummary: 30 * time.Minute},
		}},
		{"tenant over top-level", "report_poll_intervals: {user_events_summary: 5m, user_registration_details: 1d}\n" +
			"tenants: [{name: a, reports: [user_registration_details, user_events_summary, user_mfa_signin_summary], report_poll_intervals: {user_events_summary: 2m}}]", want{
			map[string]time.Duration{UserEventsSummary: 5 * time.Minute, UserRegistrationDetails: 24 * h},
			map[string]time.Duration{UserRegistrationDetails: 24 * h, UserEventsSummary: 2 * time.Minute, UserMFASignInSummary: 30 * time.Minute},
		}},
		{"defaults over top-level", "defaults: {report_poll_intervals: {user_mfa_signin_summary: 1h}}" + tenant, want{
			builtinIntervals,
			map[string]time.Duration{UserRegistrationDetails: 6 * h, UserEventsSummary: 30 * time.Minute, UserMFASignInSummary: h},
		}},
		{"tenant's own replaces the defaults' whole", "defaults: {report_poll_intervals: {user_mfa_signin_summary: 1h}}\n" +
			"tenants: [{name: a, reports: [user_registration_details, user_events_summary, user_mfa_signin_summary], report_poll_intervals: {user_events_summary: 1m}}]", want{
			builtinIntervals,
			map[string]time.Duration{UserRegistrationDetails: 6 * h, UserEventsSummary: time.Minute, UserMFASignInSummary: 6 * h},
		}},
		{"bounds", "report_poll_intervals: {user_events_summary: 1s, user_registration_details: 1w}" + tenant, want{
			map[string]time.Duration{UserEventsSummary: time.Second, UserRegistrationDetails: 7 * 24 * h},
			map[string]time.Duration{UserRegistrationDetails: 7 * 24 * h, UserEventsSummary: time.Second, UserMFASignInSummary: 30 * time.Minute},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.doc), "inline")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.ReportPollIntervals, tt.want.top) {
				t.Errorf("ReportPollIntervals = %v, want %v", c.ReportPollIntervals, tt.want.top)
			}
			if got := c.Tenants[0].PollIntervals; !reflect.DeepEqual(got, tt.want.tenant) {
				t.Errorf("PollIntervals = %v, want %v", got, tt.want.tenant)
			}
		})
	}
}

func TestDefaultReportPollIntervals(t *testing.T) {
	got := topPollIntervals(&problems{}, nil, time.Second)
	if !reflect.DeepEqual(got, builtinIntervals) {
		t.Errorf("got %v, want %v", got, builtinIntervals)
	}
	got[UserEventsSummary] = time.Second
	topPollIntervals(&problems{}, nil, 24*time.Hour)
	if !reflect.DeepEqual(defaultReportPollIntervals, builtinIntervals) {
		t.Errorf("topPollIntervals changed the package's own map: %v", defaultReportPollIntervals)
	}
}

func TestLabels(t *testing.T) {
	long := strings.Repeat("é", 64) // 128 bytes
	many := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "l%d: v, ", i)
		}
		return "{" + strings.TrimSuffix(b.String(), ", ") + "}"
	}
	good := map[string]map[string]string{
		"{customer: contoso, tier: gold, _x: '1', A9: " + long + "}": {"customer": "contoso", "tier": "gold", "_x": "1", "A9": long},
		"{n: 42, b: true}": {"n": "42", "b": "true"},
		"{}":               nil,
		many(32):           nil, // checked by count below
	}
	for labels, want := range good {
		c, err := Parse([]byte("tenants: [{name: a, labels: "+labels+"}]"), "inline")
		if err != nil {
			t.Errorf("%s: %v", labels, err)
			continue
		}
		got := c.Tenants[0].Labels
		if labels == many(32) {
			if len(got) != 32 {
				t.Errorf("32 labels: got %d", len(got))
			}
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", labels, got, want)
		}
	}
	bad := map[string]string{
		"{a-b: x}":             `inline: tenants[0] (a): labels: "a-b": not a valid label name (letters, digits and '_', not starting with a digit)`,
		"{'': x}":              `inline: tenants[0] (a): labels: "": not a valid label name`,
		"{__x: x}":             `inline: tenants[0] (a): labels: "__x": names starting with "__" are reserved for Prometheus`,
		"{tenant: x}":          `inline: tenants[0] (a): labels: "tenant": reserved: it would clash with a label of entra_authmethods_tenant_info or of the target (tenant, tenant_id, cloud, job, instance)`,
		"{tenant_id: x}":       `inline: tenants[0] (a): labels: "tenant_id": reserved`,
		"{cloud: x}":           `inline: tenants[0] (a): labels: "cloud": reserved`,
		"{job: x}":             `inline: tenants[0] (a): labels: "job": reserved`,
		"{instance: x}":        `inline: tenants[0] (a): labels: "instance": reserved`,
		"{a: ''}":              `inline: tenants[0] (a): labels: "a": the value must not be empty`,
		"{a: }":                `inline: tenants[0] (a): labels: "a": the value must not be empty`,
		"{a: " + long + "x}":   `inline: tenants[0] (a): labels: "a": the value is 129 bytes long; at most 128 are allowed`,
		many(33):               `inline: tenants[0] (a): labels: 33 labels; at most 32 are allowed`,
		"{a: [x]}":             "inline: line 1: expected a string, got a list",
		"[a]":                  "inline: line 1: expected a mapping of label names to values, got a list",
		"{a: x, a: y}":         `inline: line 1: mapping key "a" already defined at line 1`,
		"{" + secret + ": x}":  `inline: tenants[0] (a): labels: "S3CRET-VALUE"`, // a name shorter than a secret is shown
		"{~" + secret + ": x}": `labels: (13 characters, not shown whole in case it is a secret): not a valid label name`,
	}
	for labels, want := range bad {
		_, err := Parse([]byte("tenants: [{name: a, labels: "+labels+"}]"), "inline")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("labels %s: got %v, want %q", labels, err, want)
		}
	}
}

// Label values cannot be invalid UTF-8 in a YAML file (yaml.v3 refuses the
// file), so checkLabels is called directly.
func TestLabelsUTF8(t *testing.T) {
	p := &problems{source: "inline"}
	checkLabels(&tenantProblems{p: p, label: "tenants[0] (a)"}, map[string]string{"a": "\xff"})
	if err := errors.Join(p.errs...); err == nil || err.Error() != `inline: tenants[0] (a): labels: "a": the value is not valid UTF-8` {
		t.Errorf("got %v", err)
	}
}

func TestExcludeMetrics(t *testing.T) {
	good := map[string][]string{
		"":                    nil,
		"exclude_metrics:":    nil,
		"exclude_metrics: []": nil,
		"exclude_metrics: [entra_authmethods_users_by_preferred_method, entra_authmethods_event_failures_total, entra_authmethods_x_2]": {
			"entra_authmethods_users_by_preferred_method", "entra_authmethods_event_failures_total", "entra_authmethods_x_2",
		},
	}
	for doc, want := range good {
		c, err := Parse([]byte(doc+"\ntenants: [{name: a}]"), "inline")
		if err != nil {
			t.Errorf("%q: %v", doc, err)
		} else if !reflect.DeepEqual(c.ExcludeMetrics, want) {
			t.Errorf("%q: got %q, want %q", doc, c.ExcludeMetrics, want)
		}
	}
	bad := map[string]string{
		"exclude_metrics: [entra_authmethods_]":                               `inline: line 1: exclude_metrics[0]: "entra_authmethods_" is not a metric family name of this exporter`,
		"exclude_metrics: [go_goroutines]":                                    `inline: line 1: exclude_metrics[0]: "go_goroutines" is not a metric family name`,
		"exclude_metrics: ['entra_authmethods_users{a=\"b\"}']":               `exclude_metrics[0]: "entra_authmethods_users{a="b"}" is not a metric family name`,
		"exclude_metrics: [entra_authmethods_users, entra_authmethods_users]": `inline: line 1: exclude_metrics[1]: "entra_authmethods_users" is already listed as exclude_metrics[0]`,
		"exclude_metrics: [[entra_authmethods_users]]":                        "inline: line 1: expected a string, got a list",
		"exclude_metrics: [{entra_authmethods_users: 1}]":                     "inline: line 1: expected a string, got a mapping",
		"exclude_metrics: [" + secret + "~abcdefghijklmnopqrstuvwxyz]":        `exclude_metrics[0]: "S3C…" (39 characters, not shown whole in case it is a secret) is not a metric family name`,
	}
	for doc, want := range bad {
		_, err := Parse([]byte(doc+"\ntenants: [{name: a}]"), "inline")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", doc, err, want)
		}
	}
}

// A problem in defaults is reported once, however many tenants inherit it,
// and not at all for a tenant that sets the key (or its group) itself.
func TestDefaultsProblemsOnce(t *testing.T) {
	_, err := Load("testdata/bad/defaults_problems.yaml")
	const f = "testdata/bad/defaults_problems.yaml: "
	want := f + `line 3: defaults: client_secret, client_certificate_file: give exactly one credential, not several
` + f + `line 5: defaults: cloud: unknown cloud "mars" (known: china, public, usgovernment, usgovernment_dod)
` + f + `line 6: defaults: reports: unknown report "users_registered_by_method" (known: credential_registration_count, credential_usage_summary, credential_registration_details, credential_usage_details, user_registration_details, user_events_summary, user_mfa_signin_summary, user_password_resets_summary)
` + f + `line 7: defaults: labels: "job": reserved: it would clash with a label of entra_authmethods_tenant_info or of the target (tenant, tenant_id, cloud, job, instance)
` + f + `line 9: defaults: report_poll_intervals: user_events_summary: must be at least 1s, got "1ms"
` + f + `tenants[2] (c): auth: unknown value "bogus" (known: workload_identity, managed_identity, azure_cli, default)
` + f + `tenants[2] (c): cloud: unknown cloud "venus" (known: china, public, usgovernment, usgovernment_dod)`
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

// Inheritance, by group: the cases not in testdata/good/defaults.yaml.
func TestDefaults(t *testing.T) {
	tests := []struct {
		name, doc string
		check     func(Tenant) bool
	}{
		{"inline secret inherited", "defaults: {client_id: c, client_secret: s}\ntenants: [{name: a, tenant_id: t}]",
			func(t Tenant) bool { return t.Auth == AuthClientSecret && t.ClientSecret == "s" && t.ClientID == "c" }},
		{"own secret file: not the defaults' certificate", "defaults: {client_id: c, client_certificate_file: /c.pem}\ntenants: [{name: a, tenant_id: t, client_secret_file: /s}]",
			func(t Tenant) bool {
				return t.Auth == AuthClientSecret && t.ClientSecretFile == "/s" && t.ClientCertificateFile == ""
			}},
		{"own secret: not the defaults' auth", "defaults: {auth: managed_identity}\ntenants: [{name: a, tenant_id: t, client_id: c, client_secret: s}]",
			func(t Tenant) bool { return t.Auth == AuthClientSecret }},
		{"auth inherited", "defaults: {auth: azure_cli}\ntenants: [{name: a}]",
			func(t Tenant) bool { return t.Auth == AuthAzureCLI }},
		{"own client_id over the defaults'", "defaults: {client_id: c, client_secret: s}\ntenants: [{name: a, tenant_id: t, client_id: mine}]",
			func(t Tenant) bool { return t.ClientID == "mine" && t.ClientSecret == "s" }},
		{"own cloud: not the defaults' endpoints", "defaults: {authority_host: 'https://login.example.test', graph_endpoint: 'https://graph.example.test'}\ntenants: [{name: a, cloud: china}]",
			func(t Tenant) bool {
				return t.AuthorityHost == "https://login.chinacloudapi.cn/" && t.GraphEndpoint == "https://microsoftgraph.chinacloudapi.cn"
			}},
		{"endpoints inherited", "defaults: {cloud: china, graph_endpoint: 'https://graph.example.test/'}\ntenants: [{name: a}]",
			func(t Tenant) bool {
				return t.Cloud == "china" && t.AuthorityHost == "https://login.chinacloudapi.cn/" && t.GraphEndpoint == "https://graph.example.test"
			}},
		{"own reports over the defaults'", "defaults: {reports: [user_events_summary]}\ntenants: [{name: a, reports: [user_registration_details]}]",
			func(t Tenant) bool { return reflect.DeepEqual(t.Reports, []string{UserRegistrationDetails}) }},
		{"own periods over the defaults'", "defaults: {usage_summary_periods: [D1]}\ntenants: [{name: a, usage_summary_periods: [D7]}]",
			func(t Tenant) bool { return reflect.DeepEqual(t.UsageSummaryPeriods, []string{"D7"}) }},
		{"empty defaults", "defaults: {}\ntenants: [{name: a}]",
			func(t Tenant) bool { return t.Auth == AuthDefault && t.Cloud == "public" && t.Labels == nil }},
		{"null defaults", "defaults:\ntenants: [{name: a}]",
			func(t Tenant) bool { return t.Auth == AuthDefault }},
		{"defaults may leave the IDs to the tenants", "defaults: {client_secret_file: /s}\ntenants: [{name: a, tenant_id: t, client_id: c}]",
			func(t Tenant) bool { return t.Auth == AuthClientSecret }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.doc), "inline")
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c.Tenants[0]) {
				t.Errorf("got %+v", c.Tenants[0])
			}
		})
	}

	bad := map[string]string{
		// The IDs are still required, of each tenant.
		"defaults: {client_secret_file: /s}\ntenants: [{name: a}]": "inline: tenants[0] (a): client_id: required for client_secret\ninline: tenants[0] (a): tenant_id: required for client_secret",
		// One app inherited by two entries for one directory.
		"defaults: {client_id: c, client_secret_file: /s}\ntenants: [{name: a, tenant_id: t}, {name: b, tenant_id: t}]": "inline: tenants[1] (b): tenant_id and client_id are those of tenants[0] (a): one app registration reading one directory is one tenant entry; list its reports there",
		"defaults: {reports: []}\ntenants: [{name: a}, {name: b}]":                                                      "inline: line 1: defaults: reports: empty; leave the key out for the default",
		"defaults: {client_secret: " + secret + ", auth: default}\ntenants: [{name: a, tenant_id: t, client_id: c}]":    "inline: line 1: defaults: auth: cannot be combined with client_secret; auth only selects the credential when no secret or certificate is given",
		"defaults:\n  name: a\n  tenant_id: ''\ntenants: [{name: a}]":                                                   "inline: line 2: defaults: name: not allowed in defaults: name and tenant_id are set per tenant\ninline: line 3: defaults: tenant_id: not allowed in defaults: name and tenant_id are set per tenant",
		"defaults: {graph_endpoint: 'http://graph.example.test'}\ntenants: [{name: a}, {name: b, cloud: china}]":        "inline: line 1: defaults: graph_endpoint: must be an absolute https:// URL (tokens are never sent over plain HTTP), got \"http://graph.example.test\"",
		"defaults: {labels: {a: ''}}\ntenants: [{name: a}, {name: b, labels: {b: ''}}]":                                 "inline: line 1: defaults: labels: \"a\": the value must not be empty\ninline: tenants[1] (b): labels: \"b\": the value must not be empty",
		"defaults:\n  report_poll_intervals:\n    user_events_summary: 0s\ntenants: [{name: a}]":                        "inline: line 3: defaults: report_poll_intervals: user_events_summary: must be greater than 0",
	}
	for doc, want := range bad {
		_, err := Parse([]byte(doc), "inline")
		if err == nil || err.Error() != want {
			t.Errorf("%s:\ngot  %v\nwant %s", doc, err, want)
		}
	}
}

// A problem with an inherited value that the defaults block did not
// already report names the key as inherited; one it reported is not
// repeated. (With today's checks every problem of an inherited value is
// found in the defaults block, so this calls buildTenant directly.)
func TestInheritedProblem(t *testing.T) {
	for _, tt := range []struct {
		defaultsBad map[string]bool
		want        string
	}{
		{nil, `inline: tenants[0] (a): cloud (from defaults): unknown cloud "mars" (known: china, public, usgovernment, usgovernment_dod)`},
		{map[string]bool{"cloud": true}, ""},
	} {
		p := &problems{source: "inline"}
		tp := &tenantProblems{p: p, label: "tenants[0] (a)", inherited: map[string]bool{"cloud": true}, defaultsBad: tt.defaultsBad}
		buildTenant(rawTenant{Name: "a", rawTenantKeys: rawTenantKeys{Cloud: "mars"}}, tp, &Config{PollInterval: time.Hour})
		got := ""
		if err := errors.Join(p.errs...); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("defaultsBad %v: got %q, want %q", tt.defaultsBad, got, tt.want)
		}
	}
}

// The example in the repository's root must load, and mention every key
// (set or commented out).
func TestExampleConfig(t *testing.T) {
	path := filepath.Join("..", "config.example.yaml")
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[rawConfig](), reflect.TypeFor[rawRateLimit](), reflect.TypeFor[rawTenant](), reflect.TypeFor[rawTenantKeys]()} {
		for f := range typ.Fields() {
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key != "" && !strings.Contains(string(data), key+":") {
				t.Errorf("config.example.yaml does not mention %s", key)
			}
		}
	}
}
