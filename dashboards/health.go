package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// The exporter's own metrics: how its polls of Graph go.
var (
	reportUp      = metric("entra_authmethods_report_up", "report")
	lastSuccess   = metric("entra_authmethods_report_last_success_timestamp_seconds", "report")
	pollDuration  = metric("entra_authmethods_report_duration_seconds", "report")
	reportRecords = metric("entra_authmethods_report_records", "report")
	duplicates    = metric("entra_authmethods_report_duplicate_records", "report")
	reportErrors  = metric("entra_authmethods_report_errors_total", "report", "reason")
	graphRequests = metric("entra_authmethods_graph_requests_total", "code")
	pollInterval  = metric("entra_authmethods_poll_interval_seconds", "report")
	pollOverruns  = metric("entra_authmethods_poll_overruns_total")
	evictedKeys   = metric("entra_authmethods_event_keys_evicted_total", "report")
	droppedValues = metric("entra_authmethods_label_values_dropped_total", "report", "label")
	tenantInfo    = metric("entra_authmethods_tenant_info", "tenant_id", "cloud")

	// Once per process, without tenant: with --total-shards=N, N processes
	// (targets of the job) each poll their own tenants.
	buildInfo        = processMetric("entra_authmethods_exporter_build_info", "version", "revision", "goversion")
	shardInfo        = processMetric("entra_authmethods_shard_info", "shard", "total_shards")
	shardsConfigured = processMetric("entra_authmethods_shards_configured")
)

// timesPollInterval is the unit of data ages divided by the poll interval.
const timesPollInterval = "suffix:×"

// Data ages: seconds since each report's last successful poll, and the same
// in that report's poll intervals (each report has its own: 30m or 6h by
// default). Just before a poll the age is about one interval (plus jitter
// and the poll's duration); from 1.5 a poll is late or has failed.
var (
	dataAge          = fmt.Sprintf("max by (tenant, report) (time() - %s)", sel(lastSuccess))
	dataAgeIntervals = ratio(dataAge, one(pollInterval))
)

// A tenant's shortest and longest poll interval among its reports.
var (
	shortestInterval = fmt.Sprintf("min by (tenant) (%s)", one(pollInterval))
	longestInterval  = fmt.Sprintf("max by (tenant) (%s)", one(pollInterval))
)

func staleness() *dashboard.ThresholdsConfigBuilder {
	return thresholds("green", step{1.5, "orange"}, step{3, "red"})
}

// upDown shows up (and report_up) as up (green) and down (red), and the
// headline's -1, the job without a target, as absent in red.
func upDown() []dashboard.ValueMapping {
	return []dashboard.ValueMapping{valueText(mapped{"-1", "absent", "red"}, mapped{"0", "down", "red"}, mapped{"1", "up", "green"}), noData()}
}

// upTimeline is a state timeline of up/down values, without a legend.
func upTimeline(title, description string, q *query) *statetimeline.PanelBuilder {
	return newPanel(statetimeline.NewPanelBuilder(), title, description, units.NoUnit, []*query{q}).
		Mappings(upDown()).
		Thresholds(thresholds("red", step{1, "green"})).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ShowValue(common.VisibilityModeNever).
		RowHeight(0.8).
		FillOpacity(80).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeSingle).Sort(common.SortOrderNone)).
		Height(8).Span(24)
}

