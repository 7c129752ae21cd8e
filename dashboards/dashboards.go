// Package dashboards generates the Grafana dashboards shipped in
// deploy/grafana-dashboards from Go code, with grafana-foundation-sdk.
//
// Every dashboard has a Prometheus datasource variable and a multi-select
// tenant variable; every query filters on tenant=~"$tenant" and uses only the
// exporter's own metrics, so the dashboards work without recording rules.
//
// After changing a dashboard, rewrite the JSON files with
//
//	go generate ./dashboards/
//
// (which runs go test -update); the test fails while the committed files
// differ from what the code generates.
package dashboards

//go:generate go test . -run TestDashboardsUpToDate -update

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Names of the dashboard variables.
const (
	datasourceVariable = "datasource"
	tenantVariable     = "tenant"
)

// board builds a dashboard in Grafana's classic JSON model, which every
// Grafana from 10 on imports and provisions. The SDK deprecates it in favour
// of dashboardv2, whose resources only Grafana 12's v2 API accepts.
//
//lint:ignore SA1019 the classic model is the one to ship, see above
type board = dashboard.DashboardBuilder

// tags are on every dashboard, and the dashboards link to each other by them.
var tags = []string{"entra", "authentication-methods"}

// All returns every dashboard as indented JSON, by file name.
func All() (map[string][]byte, error) {
	builders := map[string]*board{
		"entra-authmethods-adoption.json":        adoption(),
		"entra-authmethods-activity.json":        activity(),
		"entra-authmethods-exporter-health.json": exporterHealth(),
	}
	out := make(map[string][]byte, len(builders))
	for name, b := range builders {
		raw, err := render(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = raw
	}
	return out, nil
}

// newDashboard starts a dashboard with what all of them share: tags,
// variables, the built-in annotations, time range and refresh.
func newDashboard(uid, title, description, from, refresh string) *board {
	//lint:ignore SA1019 see board
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags(tags).
		Editable().
		Timezone("browser").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time(from, "now").
		Refresh(refresh).
		WithVariable(dashboard.NewDatasourceVariableBuilder(datasourceVariable).
			Label("Data source").
			Type("prometheus")).
		WithVariable(dashboard.NewQueryVariableBuilder(tenantVariable).
			Label("Tenant").
			Description("The tenant label: the tenants' names in the exporter's configuration.").
			Datasource(datasourceRef()).
			Query(dashboard.StringOrMap{String: cog.ToPtr("label_values(entra_authmethods_tenant_info, tenant)")}).
			Definition("label_values(entra_authmethods_tenant_info, tenant)").
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalCaseInsensitiveAsc).
			Multi(true).
			IncludeAll(true).
			AllValue(".*").
			Current(dashboard.VariableOption{
				Selected: cog.ToPtr(true),
				Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
				Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
			})).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			Name("Annotations & Alerts").
			Datasource(common.DataSourceRef{Type: cog.ToPtr("grafana"), Uid: cog.ToPtr("-- Grafana --")}).
			Type("dashboard").
			BuiltIn(1).
			Enable(true).
			Hide(true).
			IconColor("rgba(0, 211, 255, 1)"))
}

// render builds the dashboard, numbers its panels (rows and the panels of
// collapsed rows included) and links it to the other dashboards.
func render(b *board) ([]byte, error) {
	d, err := b.Build()
	if err != nil {
		return nil, err
	}
	var id uint32
	next := func() uint32 { id++; return id }
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			p.Panel.Id = cog.ToPtr(next())
		case p.RowPanel != nil:
			p.RowPanel.Id = next()
			for i := range p.RowPanel.Panels {
				p.RowPanel.Panels[i].Id = cog.ToPtr(next())
			}
		}
	}
	// Links and annotations are left where every Grafana version shows
	// them: the builders default to Grafana 12's "in controls menu" placement.
	for i := range d.Annotations.List {
		d.Annotations.List[i].Placement = nil
	}
	d.Links = []dashboard.DashboardLink{{
		Title:       "Entra ID authentication methods",
		Type:        dashboard.DashboardLinkTypeDashboards,
		Icon:        "external link",
		Tags:        tags,
		AsDropdown:  true,
		IncludeVars: true,
		KeepTime:    true,
	}}
	raw, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(raw, '\n'), nil
}
