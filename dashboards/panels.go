package dashboards

import (
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// This file holds the shapes every dashboard is made of: selectors that
// always carry the job, instance and tenant filters, series merged over
// targets, queries bound to the datasource variable, and the four panel kinds
// (stat, timeseries, bar gauge, table) with the defaults the dashboards share.
// Each helper returns the SDK's builder, so a dashboard can still adjust a
// panel (size, legend, overrides) where it needs to.

// Matchers of the dashboard variables. Every selector of the exporter's
// metrics carries the first three; user_type only where the metric has it.
const (
	jobMatcher      = `job=~"$job"`
	instanceMatcher = `instance=~"$instance"`
	tenantMatcher   = `tenant=~"$tenant"`
	userTypeMatcher = `user_type=~"$user_type"`
)

// minInterval is every panel's minimum query interval: a 60 s scrape then
// always has a sample per step, and Grafana's $__rate_interval is at least
// four scrapes long.
const minInterval = "1m"

// sel is a selector of one of the exporter's metrics with the given label
// matchers and the variables' filters, e.g.
// sel("entra_authmethods_users", `admin="true"`) is
// entra_authmethods_users{admin="true", job=~"$job", instance=~"$instance", tenant=~"$tenant"}.
func sel(metric string, matchers ...string) string {
	return metric + "{" + strings.Join(slices.Concat(matchers, []string{jobMatcher, instanceMatcher, tenantMatcher}), ", ") + "}"
}

// up is Prometheus's own target health of the exporter's targets; it has no
// tenant, since a target serves all of its tenants.
const up = `up{` + jobMatcher + `, ` + instanceMatcher + `}`

// ownLabels are each metric's labels besides tenant (and the job and
// instance Prometheus adds): the labels one merges a metric's series over
// targets by.
var ownLabels = map[string][]string{
	users:             {"user_type", "admin"},
	usersByFeature:    {"user_type", "admin", "feature"},
	usersByMethod:     {"user_type", "admin", "method"},
	usersByPreference: {"user_type", "admin", "method"},

	events:               {"feature", "method"},
	eventFailures:        {"feature", "method", "reason"},
	periodEvents:         {"period", "feature", "method"},
	periodEventFailures:  {"period", "feature", "method"},
	periodUsers:          {"period", "feature"},
	periodFailedUsers:    {"period", "feature"},
	dailySignins:         {"factor"},
	dailySigninsTime:     nil,
	dailyPasswordOps:     {"operation"},
	dailyPasswordOpsTime: nil,

	credentialUsers:              nil,
	credentialRegistrationUsers:  {"status"},
	credentialDetailsUsers:       nil,
	credentialDetailsStatusUsers: {"status"},
	credentialDetailsMethodUsers: {"method"},
	credentialActivities:         {"period", "feature", "method"},
	credentialFailedActivities:   {"period", "feature", "method"},
	credentialEvents:             {"feature", "method"},
	credentialEventFailures:      {"feature", "method", "reason"},

	reportUp:      {"report"},
	lastSuccess:   {"report"},
	pollDuration:  {"report"},
	reportRecords: {"report"},
	duplicates:    {"report"},
	reportErrors:  {"report", "reason"},
	graphRequests: {"code"},
	pollInterval:  {"report"},
	pollOverruns:  nil,
	evictedKeys:   {"report"},
	droppedValues: {"report", "label"},
	tenantInfo:    {"tenant_id", "cloud"},
}

// processLabels are the labels of the metrics the exporter has once per
// process (a target) rather than per tenant: they have no tenant label, so
// their selectors carry no tenant filter (perTarget).
var processLabels = map[string][]string{
	buildInfo:        {"version", "revision", "goversion"},
	shardInfo:        {"shard", "total_shards"},
	shardsConfigured: nil,
}

// perTarget is a selector of one of the metrics of processLabels, with the
// job and instance filters only: a tenant selection leaves it whole.
func perTarget(metric string) string {
	if _, ok := processLabels[metric]; !ok {
		panic("dashboards: " + metric + " is not a metric of the process")
	}
	return metric + "{" + jobMatcher + ", " + instanceMatcher + "}"
}

// mergeBy is the label list a metric's series are merged by: tenant and its own labels.
func mergeBy(metric string) string {
	labels, ok := ownLabels[metric]
	if !ok {
		panic("dashboards: no ownLabels for " + metric)
	}
	return strings.Join(append([]string{"tenant"}, labels...), ", ")
}

// one is a metric's series merged over targets: two jobs or two targets
// scraping the same exporter expose the same series, and max keeps one of
// each before anything sums them.
func one(metric string, matchers ...string) string {
	return fmt.Sprintf("max by (%s) (%s)", mergeBy(metric), sel(metric, matchers...))
}

// overRange is a counter's increase over the dashboard's time range, merged
// over targets. The exporter's counters step once per poll, so only ranges
// much longer than the poll interval say something; a restart makes the
// event counters count Graph's 30 days again.
func overRange(counter string, matchers ...string) string {
	return fmt.Sprintf("max by (%s) (increase(%s[$__range]))", mergeBy(counter), sel(counter, matchers...))
}

// sumBy sums expr by the given labels.
func sumBy(by, expr string) string { return fmt.Sprintf("sum by (%s) (%s)", by, expr) }

// ratio divides, leaving out series whose denominator is 0 (no events, no
// users) rather than showing NaN.
func ratio(numerator, denominator string) string {
	return fmt.Sprintf("%s / (%s > 0)", numerator, denominator)
}

// datasourceRef points at the dashboard's datasource variable.
func datasourceRef() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${" + datasourceVariable + "}")}
}

