package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// The exporter's own metrics: how its polls of Graph go.
const (
	reportUp      = "entra_authmethods_report_up"
	lastSuccess   = "entra_authmethods_report_last_success_timestamp_seconds"
	pollDuration  = "entra_authmethods_report_duration_seconds"
	reportRecords = "entra_authmethods_report_records"
	duplicates    = "entra_authmethods_report_duplicate_records"
	reportErrors  = "entra_authmethods_report_errors_total"
	graphRequests = "entra_authmethods_graph_requests_total"
	pollInterval  = "entra_authmethods_poll_interval_seconds"
	pollOverruns  = "entra_authmethods_poll_overruns_total"
	evictedKeys   = "entra_authmethods_event_keys_evicted_total"
	droppedValues = "entra_authmethods_label_values_dropped_total"
	tenantInfo    = "entra_authmethods_tenant_info"
	buildInfo     = "entra_authmethods_exporter_build_info"

	// Once per process, without tenant: with --total-shards=N, N processes
	// (targets of the job) each poll their own tenants.
	shardInfo        = "entra_authmethods_shard_info"
	shardsConfigured = "entra_authmethods_shards_configured"
)

// timesPollInterval is the unit of data ages divided by the poll interval.
const timesPollInterval = "suffix:×"

// Data ages: seconds since each report's last successful poll, and the same
// in that report's poll intervals (each report has its own: 30m or 6h by
// default). Just before a poll the age is about one interval (plus jitter
// and the poll's duration); from 1.5 a poll is late or has failed.
var (
	dataAge          = fmt.Sprintf("max by (tenant, report) (time() - %s)", sel(lastSuccess))
	dataAgeIntervals = fmt.Sprintf("%s / (%s > 0)", dataAge, one(pollInterval))
)

// A tenant's shortest and longest poll interval among its reports.
var (
	shortestInterval = fmt.Sprintf("min by (tenant) (%s)", one(pollInterval))
	longestInterval  = fmt.Sprintf("max by (tenant) (%s)", one(pollInterval))
)

// Shards: the distinct shards the job's scraped targets run (a target down
// or gone has no shard_info), and the --total-shards they run with; 1 and
// 1 when the exporter is not sharded.
var (
	shardsUp       = fmt.Sprintf("count(count by (shard) (max by (%s) (%s)))", strings.Join(processLabels[shardInfo], ", "), perTarget(shardInfo))
	shardsExpected = fmt.Sprintf("max by () (%s)", perTarget(shardsConfigured))
)

func staleness() *dashboard.ThresholdsConfigBuilder {
	return thresholds("green", step{1.5, "orange"}, step{3, "red"})
}

// Exporter states of the headline: up, or down (a target's scrape fails),
// or absent (the job has no target: gone from service discovery).
const (
	exporterUp     = 1
	exporterDown   = 0
	exporterAbsent = -1
)

// exporterState is the headline's query: the worst target's up, or absent.
var exporterState = fmt.Sprintf("min(%s) or on () vector(%d)", up, exporterAbsent)

// upDown shows up (and report_up) as up (green) and down (red), and the
// headline's absent in red.
func upDown() []dashboard.ValueMapping {
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			fmt.Sprint(exporterAbsent): {Text: cog.ToPtr("absent"), Color: cog.ToPtr("red"), Index: cog.ToPtr[int32](0)},
			fmt.Sprint(exporterDown):   {Text: cog.ToPtr("down"), Color: cog.ToPtr("red"), Index: cog.ToPtr[int32](1)},
			fmt.Sprint(exporterUp):     {Text: cog.ToPtr("up"), Color: cog.ToPtr("green"), Index: cog.ToPtr[int32](2)},
		},
	}}, noData()}
}

// throttledShare is the share of Graph requests answered with 429 over the
// time range; 0, not nothing, while no 429 has been seen (the series for
// code 429 only appears with the first one).
func throttledShare() string {
	all := sumBy("tenant", overRange(graphRequests))
	throttled := sumBy("tenant", overRange(graphRequests, `code="429"`))
	return fmt.Sprintf("(%s or 0 * %s) / (%s > 0)", throttled, all, all)
}

