package dashboards

import (
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
// always carry the tenant filter, queries bound to the datasource variable,
// and the four panel kinds (stat, timeseries, bar gauge, table) with the
// defaults the dashboards share. Each helper returns the SDK's builder, so a
// dashboard can still adjust a panel (size, legend, overrides) where it needs to.

// tenantMatcher limits every selector to the tenants picked in the dashboard.
const tenantMatcher = `tenant=~"$tenant"`

// sel is a selector of one of the exporter's metrics with the given label
// matchers and the tenant filter, e.g.
// sel("entra_authmethods_users", `admin="true"`) is
// entra_authmethods_users{admin="true", tenant=~"$tenant"}.
func sel(metric string, matchers ...string) string {
	return metric + "{" + strings.Join(slices.Concat(matchers, []string{tenantMatcher}), ", ") + "}"
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

// instant is a query for the value at the end of the time range.
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

// statPanel is a single value per series (one per tenant, usually) with a
// sparkline; its color follows the thresholds.
func statPanel(title, description, unit string, th *dashboard.ThresholdsConfigBuilder, queries ...*query) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(queries)).
		Unit(unit).
		Thresholds(th).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)).
		GraphMode(common.BigValueGraphModeArea).
		ColorMode(common.BigValueColorModeValue).
		TextMode(common.BigValueTextModeAuto).
		JustifyMode(common.BigValueJustifyModeAuto).
		Orientation(common.VizOrientationAuto).
		Height(5).
		Span(4)
}

// timeseriesPanel draws its queries over time, half the dashboard wide.
func timeseriesPanel(title, description, unit string, queries ...*query) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(queries)).
		Unit(unit).
		Min(0).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdPaletteClassic)).
		LineWidth(1).
		FillOpacity(10).
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

// barGaugePanel shows the current value of each series as a horizontal bar;
// its queries should be instant ones, sorted with sort_desc.
func barGaugePanel(title, description, unit string, queries ...*query) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(queries)).
		Unit(unit).
		Min(0).
		Thresholds(thresholds("blue")).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)).
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
