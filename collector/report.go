package collector

import (
	"context"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// report is one Graph report of one tenant. poll reads it and returns the
// const metrics of a new immutable snapshot and the number of records read.
// A report may keep state across polls (distinct events); it must change
// that state only when the poll succeeds, so a failed poll loses nothing.
// Polls of one tenant run one after another, so state needs no lock.
type report interface {
	poll(ctx context.Context, env *pollEnv) (snapshot, int, error)
}

// pollEnv is what a report's poll may use.
type pollEnv struct {
	client    *graphapi.Client
	tenant    config.Tenant
	report    string        // the report's name, its `report` label
	now       time.Time     // when the poll started
	labels    *labelLimit   // the report's label values from Graph (this poll's copy)
	retention time.Duration // how long a counter series outlives Graph's last event of it
}

func (e *pollEnv) metrics() *metricSet { return &metricSet{tenant: e.tenant.Name} }

// reportLabels lists the labels each report takes from Graph: their
// distinct values are capped (see labelLimit).
var reportLabels = map[string][]string{
	config.CredentialRegistrationCount:   {"status"},
	config.CredentialUsageSummary:        {"feature", "method"},
	config.CredentialRegistrationDetails: {"method"},
	config.CredentialUsageDetails:        {"feature", "method", "reason"},
	config.UserRegistrationDetails:       {"user_type", "method"},
	config.UserEventsSummary:             {"feature", "method", "reason"},
}

// newReport builds the named report; every name in config.AllReports() has one.
func newReport(name string) report {
	switch name {
	case config.CredentialRegistrationCount:
		return credentialRegistrationCount{}
	case config.CredentialUsageSummary:
		return credentialUsageSummary{}
	case config.CredentialRegistrationDetails:
		return credentialRegistrationDetails{}
	case config.CredentialUsageDetails:
		return newCredentialUsageDetails()
	case config.UserRegistrationDetails:
		return userRegistrationDetails{}
	case config.UserEventsSummary:
		return newUserEventsSummary()
	case config.UserMFASignInSummary:
		return userMFASignInSummary{}
	case config.UserPasswordResetsSummary:
		return userPasswordResetsSummary{}
	}
	return nil
}
