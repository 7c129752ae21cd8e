package collector

import (
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "entra_authmethods"

// polledNote ends every HELP text: values come from the last background
// poll of Graph, not from the scrape (Graph is slow and throttled).
const polledNote = " Polled from Microsoft Graph in the background; the value is from the last successful poll."

// familyNames maps each descriptor desc builds to its family's name, for
// exclude_metrics (a Desc does not tell its name). Filled while the
// package's variables are initialised, and only read after that.
var familyNames = map[*prometheus.Desc]string{}

// desc builds a descriptor whose first label is always tenant.
func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(namespace+"_"+name, help, append([]string{"tenant"}, labels...), nil)
	familyNames[d] = namespace + "_" + name
	return d
}

// FamilyNames returns the name of every metric family the collector can
// emit, sorted: what exclude_metrics may name.
func FamilyNames() []string {
	return slices.Sorted(maps.Values(familyNames))
}

// Report metrics, by report.
var (
	credentialUsersDesc = desc("credential_users",
		"Users with accountEnabled true, from getCredentialUserRegistrationCount (totalUserCount)."+polledNote)
	credentialRegistrationUsersDesc = desc("credential_registration_users",
		"Users per registration status, from getCredentialUserRegistrationCount."+polledNote, "status")

	credentialUsageActivitiesDesc = desc("credential_usage_activities",
		"Successful plus failed registration or reset activities in the period, from getCredentialUsageSummary (deprecated)."+polledNote,
		"period", "feature", "method")
	credentialUsageFailedActivitiesDesc = desc("credential_usage_failed_activities",
		"Failed registration or reset activities in the period, from getCredentialUsageSummary (deprecated)."+polledNote,
		"period", "feature", "method")

	credentialDetailsUsersDesc = desc("credential_details_users",
		"Users listed by credentialUserRegistrationDetails (deprecated)."+polledNote)
	credentialDetailsStatusUsersDesc = desc("credential_details_status_users",
		"Users per registration status, from credentialUserRegistrationDetails (deprecated)."+polledNote, "status")
	credentialDetailsMethodUsersDesc = desc("credential_details_method_users",
		"Users per registered method, from credentialUserRegistrationDetails (deprecated)."+polledNote, "method")

	credentialUsageEventsDesc = desc("credential_usage_events_total",
		"Distinct registration and reset events seen in userCredentialUsageDetails (deprecated) since the exporter started."+polledNote,
		"feature", "method")
	credentialUsageEventFailuresDesc = desc("credential_usage_event_failures_total",
		"Distinct failed registration and reset events seen in userCredentialUsageDetails (deprecated) since the exporter started."+polledNote,
		"feature", "method", "reason")

	eventKeysEvictedDesc = desc("event_keys_evicted_total",
		"Event keys forgotten before Graph's retention ended because the report held more than the cap of distinct events; such an event may be counted again.",
		"report")

	usersDesc = desc("users",
		"Users in userRegistrationDetails by user type and admin role."+polledNote, "user_type", "admin")
	usersByFeatureDesc = desc("users_registered_by_feature",
		"Users registered, enabled or capable per feature (mfaCapable, ssprRegistered, ...), from userRegistrationDetails."+polledNote,
		"user_type", "admin", "feature")
	usersByMethodDesc = desc("users_registered_by_method",
		"Users per registered authentication method, from userRegistrationDetails."+polledNote,
		"user_type", "admin", "method")
	usersByPreferredMethodDesc = desc("users_by_preferred_method",
		"Users per preferred second-factor method (none if unset), from userRegistrationDetails."+polledNote,
		"user_type", "admin", "method")

	eventsDesc = desc("events_total",
		"Distinct registration and reset events seen in userEventsSummary since the exporter started (the first poll counts what Graph still holds)."+polledNote,
		"feature", "method")
	eventFailuresDesc = desc("event_failures_total",
		"Distinct failed registration and reset events seen in userEventsSummary since the exporter started; reason unspecified when Graph gives none."+polledNote,
		"feature", "method", "reason")
	periodEventsDesc = desc("period_events",
		"Registration and reset events in userEventsSummary that happened within the last h1, h6, d1, d7 or d30 before the last poll; recomputed from Graph's data at every poll, so restarts change nothing."+polledNote,
		"period", "feature", "method")
	periodEventFailuresDesc = desc("period_event_failures",
		"Failed registration and reset events in userEventsSummary within the last h1, h6, d1, d7 or d30 before the last poll."+polledNote,
		"period", "feature", "method")
	periodUsersDesc = desc("period_users",
		"Distinct users (by id) with at least one registration or reset event in userEventsSummary within the last h1, h6, d1, d7 or d30 before the last poll."+polledNote,
		"period", "feature")
	periodFailedUsersDesc = desc("period_failed_users",
		"Distinct users (by id) with at least one failed registration or reset event within the last h1, h6, d1, d7 or d30 before the last poll."+polledNote,
		"period", "feature")

	dailySigninsDesc = desc("daily_signins",
		"Single-factor and multi-factor sign-ins on the newest day of userMfaSignInSummary."+polledNote, "factor")
	dailySigninsTimestampDesc = desc("daily_signins_timestamp_seconds",
		"The day (createdDateTime) entra_authmethods_daily_signins describes, in Unix seconds."+polledNote)

	dailyPasswordOperationsDesc = desc("daily_password_operations",
		"Admin resets, self-service resets and self-service changes of passwords on the newest day of userPasswordResetsAndChangesSummary."+polledNote,
		"operation")
	dailyPasswordOperationsTimestampDesc = desc("daily_password_operations_timestamp_seconds",
		"The day (aggregatedDateTime) entra_authmethods_daily_password_operations describes, in Unix seconds."+polledNote)
)

