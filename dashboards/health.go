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
const (
	reportUp      = "entra_authmethods_report_up"
	lastSuccess   = "entra_authmethods_report_last_success_timestamp_seconds"
	pollDuration  = "entra_authmethods_report_duration_seconds"
	reportRecords = "entra_authmethods_report_records"
	reportErrors  = "entra_authmethods_report_errors_total"
	graphRequests = "entra_authmethods_graph_requests_total"
	pollInterval  = "entra_authmethods_poll_interval_seconds"
)

// timesPollInterval is the unit of data ages divided by the poll interval.
const timesPollInterval = "suffix:×"

// Data ages: seconds since each report's last successful poll, and the same
// in poll intervals. Just before a poll the age is about one interval (plus
// jitter and the poll's duration); from 1.5 a poll is late or has failed.
var (
	dataAge          = fmt.Sprintf("max by (tenant, report) (time() - %s)", sel(lastSuccess))
	dataAgeIntervals = fmt.Sprintf("%s / on (tenant) group_left () max by (tenant) (%s)", dataAge, sel(pollInterval))
)

func staleness() *dashboard.ThresholdsConfigBuilder {
	return thresholds("green", step{1.5, "orange"}, step{3, "red"})
}

// upDown shows report_up as up (green) and down (red).
func upDown() []dashboard.ValueMapping {
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			"0": {Text: cog.ToPtr("down"), Color: cog.ToPtr("red"), Index: cog.ToPtr[int32](0)},
			"1": {Text: cog.ToPtr("up"), Color: cog.ToPtr("green"), Index: cog.ToPtr[int32](1)},
		},
	}}}
}

// throttledShare is the share of Graph requests answered with 429 over the
// range r; 0, not nothing, while no 429 has been seen (the series for code
// 429 only appears with the first one).
func throttledShare(r string) string {
	all := fmt.Sprintf("sum by (tenant) (rate(%s[%s]))", sel(graphRequests), r)
	throttled := fmt.Sprintf("sum by (tenant) (rate(%s[%s]))", sel(graphRequests, `code="429"`), r)
	return fmt.Sprintf("(%s or 0 * %s) / %s", throttled, all, all)
}