// upTimeline is a state timeline of up/down values.
func upTimeline(title, description string, q *query) *statetimeline.PanelBuilder {
	return statetimeline.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets([]*query{q})).
		Interval(minInterval).
		Unit(units.NoUnit).
		Mappings(upDown()).
		Thresholds(thresholds("red", step{1, "green"})).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ShowValue(common.VisibilityModeNever).
		MergeValues(true).
		RowHeight(0.8).
		FillOpacity(80).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(false).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
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
		units.NoUnit, thresholds("red", step{exporterUp, "green"}),
		instant(exporterState, "exporter")).
		Mappings(upDown()).
		ColorMode(common.BigValueColorModeBackground))
	d.WithPanel(statPanel("Targets down",
		"Targets of the job whose last scrape failed; no data when the job has no target.",
		units.Short, zeroIsGood(),
		instant(fmt.Sprintf("count(%s == 0) or on () (0 * count(%s))", up, up), "targets down")).
		Span(3))
	shards := statPanel("Shards",
		"Shards scraped (distinct shards among the targets that answer) and configured (--total-shards): 1 and 1 when the exporter is not sharded. Fewer scraped than configured: the tenants of the missing shards are not watched (alert EntraAuthMethodsShardMissing).",
		units.Short, thresholds("red", step{1, "green"}),
		instant(shardsUp, "scraped"),
		instant(shardsExpected, "configured")).
		TextMode(common.BigValueTextModeValueAndName).
		Span(3)
	shards.OverrideByQuery("B", neutralValues())
	d.WithPanel(shards)
	d.WithPanel(statPanel("Reports failing",
		"Reports whose last poll failed (report_up is 0); their previous values stay on /metrics.",
		units.Short, zeroIsGood(),
		instant(sumBy("tenant", "1 - "+one(reportUp)), "{{tenant}}")).
		Span(3))
	d.WithPanel(statPanel("Oldest data, in poll intervals",
		"Age of the oldest report's data divided by that report's poll interval: about 1 just before a poll, 1.5 and more when polls are late or fail.",
		timesPollInterval, staleness(),
		instant(fmt.Sprintf("max by (tenant) (%s)", dataAgeIntervals), "{{tenant}}")).Decimals(1))
	d.WithPanel(statPanel("Oldest data",
		"Time since the oldest report's last successful poll.",
		units.Seconds, neutral(),
		instant(fmt.Sprintf("max by (tenant) (%s)", dataAge), "{{tenant}}")).
		Span(3))
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
		Span(24).
		NoValue("no data")
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
	d.WithPanel(timeseriesPanel("Poll duration",
		"How long each report's last poll took, paging and pacing for Graph's throttling included.",
		units.Seconds,
		series(one(pollDuration), "{{tenant}} {{report}}")))
	d.WithPanel(timeseriesPanel("Records read",
		"Records each report's last successful poll read from Graph (users, events, days).",
		units.Short,
		series(one(reportRecords), "{{tenant}} {{report}}")))
	d.WithPanel(colorCells(tablePanel("Failed polls by reason over the time range",
		"Failed polls within the dashboard's time range by report and reason (auth, forbidden, throttled, timeout, ...); the log line of each failure says what usually fixes it. No rows while every poll succeeds.",
		units.Short,
		column{name: "Failed polls", expr: sumBy("tenant, report, reason", overRange(reportErrors)) + " > 0"}).
		NoValue("No failed polls"),
		"Failed polls", zeroIsGood()))
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
		units.Short,
		instant("sort_desc("+sumBy("tenant, code", overRange(graphRequests))+" > 0)", "{{code}} ({{tenant}})")).
		Span(16))
	d.WithPanel(ratioStat("Throttled share over the time range",
		"Share of Graph requests answered with 429 Too Many Requests within the dashboard's time range; the exporter paces itself to keep this at 0.",
		thresholds("green", step{0.01, "orange"}, step{0.1, "red"}),
		instant(throttledShare(), "{{tenant}}")).
		Mappings([]dashboard.ValueMapping{special("no requests", "text")}).
		NoValue("no requests").
		Span(8).Height(8))

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
		column{name: "build_info", hidden: true, expr: fmt.Sprintf("max by (%s) (%s)",
			strings.Join(processLabels[buildInfo], ", "), perTarget(buildInfo))}).
		Span(8).Height(5))
	return d
}