// query is a Prometheus query of a panel.
type query = prometheus.DataqueryBuilder

// series is a range query, drawn over the dashboard's time range.
func series(expr, legend string) *query {
	return prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(legend).Range()
}

// instant is a query for the value at the end of the time range: what stat,
// bar gauge and table panels show, so a target that went down shows no data
// rather than its last value.
func instant(expr, legend string) *query {
	return prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(legend).Instant()
}

// targets names the queries A, B, C... and binds them to the datasource variable.
func targets(queries []*query) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], 0, len(queries))
	for i, q := range queries {
		out = append(out, q.RefId(refID(i)).Datasource(datasourceRef()))
	}
	return out
}

func refID(i int) string { return string(rune('A' + i)) }

// step is a threshold: from this value up, the panel shows color.
type step struct {
	from  float64
	color string
}

// thresholds colors values below the first step with base.
func thresholds(base string, steps ...step) *dashboard.ThresholdsConfigBuilder {
	list := []dashboard.Threshold{{Color: base}}
	for _, s := range steps {
		list = append(list, dashboard.Threshold{Value: cog.ToPtr(s.from), Color: s.color})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(list)
}

// neutral is for values that are neither good nor bad.
func neutral() *dashboard.ThresholdsConfigBuilder { return thresholds("text") }

// neutralValues overrides a query's or column's thresholds with neutral().
func neutralValues() []dashboard.DynamicConfigValue {
	steps, _ := neutral().Build() // a fixed, valid configuration
	return []dashboard.DynamicConfigValue{{Id: "thresholds", Value: steps}}
}

// zeroIsGood marks anything from one up red (failing reports, unprotected admins).
func zeroIsGood() *dashboard.ThresholdsConfigBuilder { return thresholds("green", step{1, "red"}) }

// coverage is for shares of users that should approach 100%.
func coverage() *dashboard.ThresholdsConfigBuilder {
	return thresholds("red", step{0.8, "orange"}, step{0.95, "green"})
}

// failureRatio is for the share of failed registrations or resets.
func failureRatio() *dashboard.ThresholdsConfigBuilder {
	return thresholds("green", step{0.1, "orange"}, step{0.25, "red"})
}

// special maps a value that is missing (the query returned nothing) or NaN
// to text and color.
func special(text, color string) dashboard.ValueMapping {
	return dashboard.ValueMapping{SpecialValueMap: &dashboard.SpecialValueMap{
		Type: dashboard.MappingTypeSpecialValue,
		Options: dashboard.DashboardSpecialValueMapOptions{
			Match:  dashboard.SpecialValueMatchNullAndNan,
			Result: dashboard.ValueMappingResult{Text: cog.ToPtr(text), Color: cog.ToPtr(color), Index: cog.ToPtr[int32](0)},
		},
	}}
}

// noData is what a stat shows when its query returns nothing: in red, since
// that is what a stopped exporter or a vanished target looks like.
func noData() dashboard.ValueMapping { return special("no data", "red") }

// noEvents is what a ratio shows whose denominator is 0.
func noEvents() dashboard.ValueMapping { return special("no events", "text") }

// statPanel is a single value per series (one per tenant, usually), colored
// by the thresholds; its queries should be instant ones. Nothing returned
// shows "no data" in red.
func statPanel(title, description, unit string, th *dashboard.ThresholdsConfigBuilder, queries ...*query) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(queries)).
		Interval(minInterval).
		Unit(unit).
		Thresholds(th).
		Mappings([]dashboard.ValueMapping{noData()}).
		NoValue("no data").
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"last"}).Values(false)).
		GraphMode(common.BigValueGraphModeNone).
		ColorMode(common.BigValueColorModeValue).
		TextMode(common.BigValueTextModeAuto).
		JustifyMode(common.BigValueJustifyModeAuto).
		Orientation(common.VizOrientationAuto).
		Height(5).
		Span(4)
}

// ratioStat is a stat of a ratio guarded with ratio(): "no events" when
// there is nothing to divide by.
func ratioStat(title, description string, th *dashboard.ThresholdsConfigBuilder, queries ...*query) *stat.PanelBuilder {
	return statPanel(title, description, "percentunit", th, queries...).
		Mappings([]dashboard.ValueMapping{noEvents()}).
		NoValue("no events").
		Min(0).Max(1)
}

