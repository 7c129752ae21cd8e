package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// Metrics of user_events_summary, user_mfa_signin_summary and
// user_password_resets_summary.
const (
	events              = "entra_authmethods_events_total"
	eventFailures       = "entra_authmethods_event_failures_total"
	periodEvents        = "entra_authmethods_period_events"
	periodEventFailures = "entra_authmethods_period_event_failures"
	dailySignins        = "entra_authmethods_daily_signins"
	dailyPasswordOps    = "entra_authmethods_daily_password_operations"
)

// eventFeature is a value of the feature label of the event metrics.
type eventFeature struct {
	name   string // label value
	title  string // "Registrations"
	noun   string // "Registration", in compound titles
	events string // "registrations of ...", in descriptions
}

var (
	registration = eventFeature{"registration", "Registrations", "Registration", "registrations of authentication methods"}
	reset        = eventFeature{"reset", "Password resets", "Password reset", "self-service password resets"}
)

// windowRatio is the failure ratio within the exporter's d1/d7/d30 windows.
func windowRatio(by string, matchers ...string) string {
	return fmt.Sprintf("sum by (%s) (%s) / sum by (%s) (%s)",
		by, sel(periodEventFailures, matchers...), by, sel(periodEvents, matchers...))
}

func activity() *board {
	d := newDashboard("entra-authmethods-activity", "Entra ID authentication methods / Activity",
		"Registrations of authentication methods and self-service password resets: how many, how many fail and why; daily sign-ins and password operations.",
		"now-7d", "15m")

	d.WithRow(dashboard.NewRowBuilder("Overview"))
	for _, a := range []eventFeature{registration, reset} {
		d.WithPanel(statPanel(a.title+", last 7 days",
			"Attempted "+a.events+" within the 7 days before the exporter's last poll (userEventsSummary).",
			units.Short, neutral(),
			series(fmt.Sprintf("sum by (tenant) (%s)", sel(periodEvents, `feature="`+a.name+`"`, `period="d7"`)), "{{tenant}}")).Span(6))
		d.WithPanel(statPanel(a.noun+" failure ratio, last 7 days",
			"Share of "+a.events+" that failed within the 7 days before the exporter's last poll.",
			units.PercentUnit, failureRatio(),
			series(windowRatio("tenant", `feature="`+a.name+`"`, `period="d7"`), "{{tenant}}")).Span(6))
	}
	d.WithPanel(tablePanel("Events and failures by window",
		"Registrations and resets within the last day (d1), 7 days (d7) and 30 days (d30) before the last poll, with their failures.",
		units.Short,
		column{name: "Events", expr: fmt.Sprintf("sum by (tenant, feature, period) (%s)", sel(periodEvents))},
		column{name: "Failures", expr: fmt.Sprintf("sum by (tenant, feature, period) (%s)", sel(periodEventFailures))},
		column{name: "Failure ratio", unit: units.PercentUnit, expr: windowRatio("tenant, feature, period")}))
	d.WithPanel(timeseriesPanel("Failure ratio by window",
		"Share of registrations and resets that failed within the d1, d7 and d30 windows, as of each poll.",
		units.PercentUnit,
		series(windowRatio("tenant, feature, period"), "{{tenant}} {{feature}} {{period}}")).Max(1))

	for _, a := range []eventFeature{registration, reset} {
		f := `feature="` + a.name + `"`
		d.WithRow(dashboard.NewRowBuilder(a.title))
		d.WithPanel(timeseriesPanel(a.title+" by method",
			"New "+a.events+" seen per interval, by method, from the events_total counter.",
			units.Short,
			series(fmt.Sprintf("sum by (tenant, method) (increase(%s[$__rate_interval]))", sel(events, f)), "{{method}} ({{tenant}})")))
		d.WithPanel(timeseriesPanel("Failed "+strings.ToLower(a.title)+" by method",
			"New failed "+a.events+" seen per interval, by method, from the event_failures_total counter.",
			units.Short,
			series(fmt.Sprintf("sum by (tenant, method) (increase(%s[$__rate_interval]))", sel(eventFailures, f)), "{{method}} ({{tenant}})")))
		d.WithPanel(barGaugePanel(a.title+" by method, last 7 days",
			"Attempted "+a.events+" by method within the 7 days before the last poll.",
			units.Short,
			instant(fmt.Sprintf("sort_desc(sum by (tenant, method) (%s))", sel(periodEvents, f, `period="d7"`)), "{{method}} ({{tenant}})")))
		d.WithPanel(barGaugePanel(a.noun+" failure ratio by method, last 7 days",
			"Share of "+a.events+" that failed, by method, within the 7 days before the last poll; methods without attempts are left out.",
			units.PercentUnit,
			instant(fmt.Sprintf("sort_desc(sum by (tenant, method) (%s) / (sum by (tenant, method) (%s) > 0))",
				sel(periodEventFailures, f, `period="d7"`), sel(periodEvents, f, `period="d7"`)), "{{method}} ({{tenant}})")).
			Max(1).Thresholds(failureRatio()))
	}

	d.WithRow(dashboard.NewRowBuilder("Failure reasons"))
	d.WithPanel(timeseriesPanel("Failure ratio from the counters",
		"Failed events as a share of all events seen per interval, from the counters; gaps where no events arrived.",
		units.PercentUnit,
		series(fmt.Sprintf("sum by (tenant, feature) (increase(%s[$__rate_interval])) / sum by (tenant, feature) (increase(%s[$__rate_interval]))",
			sel(eventFailures), sel(events)), "{{tenant}} {{feature}}")).Max(1))
	d.WithPanel(timeseriesPanel("Top failure reasons",
		"The ten failure reasons with the most new failed events per interval; unspecified when Graph gives none.",
		units.Short,
		series(fmt.Sprintf("topk(10, sum by (tenant, feature, reason) (increase(%s[$__rate_interval])))", sel(eventFailures)), "{{feature}}: {{reason}} ({{tenant}})")))
	d.WithPanel(tablePanel("Failure reasons over the time range",
		"Failed events seen within the dashboard's time range, by feature and reason, most frequent first.",
		units.Short,
		column{name: "Failures", expr: fmt.Sprintf("topk(25, sum by (tenant, feature, reason) (increase(%s[$__range])))", sel(eventFailures))}))
	d.WithPanel(tablePanel("Failure reasons by method over the time range",
		"Failed events seen within the dashboard's time range, by feature, method and reason, most frequent first.",
		units.Short,
		column{name: "Failures", expr: fmt.Sprintf("topk(25, sum by (tenant, feature, method, reason) (increase(%s[$__range])))", sel(eventFailures))}))

	d.WithRow(dashboard.NewRowBuilder("Sign-ins and password operations, daily"))
	d.WithPanel(timeseriesPanel("Single- and multi-factor sign-ins per day",
		"Sign-ins on the newest day of userMfaSignInSummary, single-factor and multi-factor; the value steps once a day.",
		units.Short,
		series(fmt.Sprintf("sum by (tenant, factor) (%s)", sel(dailySignins)), "{{tenant}} {{factor}}-factor")))
	d.WithPanel(timeseriesPanel("Password resets and changes per day",
		"Password resets by admins, self-service resets and self-service changes on the newest day of userPasswordResetsAndChangesSummary.",
		units.Short,
		series(fmt.Sprintf("sum by (tenant, operation) (%s)", sel(dailyPasswordOps)), "{{tenant}} {{operation}}")))
	d.WithPanel(statPanel("Multi-factor share of sign-ins",
		"Multi-factor sign-ins as a share of all sign-ins on the newest day reported.",
		units.PercentUnit, coverage(),
		series(fmt.Sprintf("sum by (tenant) (%s) / sum by (tenant) (%s)", sel(dailySignins, `factor="multi"`), sel(dailySignins)), "{{tenant}}")).
		Min(0).Max(1).Span(8))
	d.WithPanel(statPanel("Self-service share of password resets",
		"Self-service resets as a share of all password resets (self-service and by admins) on the newest day reported.",
		units.PercentUnit, neutral(),
		series(fmt.Sprintf("sum by (tenant) (%s) / sum by (tenant) (%s)",
			sel(dailyPasswordOps, `operation="self_service_reset"`), sel(dailyPasswordOps, `operation=~"admin_reset|self_service_reset"`)), "{{tenant}}")).
		Min(0).Max(1).Span(8))
	d.WithPanel(statPanel("Day of the daily summaries",
		"The day the daily sign-in and password numbers describe; Graph's summaries lag by a day or more.",
		units.DateTimeFromNow, neutral(),
		series(fmt.Sprintf("max by (tenant) (%s) * 1000", sel("entra_authmethods_daily_signins_timestamp_seconds")), "{{tenant}} sign-ins"),
		series(fmt.Sprintf("max by (tenant) (%s) * 1000", sel("entra_authmethods_daily_password_operations_timestamp_seconds")), "{{tenant}} password operations")).
		GraphMode(common.BigValueGraphModeNone).Span(8))

	legacy := dashboard.NewRowBuilder("Legacy usage reports (getCredentialUsageSummary, userCredentialUsageDetails)")
	legacy.WithPanel(timeseriesPanel("Activities by feature and period (getCredentialUsageSummary)",
		"Successful and failed registration and reset activities in each period of the deprecated usage-summary report.",
		units.Short,
		series(fmt.Sprintf("sum by (tenant, feature, period) (%s)", sel("entra_authmethods_credential_usage_activities")), "{{tenant}} {{feature}} {{period}}")))
	legacy.WithPanel(timeseriesPanel("Failed activities by feature and period (getCredentialUsageSummary)",
		"Failed registration and reset activities in each period of the deprecated usage-summary report.",
		units.Short,
		series(fmt.Sprintf("sum by (tenant, feature, period) (%s)", sel("entra_authmethods_credential_usage_failed_activities")), "{{tenant}} {{feature}} {{period}}")))
	legacy.WithPanel(tablePanel("Activities by method (getCredentialUsageSummary)",
		"Activities and failed activities by period, feature and method in the deprecated usage-summary report.",
		units.Short,
		column{name: "Activities", expr: fmt.Sprintf("sum by (tenant, period, feature, method) (%s)", sel("entra_authmethods_credential_usage_activities"))},
		column{name: "Failed", expr: fmt.Sprintf("sum by (tenant, period, feature, method) (%s)", sel("entra_authmethods_credential_usage_failed_activities"))}))
	legacy.WithPanel(timeseriesPanel("Usage events (userCredentialUsageDetails, stopped 2025-08-01)",
		"New registration and reset events, and failed ones, seen per interval in the deprecated usage-details report.",
		units.Short,
		series(fmt.Sprintf("sum by (tenant, feature) (increase(%s[$__rate_interval]))", sel("entra_authmethods_credential_usage_events_total")), "{{tenant}} {{feature}}"),
		series(fmt.Sprintf("sum by (tenant, feature) (increase(%s[$__rate_interval]))", sel("entra_authmethods_credential_usage_event_failures_total")), "{{tenant}} {{feature}} failed")))
	d.WithRow(legacy)
	return d
}
