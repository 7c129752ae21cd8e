// Package config holds the exporter's configuration: the YAML file format,
// its defaults and its validation, for the Graph client and the collector.
package config

import (
	"slices"
	"time"
)

// Report names, as they appear in the config file and in the `report` label.
const (
	CredentialRegistrationCount   = "credential_registration_count"
	CredentialUsageSummary        = "credential_usage_summary"
	CredentialRegistrationDetails = "credential_registration_details"
	CredentialUsageDetails        = "credential_usage_details"
	UserRegistrationDetails       = "user_registration_details"
	UserEventsSummary             = "user_events_summary"
	UserMFASignInSummary          = "user_mfa_signin_summary"
	UserPasswordResetsSummary     = "user_password_resets_summary"
)

// allReports lists every report the exporter knows, in polling order.
var allReports = []string{
	CredentialRegistrationCount,
	CredentialUsageSummary,
	CredentialRegistrationDetails,
	CredentialUsageDetails,
	UserRegistrationDetails,
	UserEventsSummary,
	UserMFASignInSummary,
	UserPasswordResetsSummary,
}

// defaultReports leaves out the reports whose Graph endpoints stopped returning
// data in 2024-2025, which would only spend the throttle budget.
var defaultReports = []string{
	CredentialRegistrationCount,
	UserRegistrationDetails,
	UserEventsSummary,
	UserMFASignInSummary,
	UserPasswordResetsSummary,
}

// defaultReportPollIntervals slow down the slowly changing reports to save
// throttle budget; the event streams follow poll_interval.
var defaultReportPollIntervals = map[string]time.Duration{
	UserRegistrationDetails:       6 * time.Hour,
	UserMFASignInSummary:          6 * time.Hour,
	UserPasswordResetsSummary:     6 * time.Hour,
	CredentialRegistrationCount:   6 * time.Hour,
	CredentialRegistrationDetails: 6 * time.Hour,
	CredentialUsageSummary:        6 * time.Hour,
}

// usageSummaryPeriods lists credential_usage_summary's periods, in order.
var usageSummaryPeriods = []string{"D1", "D7", "D30"}

// Credential kinds (Tenant.Auth after defaults are applied).
const (
	AuthClientSecret      = "client_secret"      // client_secret or client_secret_file given
	AuthClientCertificate = "client_certificate" // client_certificate_file given
	AuthWorkloadIdentity  = "workload_identity"
	AuthManagedIdentity   = "managed_identity"
	AuthAzureCLI          = "azure_cli"
	AuthDefault           = "default"
)

// clouds maps the `cloud` key's values to their login host (with a
// trailing slash) and Graph endpoint (without).
var clouds = map[string]struct{ AuthorityHost, GraphEndpoint string }{
	"public":           {AuthorityHost: "https://login.microsoftonline.com/", GraphEndpoint: "https://graph.microsoft.com"},
	"usgovernment":     {AuthorityHost: "https://login.microsoftonline.us/", GraphEndpoint: "https://graph.microsoft.us"},
	"usgovernment_dod": {AuthorityHost: "https://login.microsoftonline.us/", GraphEndpoint: "https://dod-graph.microsoft.us"},
	"china":            {AuthorityHost: "https://login.chinacloudapi.cn/", GraphEndpoint: "https://microsoftgraph.chinacloudapi.cn"},
}

// Defaults of the settings.
const (
	DefaultPollInterval      = 30 * time.Minute
	DefaultRequestTimeout    = 60 * time.Second
	DefaultRateRequests      = 5
	DefaultRatePer           = 10 * time.Second
	DefaultAppRateRequests   = 122 // Graph's limit per app across all tenants
	DefaultAppRatePer        = 10 * time.Second
	DefaultMaxFailureReasons = 20
	DefaultMaxLabelValues    = 100
	DefaultMaxPagesPerPoll   = 10000
	DefaultTenantName        = "default"
	DefaultCloud             = "public"
)

// Config is a validated configuration with every default filled in.
type Config struct {
	PollInterval      time.Duration
	RequestTimeout    time.Duration
	GraphRateLimit    RateLimit // per tenant
	GraphAppRateLimit RateLimit // per app registration (client_id), across its tenants
	MaxFailureReasons int       // distinct `reason` values kept per tenant and report
	MaxLabelValues    int       // distinct values kept per other label from Graph (method, feature, user_type, status) per tenant and report
	MaxPagesPerPoll   int       // pages one report's poll may read; a guard against a nextLink chain without end
	// ReportPollIntervals is the file's report_poll_intervals, else the
	// defaults (each at least PollInterval); Tenant.PollIntervals applies it.
	ReportPollIntervals map[string]time.Duration
	ExcludeMetrics      []string // metric families left out of /metrics; the collector checks they exist
	Tenants             []Tenant
}

// RateLimit allows Requests requests in any window of length Per.
type RateLimit struct {
	Requests int
	Per      time.Duration
}

// Tenant is one Entra tenant to poll, with the app registration that reads it.
type Tenant struct {
	Name     string // the `tenant` label
	TenantID string
	ClientID string

	// Auth is one of the Auth* constants; the fields below it apply to it.
	Auth                  string
	ClientSecret          string // inline secret (AuthClientSecret)
	ClientSecretFile      string // file holding the secret, re-read on token refresh (AuthClientSecret)
	ClientCertificateFile string // PEM with certificate and private key (AuthClientCertificate)

	Cloud         string // the `cloud` key
	AuthorityHost string // with a trailing slash; the cloud's unless overridden
	GraphEndpoint string // without a trailing slash; the cloud's unless overridden

	Reports             []string // report names, in AllReports order
	UsageSummaryPeriods []string // D1, D7, D30 (upper case); default all three

	// PollIntervals has an entry for each of Reports: the tenant's
	// report_poll_intervals, else Config.ReportPollIntervals, else poll_interval.
	PollIntervals map[string]time.Duration
	Labels        map[string]string // on entra_authmethods_tenant_info only; nil when none
	// MethodStrengths is the top-level, the defaults' and the tenant's
	// method_strengths merged, key by key; nil when none. StrengthTable
	// applies it.
	MethodStrengths map[string]string
	Groups          []Group // the tenant's groups: (sorted by name)
}

// Group is an Entra group whose members' adoption is exported on its own.
type Group struct {
	Name string // the `group` label
	ID   string // its object id, as the configuration writes it
}

// PollInterval returns how often the tenant's report is polled, or fallback
// (poll_interval) when PollIntervals has none, as in a hand-built Config.
func (t Tenant) PollInterval(report string, fallback time.Duration) time.Duration {
	if d := t.PollIntervals[report]; d > 0 {
		return d
	}
	return fallback
}

// The lists below are copies, so no caller can change the package's own.

// AllReports returns every report name, in polling order.
func AllReports() []string { return slices.Clone(allReports) }

// DefaultReports returns the reports polled when a tenant names none.
func DefaultReports() []string { return slices.Clone(defaultReports) }