// timeseriesPanel draws its queries over time, half the dashboard wide, from
// 0 up (lower where values are negative). The exporter's values change once
// per poll, so lines step rather than slope, and a missing value leaves a gap.
func timeseriesPanel(title, description, unit string, queries ...*query) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(queries)).
		Interval(minInterval).
		Unit(unit).
		AxisSoftMin(0).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdPaletteClassic)).
		LineWidth(1).
		FillOpacity(10).
		LineInterpolation(common.LineInterpolationStepAfter).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			ShowLegend(true).
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending)).
		Height(8).
		Span(12)
}

// tableLegend shows a legend with the last and the largest value, for
// panels with many series.
func tableLegend(p *timeseries.PanelBuilder) *timeseries.PanelBuilder {
	return p.Legend(common.NewVizLegendOptionsBuilder().
		ShowLegend(true).
		DisplayMode(common.LegendDisplayModeTable).
		Placement(common.LegendPlacementRight).
		Calcs([]string{"lastNotNull", "max"}).
		SortBy("Last *").
		SortDesc(true))
}

// dashedLine draws a query's series (a threshold) as a dashed red line.
func dashedLine(p *timeseries.PanelBuilder, ref string) *timeseries.PanelBuilder {
	return p.OverrideByQuery(ref, []dashboard.DynamicConfigValue{
		{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
		{Id: "color", Value: map[string]string{"mode": "fixed", "fixedColor": "red"}},
		{Id: "custom.fillOpacity", Value: 0},
	})
}

// thresholdLine draws a fixed threshold as a dashed red line across a panel.
func thresholdLine(p *timeseries.PanelBuilder, from float64) *timeseries.PanelBuilder {
	return p.Thresholds(thresholds("transparent", step{from, "red"})).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
}

// barGaugePanel shows the current value of each series as a horizontal bar;
// its queries should be instant ones, sorted with sort_desc (or sort).
func barGaugePanel(title, description, unit string, queries ...*query) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(queries)).
		Interval(minInterval).
		Unit(unit).
		Min(0).
		Thresholds(thresholds("blue")).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"last"}).Values(false)).
		Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeGradient).
		ValueMode(common.BarGaugeValueModeColor).
		NamePlacement(common.BarGaugeNamePlacementLeft).
		ShowUnfilled(true).
		Height(8).
		Span(12)
}

// column is one value column of a table: an instant query whose labels
// become the other columns.
type column struct {
	name   string // header of the value column
	unit   string // unit of this column; "" is the panel's unit
	hidden bool   // for queries that only contribute labels (info metrics)
	expr   string
}

// tablePanel joins instant queries on their common labels into one table:
// the label columns first, then one value column per query, sorted by the
// first visible value column, largest first.
func tablePanel(title, description, unit string, columns ...column) *table.PanelBuilder {
	queries := make([]*query, 0, len(columns))
	rename := map[string]string{}
	exclude := map[string]bool{"Time": true}
	sortBy := ""
	for i, c := range columns {
		queries = append(queries, prometheus.NewDataqueryBuilder().Expr(c.expr).Instant().Format(prometheus.PromQueryFormatTable))
		// Grafana names the value column "Value" for a single query and
		// "Value #<refId>" when there are several.
		field := "Value"
		if len(columns) > 1 {
			field += " #" + refID(i)
		}
		if c.hidden {
			exclude[field] = true
			continue
		}
		rename[field] = c.name
		if sortBy == "" {
			sortBy = c.name
		}
	}
	p := table.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(queries)).
		Interval(minInterval).
		Unit(unit).
		Thresholds(thresholds("text")).
		CellHeight(common.TableCellHeightSm).
		ShowHeader(true).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName(sortBy).Desc(true),
		}).
		Height(8).
		Span(12)
	if len(columns) > 1 {
		p.WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}})
	}
	p.WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
		"excludeByName": exclude,
		"renameByName":  rename,
	}})
	for _, c := range columns {
		if c.unit != "" && !c.hidden {
			p.OverrideByName(c.name, []dashboard.DynamicConfigValue{{Id: "unit", Value: c.unit}})
		}
	}
	return p
}

// colorCells colors a table column's cells by the panel's thresholds.
func colorCells(p *table.PanelBuilder, name string, th *dashboard.ThresholdsConfigBuilder) *table.PanelBuilder {
	steps, err := th.Build()
	if err != nil {
		return p.RecordError("thresholds", err)
	}
	return p.OverrideByName(name, []dashboard.DynamicConfigValue{
		{Id: "thresholds", Value: steps},
		{Id: "color", Value: map[string]string{"mode": "thresholds"}},
		{Id: "custom.cellOptions", Value: map[string]string{"type": "color-text"}},
	})
}