// Exporter metrics.
var (
	reportUpDesc = desc("report_up",
		"1 if the report's last poll succeeded, else 0.", "report")
	reportLastSuccessDesc = desc("report_last_success_timestamp_seconds",
		"End of the report's last successful poll, in Unix seconds.", "report")
	reportDurationDesc = desc("report_duration_seconds",
		"Length of the report's last poll, successful or not.", "report")
	reportRecordsDesc = desc("report_records",
		"Records read in the report's last successful poll.", "report")
	reportErrorsDesc = desc("report_errors_total",
		"Failed polls of the report, by reason.", "report", "reason")
	reportDuplicatesDesc = desc("report_duplicate_records",
		"Rows of the report's last successful poll ignored as repeats: a user listed again, or an event row identical to another.", "report")
	labelValuesDroppedDesc = desc("label_values_dropped_total",
		"Label values from Graph counted as \"other\" because the label already had max_label_values (max_failure_reasons for reason) distinct values.",
		"report", "label")
	pollIntervalDesc = desc("poll_interval_seconds",
		"How often the report is polled (report_poll_intervals, else poll_interval). Alerts on stale data compare against it.", "report")
	pollOverrunsDesc = desc("poll_overruns_total",
		"Rounds of polling the tenant's reports that ended after one of them was due again: the schedule cannot keep up.")
	graphRequestsDesc = desc("graph_requests_total",
		"HTTP requests sent to Microsoft Graph for the tenant, retries included, by response status code.", "code")
	tenantInfoDesc = desc("tenant_info",
		tenantInfoHelp, "tenant_id", "cloud")
)

const tenantInfoHelp = "Constant 1, with the tenant's directory id, national cloud and the labels the configuration gives it."

// tenantInfo returns the tenant_info descriptor for a tenant with the given
// labels from the configuration, and their values, in label name order.
// Tenants with different labels have different descriptors of one family.
func tenantInfo(labels map[string]string) (*prometheus.Desc, []string) {
	if len(labels) == 0 {
		return tenantInfoDesc, nil
	}
	names := slices.Sorted(maps.Keys(labels))
	values := make([]string, len(names))
	for i, n := range names {
		values[i] = labels[n]
	}
	d := prometheus.NewDesc(namespace+"_tenant_info", tenantInfoHelp, append([]string{"tenant", "tenant_id", "cloud"}, names...), nil)
	return d, values
}

// allDescs is every descriptor the exporter can emit.
var allDescs = []*prometheus.Desc{
	credentialUsersDesc, credentialRegistrationUsersDesc,
	credentialUsageActivitiesDesc, credentialUsageFailedActivitiesDesc,
	credentialDetailsUsersDesc, credentialDetailsStatusUsersDesc, credentialDetailsMethodUsersDesc,
	credentialUsageEventsDesc, credentialUsageEventFailuresDesc,
	usersDesc, usersByFeatureDesc, usersByMethodDesc, usersByPreferredMethodDesc,
	eventsDesc, eventFailuresDesc, periodEventsDesc, periodEventFailuresDesc, periodUsersDesc, periodFailedUsersDesc, eventKeysEvictedDesc,
	dailySigninsDesc, dailySigninsTimestampDesc,
	dailyPasswordOperationsDesc, dailyPasswordOperationsTimestampDesc,
	reportUpDesc, reportLastSuccessDesc, reportDurationDesc, reportRecordsDesc, reportErrorsDesc,
	reportDuplicatesDesc, labelValuesDroppedDesc,
	pollIntervalDesc, pollOverrunsDesc, graphRequestsDesc, tenantInfoDesc,
}

// sample is one series of a snapshot: its descriptor, value and label
// values after tenant. A snapshot keeps samples rather than const metrics,
// which hold every label as a name and value pair of their own: with many
// tenants those pairs were most of the exporter's memory (BENCHMARKS.md).
type sample struct {
	desc   *prometheus.Desc
	kind   prometheus.ValueType
	value  float64
	labels []string
}

// snapshot is the samples of one report (or of a tenant's status) at one
// moment. It is never changed once stored.
type snapshot []sample

// constMetrics returns the snapshot as const metrics of the tenant. A label
// value the client library rejects (not UTF-8) drops its series rather
// than failing the scrape.
func (s snapshot) constMetrics(tenant string) []prometheus.Metric {
	out := make([]prometheus.Metric, 0, len(s))
	for _, x := range s {
		if m, err := prometheus.NewConstMetric(x.desc, x.kind, x.value, append([]string{tenant}, x.labels...)...); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// collect sends the snapshot as const metrics of the tenant.
func (s snapshot) collect(tenant string, ch chan<- prometheus.Metric) {
	for _, m := range s.constMetrics(tenant) {
		ch <- m
	}
}

// metricSet accumulates the samples of one snapshot for one tenant.
type metricSet struct {
	tenant  string
	metrics snapshot
}

// add appends a sample; label values come from Graph, so a value the
// client library would reject is dropped here, where it is noticed.
func (s *metricSet) add(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	for _, l := range labels {
		if !utf8.ValidString(l) {
			return
		}
	}
	s.metrics = append(s.metrics, sample{desc: d, kind: t, value: v, labels: labels})
}

func (s *metricSet) gauge(d *prometheus.Desc, v float64, labels ...string) {
	s.add(d, prometheus.GaugeValue, v, labels...)
}

func (s *metricSet) counter(d *prometheus.Desc, v float64, labels ...string) {
	s.add(d, prometheus.CounterValue, v, labels...)
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
