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
// targets, and the panel kinds with the defaults the dashboards share. Each
// helper returns the SDK's builder, so a dashboard can still adjust a panel.

// Matchers of the dashboard variables. Every selector of the exporter's
// metrics carries the first three; user_type only where the metric has it;
// group where the panel follows the group variable (inChosenGroup).
const (
	jobMatcher      = `job=~"$job"`
	instanceMatcher = `instance=~"$instance"`
	tenantMatcher   = `tenant=~"$tenant"`
	userTypeMatcher = `user_type=~"$user_type"`
	groupMatcher    = `group=~"$group"`
)

// up is Prometheus's own target health of the exporter's targets; it has no
// tenant, since a target serves all of its tenants.
const up = `up{` + jobMatcher + `, ` + instanceMatcher + `}`

// ownLabels are each per-tenant metric's labels besides tenant (and the job
// and instance Prometheus adds): the labels one merges a metric's series
// over targets by. processLabels are those of the metrics the exporter has
// once per process (a target): they have no tenant label, so their
// selectors carry no tenant filter. metric and processMetric fill them.
var ownLabels, processLabels = map[string][]string{}, map[string][]string{}

func metric(name string, labels ...string) string {
	ownLabels[name] = labels
	return name
}

func processMetric(name string, labels ...string) string {
	processLabels[name] = labels
	return name
}

// labelsOf are a metric's labels in declared, which function declare fills.
func labelsOf(declared map[string][]string, metric, declare string) []string {
	labels, ok := declared[metric]
	if !ok {
		panic("dashboards: " + metric + " is not declared with " + declare)
	}
	return labels
}

// sel is a selector of one of the exporter's metrics with the given label
// matchers and the variables' filters, e.g.
// sel("entra_authmethods_users", `admin="true"`) is
// entra_authmethods_users{admin="true", job=~"$job", instance=~"$instance", tenant=~"$tenant"}.
func sel(metric string, matchers ...string) string {
	return metric + "{" + strings.Join(slices.Concat(matchers, []string{jobMatcher, instanceMatcher, tenantMatcher}), ", ") + "}"
}

// mergeBy is the label list a metric's series are merged by: tenant and its own labels.
func mergeBy(metric string) string {
	return strings.Join(append([]string{"tenant"}, labelsOf(ownLabels, metric, "metric")...), ", ")
}

// one is a metric's series merged over targets: two jobs or two targets
// scraping the same exporter expose the same series, and max keeps one of
// each before anything sums them.
func one(metric string, matchers ...string) string {
	return fmt.Sprintf("max by (%s) (%s)", mergeBy(metric), sel(metric, matchers...))
}

// monthAgo is one, 30 days before.
func monthAgo(metric string, matchers ...string) string {
	return fmt.Sprintf("max by (%s) (%s offset 30d)", mergeBy(metric), sel(metric, matchers...))
}

// onePerTarget is one for the metrics of processLabels, with the job and
// instance filters only: a tenant selection leaves them whole.
func onePerTarget(metric string) string {
	labels := labelsOf(processLabels, metric, "processMetric")
	return fmt.Sprintf("max by (%s) (%s{%s, %s})", strings.Join(labels, ", "), metric, jobMatcher, instanceMatcher)
}

// overRange is a counter's increase over the dashboard's time range, merged
// over targets. The exporter's counters step once per poll, so only ranges
// much longer than the poll interval say something; a restart makes the
// event counters count Graph's 30 days again.
func overRange(counter string, matchers ...string) string {
	return fmt.Sprintf("max by (%s) (increase(%s[$__range]))", mergeBy(counter), sel(counter, matchers...))
}

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

// bars is an instant query for a bar gauge: expr's series above 0, largest first.
func bars(expr, legend string) *query { return instant("sort_desc("+expr+" > 0)", legend) }

func refID(i int) string { return string(rune('A' + i)) }

// panelBuilder is what the SDK's panel builders have in common.
type panelBuilder[P any] interface {
	Title(string) P
	Description(string) P
	Datasource(common.DataSourceRef) P
	Targets([]cog.Builder[variants.Dataquery]) P
	Interval(string) P
	Unit(string) P
}

