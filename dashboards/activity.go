package dashboards

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

// Metrics of user_events_summary, user_mfa_signin_summary,
// user_password_resets_summary and the legacy usage reports.
var (
	periodEvents         = metric("entra_authmethods_period_events", "period", "feature", "method")
	periodEventFailures  = metric("entra_authmethods_period_event_failures", "period", "feature", "method")
	periodUsers          = metric("entra_authmethods_period_users", "period", "feature")
	periodFailedUsers    = metric("entra_authmethods_period_failed_users", "period", "feature")
	periodFailureReasons = metric("entra_authmethods_period_failure_reasons", "period", "feature", "reason")
	newestEvent          = metric("entra_authmethods_newest_event_timestamp_seconds", "feature")
	dailySignins         = metric("entra_authmethods_daily_signins", "factor")
	dailySigninsTime     = metric("entra_authmethods_daily_signins_timestamp_seconds")
	dailyPasswordOps     = metric("entra_authmethods_daily_password_operations", "operation")
	dailyPasswordOpsTime = metric("entra_authmethods_daily_password_operations_timestamp_seconds")

	credentialActivities       = metric("entra_authmethods_credential_usage_activities", "period", "feature", "method")
	credentialFailedActivities = metric("entra_authmethods_credential_usage_failed_activities", "period", "feature", "method")
	credentialEvents           = metric("entra_authmethods_credential_usage_events_total", "feature", "method")
	credentialEventFailures    = metric("entra_authmethods_credential_usage_event_failures_total", "feature", "method", "reason")
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

func (a eventFeature) matcher() string { return `feature="` + a.name + `"` }

// window is a value of the period label of the window gauges: events within
// that long before the exporter's last poll, recomputed from Graph's data at
// every poll (so restarts change nothing).
type window struct{ name, title string }

var (
	h1  = window{"h1", "last hour"}
	h6  = window{"h6", "last 6 hours"}
	d1  = window{"d1", "last day"}
	d7  = window{"d7", "last 7 days"}
	d30 = window{"d30", "last 30 days"}

	// The windows shown side by side; d30 only in the table.
	windows = []window{h1, h6, d1, d7}
)

func (w window) matcher() string { return `period="` + w.name + `"` }

// periodNames shows the period label's values as words in tables.
func periodNames() []dashboard.ValueMapping {
	var names []mapped
	for _, w := range []window{h1, h6, d1, d7, d30} {
		names = append(names, mapped{value: w.name, text: w.title})
	}
	return []dashboard.ValueMapping{valueText(names...)}
}

// windowRatio is the failure ratio within the windows, by the given labels;
// nothing (not NaN) where a window holds no events.
func windowRatio(by string, matchers ...string) string {
	return ratio(sumBy(by, one(periodEventFailures, matchers...)), sumBy(by, one(periodEvents, matchers...)))
}

// minMethodEvents is the fewest events a method's failure ratio is shown for.
const minMethodEvents = 20

// spike holds what a failure-spike alert evaluates (rules.Spike says when it
// fires), per tenant, feature and window (h1 and h6). Each method's events
// are expected to fail at its own baseline B_m, the failure ratio of its
// events in the 7 days before the last 6 hours, (F_d7,m - F_h6,m) /
// (E_d7,m - E_h6,m), if it had enough events then; else at the feature's B
// (0 while those days had no events). X_w = sum over m of E_w,m × B_m are
// the expected failures, V_w = sum of E_w,m × B_m × (1 - B_m) their variance.
type spike struct {
	events, failures, failingUsers string // E_w, F_w, U_w
	ratio                          string // F_w / E_w
	baseline, baselineOrZero       string // the feature's B (nothing without events), and as the rules take it
	expectedRatio                  string // X_w / E_w
	threshold                      string // X_w / E_w + MinPoints
	excess                         string // F_w - X_w
	zscore                         string // (F_w - X_w) / sqrt(V_w + 1)
	conditions                     string // 1 when rules.Spike's four conditions hold, else 0
}

// newSpike is what the spike alert evaluates in the windows windows
// matches (`period=~"h1|h6"`); methods need minBaselineEvents events in the
// 7 days before the last 6 hours for a baseline of their own.
func newSpike(a eventFeature, s rules.Spike, minBaselineEvents int, windows string) spike {
	f := a.matcher()
	byWindow, byFeature, byMethod := "tenant, feature, period", "tenant, feature", "tenant, feature, method"
	at := func(by, metric string, w window) string { return sumBy(by, one(metric, f, w.matcher())) }
	// The failure ratio of the 7 days before the last 6 hours where its events pass cond.
	before := func(by, cond string) string {
		return fmt.Sprintf("(%s - %s) / ((%s - %s) %s)",
			at(by, periodEventFailures, d7), at(by, periodEventFailures, h6), at(by, periodEvents, d7), at(by, periodEvents, h6), cond)
	}
	x := spike{
		events:       sumBy(byWindow, one(periodEvents, f, windows)),
		failures:     sumBy(byWindow, one(periodEventFailures, f, windows)),
		failingUsers: one(periodFailedUsers, f, windows),
		baseline:     before(byFeature, "> 0"),
	}
	x.ratio = ratio(x.failures, x.events)
	x.baselineOrZero = fmt.Sprintf("(%s or 0 * %s)", x.baseline, at(byFeature, periodEvents, d7))
	expectedAt := fmt.Sprintf("(%s or on (tenant, feature, method) (0 * %s + on (tenant, feature) group_left () %s))",
		before(byMethod, fmt.Sprintf(">= %d", minBaselineEvents)), at(byMethod, periodEvents, d7), x.baselineOrZero)
	methodEvents := sumBy("tenant, feature, method, period", one(periodEvents, f, windows))
	expected := sumBy(byWindow, fmt.Sprintf("%s * on (tenant, feature, method) group_left () %s", methodEvents, expectedAt))
	variance := sumBy(byWindow, fmt.Sprintf("%s * on (tenant, feature, method) group_left () (%s * (1 - %s))", methodEvents, expectedAt, expectedAt))
	x.expectedRatio = ratio(expected, x.events)
	x.threshold = x.expectedRatio + " + " + strconv.FormatFloat(s.MinPoints, 'g', -1, 64)
	x.excess = fmt.Sprintf("%s - %s", x.failures, expected)
	x.zscore = fmt.Sprintf("(%s) / sqrt(%s + 1)", x.excess, variance)
	x.conditions = fmt.Sprintf("((%s) >= bool %d) * ((%s) >= bool %s) * ((%s) >= bool (%s)) * (%s >= bool %d)",
		x.excess, s.MinExcessFailures, x.zscore, strconv.FormatFloat(s.MinZ, 'g', -1, 64), x.ratio, x.threshold, x.failingUsers, s.MinFailingUsers)
	return x
}

// spikePanels show what a feature's spike alert evaluates: now, in a table,
// and over time against its thresholds.
func spikePanels(a eventFeature, s rules.Spike, minBaselineEvents int) []cog.Builder[dashboard.Panel] {
	x := newSpike(a, s, minBaselineEvents, `period=~"`+h1.name+"|"+h6.name+`"`)
	noun := strings.ToLower(a.noun)
	points := strconv.FormatFloat(math.Round(s.MinPoints*1000)/10, 'f', -1, 64) // "10" for 0.1
	excessName := fmt.Sprintf("Excess failures (alert from %d)", s.MinExcessFailures)
	zName := fmt.Sprintf("Significance (alert from %s)", strconv.FormatFloat(s.MinZ, 'g', -1, 64))
	usersName := fmt.Sprintf("Failing users (alert from %d)", s.MinFailingUsers)
	t := tablePanel(a.noun+" failure spike: the alert's inputs now",
		fmt.Sprintf("Per tenant and window (last hour, last 6 hours), as the spike alert computes them: the failure ratio; the expected ratio (each method's events at its own failure ratio of the 7 days before the last 6 hours, or the feature's for a method with fewer than %d events then, 0 without history); the threshold the ratio must reach; failures beyond the expected; how many standard deviations of the expected failures that is; and distinct users with a failure. The alert fires while all four hold (ratio, %s, %s, %s) in the last hour, or in the last 6 hours while the last hour (if it has events) is still above the expected ratio by half the points, and only from fresh data (the events report succeeded within two of its poll intervals).", minBaselineEvents, excessName, zName, usersName),
		units.PercentUnit,
		column{name: "Failure ratio", expr: x.ratio},
		column{name: "Expected ratio", expr: x.expectedRatio},
		column{name: "Threshold: expected + " + points + " points", expr: x.threshold},
		column{name: "Events", unit: units.Short, expr: x.events},
		column{name: "Failures", unit: units.Short, expr: x.failures},
		column{name: excessName, unit: units.Short, expr: "clamp_min(" + x.excess + ", 0)"}, // fewer failures than expected are no excess
		column{name: zName, unit: units.Short, expr: "clamp_min(" + x.zscore + ", 0)"},
		column{name: usersName, unit: units.Short, expr: x.failingUsers},
		column{name: "All four hold", unit: units.NoUnit, expr: x.conditions}).
		Span(24).Height(6).
		NoValue("no events").
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]bool{"feature": true},
			"renameByName":  map[string]string{"period": "Window"},
		}})
	t.OverrideByName("Window", []dashboard.DynamicConfigValue{{Id: "mappings", Value: periodNames()}})
	colorCells(t, excessName, thresholds("green", step{float64(s.MinExcessFailures), "red"}))
	colorCells(t, zName, thresholds("green", step{s.MinZ, "red"}))
	colorCells(t, usersName, thresholds("green", step{float64(s.MinFailingUsers), "red"}))
	t.OverrideByName("All four hold", []dashboard.DynamicConfigValue{
		{Id: "mappings", Value: []dashboard.ValueMapping{valueText(mapped{"0", "no", "green"}, mapped{"1", "yes", "red"})}},
		{Id: "custom.cellOptions", Value: map[string]string{"type": "color-background"}},
	})

	return []cog.Builder[dashboard.Panel]{
		t,
		dashedLine(timeseriesPanel(a.noun+" failure ratio against the alert's threshold",
			"The failure ratio in the last hour and the last 6 hours, the feature's baseline (its failure ratio of the 7 days before), and the threshold the alert needs in each window (the expected ratio of its mix of methods + "+points+" points, dashed); gaps where a window holds no events.",
			units.PercentUnit,
			series(x.ratio, "{{tenant}} {{period}}"),
			series(x.baseline, "{{tenant}} baseline"),
			series(x.threshold, "{{tenant}} {{period}} threshold")), "C").
			Max(1).Span(8),
		thresholdLine(timeseriesPanel("Excess "+noun+" failures against the alert's minimum",
			fmt.Sprintf("Failures in the last hour and the last 6 hours beyond those expected of their mix of methods (0 when fewer failed than expected); the alert needs at least %d (dashed).", s.MinExcessFailures),
			units.Short, series("clamp_min("+x.excess+", 0)", "{{tenant}} {{period}}")), float64(s.MinExcessFailures)).
			Span(8),
		thresholdLine(timeseriesPanel("Users with a failed "+noun+" against the alert's minimum",
			fmt.Sprintf("Distinct users with at least one failed %s in the last hour and the last 6 hours; the alert needs at least %d (dashed).", noun, s.MinFailingUsers),
			units.Short, series(x.failingUsers, "{{tenant}} {{period}}")), float64(s.MinFailingUsers)).
			Span(8),
	}
}