func exporterHealth() *board {
	d := newDashboard("entra-authmethods-exporter-health", "Entra ID authentication methods / Exporter health",
		"Whether the exporter's polls of Microsoft Graph succeed, how old its data is, how long polls take and how Graph answers.",
		"now-6h", "1m")

	d.WithRow(dashboard.NewRowBuilder("Status"))
	d.WithPanel(statPanel("Reports failing",
		"Reports whose last poll failed (report_up is 0); their previous values stay on /metrics.",
		units.Short, zeroIsGood(),
		series(fmt.Sprintf("sum by (tenant) (1 - %s)", sel(reportUp)), "{{tenant}}")).Span(6))
	d.WithPanel(statPanel("Oldest data, in poll intervals",
		"Age of the oldest report's data divided by the poll interval: about 1 just before a poll, 1.5 and more when polls are late or fail.",
		timesPollInterval, staleness(),
		series(fmt.Sprintf("max by (tenant) (%s)", dataAgeIntervals), "{{tenant}}")).Decimals(1).Span(6))
	d.WithPanel(statPanel("Oldest data",
		"Time since the oldest report's last successful poll.",
		units.Seconds, neutral(),
		series(fmt.Sprintf("max by (tenant) (%s)", dataAge), "{{tenant}}")).Span(6))
	d.WithPanel(statPanel("Poll interval",
		"The configured poll_interval: how often each report is fetched from Graph.",
		units.Seconds, neutral(),
		series(fmt.Sprintf("max by (tenant) (%s)", sel(pollInterval)), "{{tenant}}")).
		GraphMode(common.BigValueGraphModeNone).Span(6))
	d.WithPanel(statetimeline.NewPanelBuilder().
		Title("Report status").
		Description("Whether each report's last poll succeeded (up) or failed (down), over time.").
		Datasource(datasourceRef()).
		Targets(targets([]*query{series(fmt.Sprintf("max by (tenant, report) (%s)", sel(reportUp)), "{{tenant}} {{report}}")})).
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
		Height(8).Span(24))
	reports := tablePanel("Reports",
		"Per report: last poll's status, age of its data (also in poll intervals), poll duration, records read, and failed polls in the time range.",
		units.Short,
		column{name: "Status", unit: units.NoUnit, expr: fmt.Sprintf("max by (tenant, report) (%s)", sel(reportUp))},
		column{name: "Data age", unit: units.Seconds, expr: dataAge},
		column{name: "Age in poll intervals", unit: timesPollInterval, expr: dataAgeIntervals},
		column{name: "Last poll duration", unit: units.Seconds, expr: fmt.Sprintf("max by (tenant, report) (%s)", sel(pollDuration))},
		column{name: "Records", expr: fmt.Sprintf("max by (tenant, report) (%s)", sel(reportRecords))},
		column{name: "Failed polls", expr: fmt.Sprintf("sum by (tenant, report) (increase(%s[$__range]))", sel(reportErrors))}).
		Span(24)
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
	d.WithPanel(timeseriesPanel("Data age",
		"Time since each report's last successful poll; the dashed line is twice the poll interval, which the age should stay below.",
		units.Seconds,
		series(dataAge, "{{tenant}} {{report}}"),
		series(fmt.Sprintf("2 * max by (tenant) (%s)", sel(pollInterval)), "{{tenant}} 2 × poll interval")).
		OverrideByQuery("B", []dashboard.DynamicConfigValue{
			{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
			{Id: "color", Value: map[string]string{"mode": "fixed", "fixedColor": "red"}},
			{Id: "custom.fillOpacity", Value: 0},
		}))
	d.WithPanel(timeseriesPanel("Poll duration",
		"How long each report's last poll took, paging and pacing for Graph's throttling included.",
		units.Seconds,
		series(fmt.Sprintf("max by (tenant, report) (%s)", sel(pollDuration)), "{{tenant}} {{report}}")))
	d.WithPanel(timeseriesPanel("Records read",
		"Records each report's last successful poll read from Graph (users, events, days).",
		units.Short,
		series(fmt.Sprintf("max by (tenant, report) (%s)", sel(reportRecords)), "{{tenant}} {{report}}")))
	d.WithPanel(timeseriesPanel("Poll errors by reason",
		"Failed polls per interval by reason (auth, forbidden, throttled, timeout, ...); the log line of each failure says what usually fixes it.",
		units.Short,
		series(fmt.Sprintf("sum by (tenant, reason) (increase(%s[$__rate_interval]))", sel(reportErrors)), "{{tenant}} {{reason}}")))

	d.WithRow(dashboard.NewRowBuilder("Microsoft Graph"))
	d.WithPanel(timeseriesPanel("Graph requests by status code",
		"HTTP requests the exporter sent to Graph per second, retries included, by the status code of the response.",
		units.RequestsPerSecond,
		series(fmt.Sprintf("sum by (tenant, code) (rate(%s[$__rate_interval]))", sel(graphRequests)), "{{tenant}} {{code}}")).
		Span(9))
	d.WithPanel(timeseriesPanel("Throttled requests (HTTP 429)",
		"Share of Graph requests answered with 429 Too Many Requests; the exporter paces itself to keep this at 0.",
		units.PercentUnit,
		series(throttledShare("$__rate_interval"), "{{tenant}}")).
		Max(1).
		Thresholds(thresholds("green", step{0.01, "orange"}, step{0.1, "red"})).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
		Span(9))
	d.WithPanel(statPanel("Throttled share over the time range",
		"Share of Graph requests answered with 429 within the dashboard's time range.",
		units.PercentUnit, thresholds("green", step{0.01, "orange"}, step{0.1, "red"}),
		instant(throttledShare("$__range"), "{{tenant}}")).
		GraphMode(common.BigValueGraphModeNone).Span(6).Height(8))

	d.WithRow(dashboard.NewRowBuilder("Exporter"))
	d.WithPanel(tablePanel("Exporter and tenants",
		"Each tenant's directory id and cloud, the exporter's version, and the configured poll interval.",
		units.Short,
		column{name: "tenant_info", hidden: true, expr: fmt.Sprintf("max by (tenant, tenant_id, cloud) (%s)", sel("entra_authmethods_tenant_info"))},
		column{name: "build_info", hidden: true, expr: fmt.Sprintf("max by (tenant, version, revision, goversion) (%s)", sel("entra_authmethods_exporter_build_info"))},
		column{name: "Poll interval", unit: units.Seconds, expr: fmt.Sprintf("max by (tenant) (%s)", sel(pollInterval))}).
		Span(24).Height(5))
	return d
}