// newPanel sets what every panel has: its queries, named A, B, C... and
// bound to the datasource variable, and a minimum interval of 1m, so a 60 s
// scrape always has a sample per step and Grafana's $__rate_interval is at
// least four scrapes long.
func newPanel[P panelBuilder[P]](p P, title, description, unit string, queries []*query) P {
	targets := make([]cog.Builder[variants.Dataquery], 0, len(queries))
	for i, q := range queries {
		targets = append(targets, q.RefId(refID(i)).Datasource(datasourceRef()))
	}
	return p.Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets).
		Interval("1m").
		Unit(unit)
}

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

// mapped is a value shown as text, in color unless color is "".
type mapped struct{ value, text, color string }

// valueText shows values as text, numbered in the order given.
func valueText(values ...mapped) dashboard.ValueMapping {
	options := map[string]dashboard.ValueMappingResult{}
	for i, v := range values {
		r := dashboard.ValueMappingResult{Text: cog.ToPtr(v.text), Index: cog.ToPtr(int32(i))}
		if v.color != "" {
			r.Color = cog.ToPtr(v.color)
		}
		options[v.value] = r
	}
	return dashboard.ValueMapping{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: options}}
}

// noData is what a stat shows when its query returns nothing: in red, since
// that is what a stopped exporter or a vanished target looks like.
func noData() dashboard.ValueMapping { return special("no data", "red") }

// statPanel is a single value per series (one per tenant, usually), colored
// by the thresholds; its queries should be instant ones.
func statPanel(title, description, unit string, th *dashboard.ThresholdsConfigBuilder, queries ...*query) *stat.PanelBuilder {
	return newPanel(stat.NewPanelBuilder(), title, description, unit, queries).
		Thresholds(th).
		Mappings([]dashboard.ValueMapping{noData()}).
		NoValue("no data").
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"last"}).Values(false)).
		GraphMode(common.BigValueGraphModeNone).
		Orientation(common.VizOrientationAuto).
		Height(5).
		Span(4)
}

// ratioStat is a stat of a ratio guarded with ratio(): "no events" when
// there is nothing to divide by.
func ratioStat(title, description string, th *dashboard.ThresholdsConfigBuilder, queries ...*query) *stat.PanelBuilder {
	return statPanel(title, description, "percentunit", th, queries...).
		Mappings([]dashboard.ValueMapping{special("no events", "text")}).
		NoValue("no events").
		Min(0).Max(1)
}

// timeseriesPanel draws its queries over time, half the dashboard wide, from
// 0 up (lower where values are negative). The exporter's values change once
// per poll, so lines step rather than slope, and a missing value leaves a gap.
func timeseriesPanel(title, description, unit string, queries ...*query) *timeseries.PanelBuilder {
	return newPanel(timeseries.NewPanelBuilder(), title, description, unit, queries).
		AxisSoftMin(0).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdPaletteClassic)).
		LineWidth(1).
		FillOpacity(10).
		LineInterpolation(common.LineInterpolationStepAfter).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)).
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
	return newPanel(bargauge.NewPanelBuilder(), title, description, unit, queries).
		Min(0).
		Thresholds(thresholds("blue")).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"last"}).Values(false)).
		Orientation(common.VizOrientationHorizontal).
		NamePlacement(common.BarGaugeNamePlacementLeft).
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
	th     *dashboard.ThresholdsConfigBuilder // colors the cells (colorCells), after every column's unit
}

// tablePanel joins instant queries on their common labels into one table:
// the label columns first, then one value column per query, sorted by the
// first visible value column, largest first.
func tablePanel(title, description, unit string, columns ...column) *table.PanelBuilder {
	p := table.NewPanelBuilder()
	var queries []*query
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
		if c.unit != "" {
			p.OverrideByName(c.name, []dashboard.DynamicConfigValue{{Id: "unit", Value: c.unit}})
		}
		if sortBy == "" {
			sortBy = c.name
		}
	}
	newPanel(p, title, description, unit, queries).
		Thresholds(neutral()).
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
		if c.th != nil {
			colorCells(p, c.name, c.th)
		}
	}
	return p
}

// colorCells colors a table column's cells by th.
func colorCells(p *table.PanelBuilder, name string, th *dashboard.ThresholdsConfigBuilder) {
	steps, _ := th.Build() // thresholds() never records an error
	p.OverrideByName(name, []dashboard.DynamicConfigValue{
		{Id: "thresholds", Value: steps},
		{Id: "color", Value: map[string]string{"mode": "thresholds"}},
		{Id: "custom.cellOptions", Value: map[string]string{"type": "color-text"}},
	})
}