func exporterHealth(p Params) *board {
	d := newDashboard(p, "exporter-health", "Entra ID authentication methods / Exporter health",
		"Whether Prometheus reaches the exporter, whether its polls of Microsoft Graph succeed, how old its data is, how long polls take and how Graph answers.",
		"now-6h", "1m")

	d.WithRow(dashboard.NewRowBuilder("Status"))
	d.WithPanel(statPanel("Exporter",
		"Whether Prometheus scrapes the exporter: up; down when a target's scrape fails (up is 0); absent when the job has no target at all (gone from service discovery). Any other view of a stopped exporter shows no data.",
		units.NoUnit, thresholds("red", step{1, "green"}),
		// The worst target's up, or -1 (absent) when the job has no target.
		instant("min("+up+") or on () vector(-1)", "exporter")).
		Mappings(upDown()).
		ColorMode(common.BigValueColorModeBackground))
	d.WithPanel(statPanel("Targets down",
		"Targets of the job whose last scrape failed; no data when the job has no target.",
		units.Short, zeroIsGood(), instant(fmt.Sprintf("count(%s == 0) or on () (0 * count(%s))", up, up), "targets down")).
		Span(3))
	shards := statPanel("Shards",
		"Shards scraped (distinct shards among the targets that answer) and configured (--total-shards): 1 and 1 when the exporter is not sharded. Fewer scraped than configured: the tenants of the missing shards are not watched (alert EntraAuthMethodsShardMissing).",
		units.Short, thresholds("red", step{1, "green"}),
		// A target down or gone has no shard_info.
		instant("count(count by (shard) ("+onePerTarget(shardInfo)+"))", "scraped"),
		instant(onePerTarget(shardsConfigured), "configured")).
		TextMode(common.BigValueTextModeValueAndName).Span(3)
	// The configured count is neither good nor bad.
	neutralSteps, _ := neutral().Build() // thresholds() never records an error
	shards.OverrideByQuery("B", []dashboard.DynamicConfigValue{{Id: "thresholds", Value: neutralSteps}})
	d.WithPanel(shards)
	d.WithPanel(statPanel("Reports failing",
		"Reports whose last poll failed (report_up is 0); their previous values stay on /metrics.",
		units.Short, zeroIsGood(), instant(sumBy("tenant", "1 - "+one(reportUp)), "{{tenant}}")).Span(3))
	d.WithPanel(statPanel("Oldest data, in poll intervals",
		"Age of the oldest report's data divided by that report's poll interval: about 1 just before a poll, 1.5 and more when polls are late or fail.",
		timesPollInterval, staleness(), instant(fmt.Sprintf("max by (tenant) (%s)", dataAgeIntervals), "{{tenant}}")).Decimals(1))
	d.WithPanel(statPanel("Oldest data",
		"Time since the oldest report's last successful poll.",
		units.Seconds, neutral(), instant(fmt.Sprintf("max by (tenant) (%s)", dataAge), "{{tenant}}")).Span(3))
	d.WithPanel(statPanel("Poll intervals",
		"How often the tenant's reports are fetched from Graph: the shortest and the longest interval among its reports (report_poll_intervals, else poll_interval); the Reports table has each report's.",
		units.Seconds, neutral(),
		instant(shortestInterval, "{{tenant}} shortest"),
		instant(longestInterval, "{{tenant}} longest")))
	d.WithPanel(upTimeline("Exporter targets",
		"Whether each target of the job was scraped successfully (up) or not (down), over time; a target gone from service discovery leaves a gap.",
		series(fmt.Sprintf("max by (job, instance) (%s)", up), "{{job}} {{instance}}")).Height(5))
	d.WithPanel(upTimeline("Report status",
		"Whether each report's last poll succeeded (up) or failed (down), over time.",
		series(one(reportUp), "{{tenant}} {{report}}")))
	reports := tablePanel("Reports",
		"Per report: last poll's status, age of its data (also in its poll intervals), its poll interval, poll duration, records read and repeated records ignored, and failed polls in the time range.",
		units.Short,
		column{name: "Status", unit: units.NoUnit, expr: one(reportUp)},
		column{name: "Data age", unit: units.Seconds, expr: dataAge},
		column{name: "Age in poll intervals", unit: timesPollInterval, expr: dataAgeIntervals},
		column{name: "Poll interval", unit: units.Seconds, expr: one(pollInterval)},
		column{name: "Last poll duration", unit: units.Seconds, expr: one(pollDuration)},
		column{name: "Records", expr: one(reportRecords)},
		column{name: "Repeated records", expr: one(duplicates)},
		column{name: "Failed polls", expr: sumBy("tenant, report", overRange(reportErrors))}).
		Span(24).NoValue("no data")
	reports.OverrideByName("Status", []dashboard.DynamicConfigValue{
		{Id: "mappings", Value: upDown()},
		{Id: "custom.cellOptions", Value: map[string]string{"type": "color-background"}},
	})
	colorCells(reports, "Age in poll intervals", staleness())
	colorCells(reports, "Failed polls", zeroIsGood())
	reports.OverrideByName("Age in poll intervals", []dashboard.DynamicConfigValue{{Id: "decimals", Value: 1}})
	// The stalest data first, which is where failing reports end up.
	reports.SortBy([]cog.Builder[common.TableSortByFieldState]{
		common.NewTableSortByFieldStateBuilder().DisplayName("Age in poll intervals").Desc(true),
	})
	d.WithPanel(reports)

	d.WithRow(dashboard.NewRowBuilder("Polls"))
	d.WithPanel(dashedLine(dashedLine(timeseriesPanel("Data age",
		"Time since each report's last successful poll, which should stay below twice the report's poll interval; the dashed lines are twice the tenant's shortest and longest interval (the Reports table has each report's).",
		units.Seconds,
		series(dataAge, "{{tenant}} {{report}}"),
		series("2 * "+shortestInterval, "{{tenant}} 2 × shortest poll interval"),
		series("2 * "+longestInterval, "{{tenant}} 2 × longest poll interval")), "B"), "C"))
	for _, m := range []struct{ title, description, unit, metric string }{
		{"Poll duration", "How long each report's last poll took, paging and pacing for Graph's throttling included.", units.Seconds, pollDuration},
		{"Records read", "Records each report's last successful poll read from Graph (users, events, days).", units.Short, reportRecords},
	} {
		d.WithPanel(timeseriesPanel(m.title, m.description, m.unit, series(one(m.metric), "{{tenant}} {{report}}")))
	}
	d.WithPanel(tablePanel("Failed polls by reason over the time range",
		"Failed polls within the dashboard's time range by report and reason (auth, forbidden, throttled, timeout, ...); the log line of each failure says what usually fixes it. No rows while every poll succeeds.",
		units.Short,
		column{name: "Failed polls", expr: sumBy("tenant, report, reason", overRange(reportErrors)) + " > 0", th: zeroIsGood()}).
		NoValue("No failed polls"))
	d.WithPanel(tablePanel("Overruns, evicted event keys and dropped label values over the time range",
		"Within the time range: rounds of polls that ended after a report was due again, event keys forgotten early (such events may be counted again), and label values counted as other past max_label_values. No rows while none happened.",
		units.Short,
		column{name: "Poll overruns", expr: sumBy("tenant", overRange(pollOverruns)) + " > 0"},
		column{name: "Evicted event keys", expr: sumBy("tenant", overRange(evictedKeys)) + " > 0"},
		column{name: "Dropped label values", expr: sumBy("tenant", overRange(droppedValues)) + " > 0"}).
		NoValue("None"))

	d.WithRow(dashboard.NewRowBuilder("Microsoft Graph"))
	d.WithPanel(barGaugePanel("Graph requests by status code over the time range",
		"HTTP requests the exporter sent to Graph within the dashboard's time range, retries included, by the status code of the response.",
		units.Short, bars(sumBy("tenant, code", overRange(graphRequests)), "{{code}} ({{tenant}})")).Span(16))
	requests := sumBy("tenant", overRange(graphRequests))
	throttled := sumBy("tenant", overRange(graphRequests, `code="429"`))
	d.WithPanel(ratioStat("Throttled share over the time range",
		"Share of Graph requests answered with 429 Too Many Requests within the dashboard's time range; the exporter paces itself to keep this at 0.",
		thresholds("green", step{0.01, "orange"}, step{0.1, "red"}),
		// 0, not nothing, before the first 429: only then does its series appear.
		instant(ratio("("+throttled+" or 0 * "+requests+")", requests), "{{tenant}}")).
		Mappings([]dashboard.ValueMapping{special("no requests", "text")}).
		NoValue("no requests").Span(8).Height(8))

	d.WithRow(dashboard.NewRowBuilder("Exporter"))
	d.WithPanel(tablePanel("Tenants",
		"Each tenant's directory id and cloud, and the shortest and longest poll interval among the tenant's reports.",
		units.Short,
		column{name: "tenant_info", hidden: true, expr: one(tenantInfo)},
		column{name: "Shortest poll interval", unit: units.Seconds, expr: shortestInterval},
		column{name: "Longest poll interval", unit: units.Seconds, expr: longestInterval}).
		Span(16).Height(5))
	d.WithPanel(tablePanel("Exporter versions",
		"The versions of the exporter the selected targets run: more than one during a rollout.",
		units.Short,
		column{name: "build_info", hidden: true, expr: onePerTarget(buildInfo)}).
		Span(8).Height(5))
	return d
}