func activity(p Params) *board {
	d := newDashboard(p, "activity", "Entra ID authentication methods / Activity",
		"Registrations of authentication methods and self-service password resets: how many, how many fail and why, and what the failure-spike alerts see; daily sign-ins and password operations.",
		"now-7d", "15m")

	d.WithRow(dashboard.NewRowBuilder("Overview"))
	for _, a := range []eventFeature{registration, reset} {
		var counts, ratios []*query
		for _, w := range windows {
			counts = append(counts, instant(sumBy("tenant", one(periodEvents, a.matcher(), w.matcher())), "{{tenant}} "+w.title))
			ratios = append(ratios, instant(windowRatio("tenant", a.matcher(), w.matcher()), "{{tenant}} "+w.title))
		}
		d.WithPanel(statPanel(a.title+" by window",
			"Attempted "+a.events+" within the last hour, 6 hours, day and 7 days before the exporter's last poll (userEventsSummary).",
			units.Short, neutral(), counts...).Span(6))
		d.WithPanel(ratioStat(a.noun+" failure ratio by window",
			"Share of "+a.events+" that failed within the last hour, 6 hours, day and 7 days before the exporter's last poll; no events when a window holds none.",
			failureRatio(), ratios...).Span(6))
	}
	byWindow := "tenant, feature, period"
	hasEvents := func(expr string) string {
		return fmt.Sprintf("%s and on (%s) (%s > 0)", expr, byWindow, sumBy(byWindow, one(periodEvents)))
	}
	windowsTable := tablePanel("Events and failures by window",
		"Registrations and resets within the last hour, 6 hours, day, 7 and 30 days before the last poll: events, failures, their ratio, and the distinct users with an event and with a failure. Windows without events are left out.",
		units.Short,
		column{name: "Events", expr: sumBy(byWindow, one(periodEvents)) + " > 0"},
		column{name: "Failures", expr: hasEvents(sumBy(byWindow, one(periodEventFailures)))},
		column{name: "Failure ratio", unit: units.PercentUnit, expr: windowRatio(byWindow)},
		column{name: "Users", expr: hasEvents(one(periodUsers))},
		column{name: "Failing users", expr: hasEvents(one(periodFailedUsers))}).
		Span(24).NoValue("no events")
	windowsTable.OverrideByName("period", []dashboard.DynamicConfigValue{{Id: "mappings", Value: periodNames()}})
	colorCells(windowsTable, "Failure ratio", failureRatio())
	d.WithPanel(windowsTable)
	d.WithPanel(timeseriesPanel("Age of the newest event in Graph's report",
		"How long before now the newest registration and the newest reset in userEventsSummary happened, as of the last poll: Graph's lag, plus the quiet time since the last event. When it grows far beyond what a tenant usually shows, an empty last hour means Graph is late, not that nobody tried.",
		units.Seconds, series("time() - "+one(newestEvent), "{{tenant}} {{feature}}")).Span(24))

	for _, a := range []eventFeature{registration, reset} {
		f := a.matcher()
		d.WithRow(dashboard.NewRowBuilder(a.title))
		d.WithPanel(tableLegend(timeseriesPanel(a.title+" by method, last hour",
			"Attempted "+a.events+" within the hour before each poll, by method: a rate per hour that restarts do not disturb.",
			units.Short, series(sumBy("tenant, method", one(periodEvents, f, h1.matcher())), "{{method}} ({{tenant}})"))))
		d.WithPanel(tableLegend(timeseriesPanel("Failed "+strings.ToLower(a.title)+" by method, last hour",
			"Failed "+a.events+" within the hour before each poll, by method.",
			units.Short, series(sumBy("tenant, method", one(periodEventFailures, f, h1.matcher())), "{{method}} ({{tenant}})"))))
		var ratios, failing []*query
		for _, w := range windows {
			ratios = append(ratios, series(windowRatio("tenant", f, w.matcher()), "{{tenant}} "+w.title))
		}
		for _, w := range windows[:3] {
			failing = append(failing, series(one(periodFailedUsers, f, w.matcher()), "{{tenant}} "+w.title))
		}
		d.WithPanel(timeseriesPanel(a.noun+" failure ratio by window",
			"Share of "+a.events+" that failed within the last hour, 6 hours, day and 7 days, as of each poll; gaps where a window holds no events.",
			units.PercentUnit, ratios...).Max(1))
		d.WithPanel(timeseriesPanel("Users with a failed "+strings.ToLower(a.noun)+" by window",
			"Distinct users with at least one failed "+strings.ToLower(a.noun)+" within the last hour, 6 hours and day, as of each poll: one user retrying counts once.",
			units.Short, failing...))
		d.WithPanel(barGaugePanel(a.title+" by method, last 7 days",
			"Attempted "+a.events+" by method within the 7 days before the last poll; methods without attempts are left out.",
			units.Short, bars(sumBy("tenant, method", one(periodEvents, f, d7.matcher())), "{{method}} ({{tenant}})")))
		d.WithPanel(barGaugePanel(a.noun+" failure ratio by method, last 7 days",
			fmt.Sprintf("Share of %s that failed, by method, within the 7 days before the last poll; methods with fewer than %d attempts are left out, as their ratio says little (1 failure of 2 is 50%%).", a.events, minMethodEvents),
			units.PercentUnit,
			instant(fmt.Sprintf("sort_desc(%s and on (tenant, method) (%s >= %d))", windowRatio("tenant, method", f, d7.matcher()),
				sumBy("tenant, method", one(periodEvents, f, d7.matcher())), minMethodEvents), "{{method}} ({{tenant}})")).
			Max(1).Thresholds(failureRatio()))
	}

	// The paging alert's row is open; the registration one's is collapsed.
	d.WithRow(dashboard.NewRowBuilder(reset.noun + " failure spike alert: what it evaluates"))
	for _, panel := range spikePanels(reset, p.Rules.ResetSpike, p.Rules.MethodSpike.MinBaselineEvents) {
		d.WithPanel(panel)
	}
	registrationSpike := dashboard.NewRowBuilder(registration.noun + " failure spike alert: what it evaluates").Collapsed(true)
	for _, panel := range spikePanels(registration, p.Rules.RegistrationSpike, p.Rules.MethodSpike.MinBaselineEvents) {
		registrationSpike.WithPanel(panel)
	}
	d.WithRow(registrationSpike)

	d.WithRow(dashboard.NewRowBuilder("Failure reasons"))
	byReason := "tenant, feature, reason"
	d.WithPanel(barGaugePanel("Top failure reasons, last 7 days",
		"The ten failure reasons with the most failed events within the 7 days before the last poll (unspecified when Graph gives none); recomputed from Graph's data at every poll, so restarts change nothing.",
		units.Short,
		instant("sort_desc(topk(10, "+sumBy(byReason, one(periodFailureReasons, d7.matcher()))+" > 0))", "{{feature}}: {{reason}} ({{tenant}})")))
	var reasonColumns []column
	for _, w := range windows {
		reasonColumns = append(reasonColumns, column{name: strings.ToUpper(w.title[:1]) + w.title[1:],
			expr: sumBy(byReason, one(periodFailureReasons, w.matcher())) + " > 0"})
	}
	d.WithPanel(tablePanel("Failure reasons by window",
		"Failed registrations and resets by Graph's failure reason within the last hour, 6 hours, day and 7 days before the last poll; reasons without failures in a window are left empty.",
		units.Short, reasonColumns...).NoValue("No failures"))

	d.WithRow(dashboard.NewRowBuilder("Sign-ins and password operations, daily"))
	d.WithPanel(timeseriesPanel("Single- and multi-factor sign-ins per day",
		"Sign-ins on the newest day of userMfaSignInSummary, single-factor and multi-factor; a step per day, drawn from when the exporter saw it (Graph's summaries lag a day or more).",
		units.Short, series(sumBy("tenant, factor", one(dailySignins)), "{{tenant}} {{factor}}-factor")))
	d.WithPanel(timeseriesPanel("Password resets and changes per day",
		"Password resets by admins, self-service resets and self-service changes on the newest day of userPasswordResetsAndChangesSummary; a step per day.",
		units.Short, series(sumBy("tenant, operation", one(dailyPasswordOps)), "{{tenant}} {{operation}}")))
	d.WithPanel(ratioStat("Multi-factor share of sign-ins",
		"Multi-factor sign-ins as a share of all sign-ins on the newest day reported.",
		coverage(),
		instant(ratio(sumBy("tenant", one(dailySignins, `factor="multi"`)), sumBy("tenant", one(dailySignins))), "{{tenant}}")).
		Span(8))
	d.WithPanel(ratioStat("Self-service share of password resets",
		"Self-service resets as a share of all password resets (self-service and by admins) on the newest day reported.",
		neutral(),
		instant(ratio(sumBy("tenant", one(dailyPasswordOps, `operation="self_service_reset"`)),
			sumBy("tenant", one(dailyPasswordOps, `operation=~"admin_reset|self_service_reset"`))), "{{tenant}}")).
		Span(8))
	d.WithPanel(statPanel("Day of the daily summaries",
		"The day the daily sign-in and password numbers describe; Graph's summaries lag by a day or more.",
		units.DateTimeFromNow, neutral(),
		instant(one(dailySigninsTime)+" * 1000", "{{tenant}} sign-ins"),
		instant(one(dailyPasswordOpsTime)+" * 1000", "{{tenant}} password operations")).
		Span(8))

	legacy := dashboard.NewRowBuilder("Legacy usage reports (getCredentialUsageSummary, userCredentialUsageDetails)")
	for _, m := range []struct{ metric, title, what string }{
		{credentialActivities, "Activities", "Successful and failed registration and reset activities"},
		{credentialFailedActivities, "Failed activities", "Failed registration and reset activities"},
	} {
		legacy.WithPanel(timeseriesPanel(m.title+" by feature and period (getCredentialUsageSummary)",
			m.what+" in each period of the deprecated usage-summary report.",
			units.Short, series(sumBy("tenant, feature, period", one(m.metric)), "{{tenant}} {{feature}} {{period}}")))
	}
	byMethod := "tenant, period, feature, method"
	activities := sumBy(byMethod, one(credentialActivities))
	legacy.WithPanel(tablePanel("Activities by method (getCredentialUsageSummary)",
		"Activities and failed activities by period, feature and method in the deprecated usage-summary report; methods without activities are left out.",
		units.Short,
		column{name: "Activities", expr: activities + " > 0"},
		column{name: "Failed", expr: fmt.Sprintf("%s and on (%s) (%s > 0)", sumBy(byMethod, one(credentialFailedActivities)), byMethod, activities)}).
		NoValue("No activities"))
	legacy.WithPanel(tablePanel("Usage events over the time range (userCredentialUsageDetails, stopped 2025-08-01)",
		"Registration and reset events, and failed ones, counted within the dashboard's time range in the deprecated usage-details report.",
		units.Short,
		column{name: "Events", expr: sumBy("tenant, feature", overRange(credentialEvents)) + " > 0"},
		column{name: "Failed", expr: sumBy("tenant, feature", overRange(credentialEventFailures)) + " > 0"}).
		NoValue("No events"))
	d.WithRow(legacy)
	return d
}
