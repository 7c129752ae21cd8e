package config

import (
	"errors"
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

	tests := map[string]*Config{
		"minimal.yaml": defaults(Tenant{
			Name: "contoso", TenantID: "11111111-1111-1111-1111-111111111111", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth: AuthClientSecret, ClientSecretFile: "/run/secrets/contoso",
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		}),
		"full.yaml":        full,
		"two_tenants.yaml": twoTenants,
		"certificate.yaml": defaults(Tenant{
			Name: "contoso", TenantID: "contoso.onmicrosoft.com", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth: AuthClientCertificate, ClientCertificateFile: "/etc/exporter/cert.pem",
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		}),
		"workload_identity.yaml": defaults(Tenant{
			Name: "aks", TenantID: "11111111-1111-1111-1111-111111111111",
			Auth:  AuthWorkloadIdentity,
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		}),
		"china.yaml": defaults(Tenant{
			Name: "cn", TenantID: "11111111-1111-1111-1111-111111111111", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth: AuthClientSecret, ClientSecret: "not-a-real-secret",
			Cloud: "china", AuthorityHost: "https://login.chinacloudapi.cn/", GraphEndpoint: "https://microsoftgraph.chinacloudapi.cn",
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		}),
		"overrides.yaml": overrides,
		// Load makes relative credential paths relative to the file.
		"relative.yaml": defaults(Tenant{
			Name: "rel", TenantID: "11111111-1111-1111-1111-111111111111", ClientID: "22222222-2222-2222-2222-222222222222",
			Auth: AuthClientCertificate, ClientCertificateFile: filepath.Join("testdata", "good", "certs", "rel.pem"),
			Cloud: "public", AuthorityHost: publicAuthority, GraphEndpoint: publicGraph,
			Reports: DefaultReports(), UsageSummaryPeriods: allPeriods,
		}),
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
		return defaults(t)
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
