// Package dashboards generates the Grafana dashboards shipped in
// deploy/grafana-dashboards from Go code, with grafana-foundation-sdk.
//
// Every dashboard has a Prometheus datasource variable, job and instance
// variables (the exporter's targets; the job defaults to the rules' job) and a
// multi-select tenant variable; every query filters on all three and uses only
// the exporter's own metrics (and up), so the dashboards work without
// recording rules. With a selector in the rules' parameters
// (rules.Params.Selector: a cluster label for a central Mimir or Thanos),
// every query carries it too, and the job variable offers the jobs of its
// series only. Every series is first merged over targets with max, so two
// scrapes of one exporter never double a count. The adoption dashboard also
// has a group variable: All is the whole tenant, a configured group switches
// every panel with a per-group metric to that group's members (inChosenGroup).
//
// After changing a dashboard, rewrite the JSON files with
//
//	go generate ./dashboards/
//
// (which runs go test -update); the test fails while the committed files
// differ from what All(Defaults()) generates. A site with other parameters
// writes its own with Write.
//
// The files serve both ways of loading a dashboard. Grafana's provisioning
// (and kube-prometheus-stack's sidecar) reads them as they are: every query
// uses the datasource variable, whose saved value ${DS_PROMETHEUS} names no
// data source there, so Grafana selects the first Prometheus data source, as
// it does for a variable saved without a value. An import
// (grafana.com, Dashboards > Import) reads __inputs, asks for the Prometheus
// data source DS_PROMETHEUS and writes its uid wherever ${DS_PROMETHEUS}
// stands: the variable then selects it. __requires lists the Grafana version,
// the data source and the panel types the dashboard needs.
package dashboards

//go:generate go test . -run TestDashboardsUpToDate -update
//go:generate go test ../deploy/helm/ -run TestChartFilesAreCopies -update

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

// Params are what a site may tune in the dashboards.
type Params struct {
	// Rules are the parameters of the site's alert rules: the dashboards
	// select Rules.Job by default, draw the spike alerts' thresholds and
	// mark firing alerts of Rules.PageSeverity in red.
	Rules rules.Params

	// UIDPrefix starts every dashboard's uid and file name, as in
	// "<prefix>-adoption"; at most 24 characters of [a-zA-Z0-9_-], so the
	// longest uid stays within Grafana's 40.
	UIDPrefix string

	// Tags are on every dashboard; the dashboards link to each other by them.
	Tags []string
}

// Defaults are the parameters of the shipped dashboards.
func Defaults() Params {
	return Params{
		Rules:     rules.Defaults(),
		UIDPrefix: "entra-authmethods",
		Tags:      []string{"entra", "authentication-methods"},
	}
}

var uidPrefixRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,24}$`)

// Validate reports parameters the dashboards cannot be built with.
func (p Params) Validate() error {
	var errs []error
	if _, err := p.Rules.Matchers(); err != nil {
		errs = append(errs, fmt.Errorf("rules' job or selector: %w", err))
	}
	if !uidPrefixRE.MatchString(p.UIDPrefix) {
		errs = append(errs, fmt.Errorf("uid prefix %q: want 1 to 24 characters of [a-zA-Z0-9_-]", p.UIDPrefix))
	}
	if len(p.Tags) == 0 {
		errs = append(errs, errors.New("no Tags: the dashboards link to each other by them"))
	}
	for _, s := range []struct {
		name  string
		spike rules.Spike
	}{{"reset", p.Rules.ResetSpike}, {"registration", p.Rules.RegistrationSpike}} {
		if x := s.spike; x.MinExcessFailures < 0 || x.MinFailingUsers < 0 || x.MinPoints < 0 || x.MinPoints > 1 {
			errs = append(errs, fmt.Errorf("%s spike %+v: want non-negative minimums and MinPoints within [0, 1]", s.name, x))
		}
	}
	return errors.Join(errs...)
}

// Names of the dashboard variables.
const (
	datasourceVariable = "datasource"
	jobVariable        = "job"
	instanceVariable   = "instance"
	tenantVariable     = "tenant"
	userTypeVariable   = "user_type"
	groupVariable      = "group"
)

// groupAllValue is what the group variable's All stands for: series without
// a group label, the tenant-wide ones.
const groupAllValue = "^$"

// board builds a dashboard in Grafana's classic JSON model, which every
// Grafana from 10 on imports and provisions. The SDK deprecates it in favour
// of dashboardv2, whose resources only Grafana 12's v2 API accepts.
//
//lint:ignore SA1019 the classic model is the one to ship, see above
type board = dashboard.DashboardBuilder

// All returns every dashboard as indented JSON, by file name (its uid
// followed by .json).
func All(p Params) (map[string][]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	builders := []*board{adoption(p), activity(p), fleet(p), exporterHealth(p)}
	out := make(map[string][]byte, len(builders))
	for _, b := range builders {
		uid, raw, err := render(b, p)
		if err != nil {
			return nil, err
		}
		out[uid+".json"] = raw
	}
	return out, nil
}

// Write writes All(p) into dir, e.g. a site's copy of deploy/grafana-dashboards.
func Write(dir string, p Params) error {
	files, err := All(p)
	if err != nil {
		return err
	}
	for name, raw := range files {
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// newDashboard starts a dashboard with what all of them share: tags,
// variables, annotations, time range and refresh.
func newDashboard(p Params, uid, title, description, from, refresh string) *board {
	// The job variable: the jobs of the selector's series, the rules' job
	// (or the selector's) selected; none without a job in the selector.
	ms, _ := p.Rules.Matchers() // Validate has parsed them: without a selector, job="<the rules' job>"
	about, series := "; the alert rules watch "+p.Rules.Job+".", "entra_authmethods_exporter_build_info"
	if p.Rules.Selector != "" {
		sel := rules.FormatSelector(ms)
		about = " among the series of {" + sel + "}, which every query reads; the alert rules watch them all."
		series += "{" + sel + "}"
	}
	jobs := queryVariable(jobVariable, "Job", "The Prometheus job of the exporter's targets"+about, "label_values("+series+", job)", "")
	if job := rules.JobOf(ms); job != "" {
		jobs.Current(selected(job, job))
	}
	input := dashboard.StringOrArrayOfString{String: cog.ToPtr("${" + importInput + "}")}
	//lint:ignore SA1019 see board
	d := dashboard.NewDashboardBuilder(title).
		Uid(p.UIDPrefix+"-"+uid).
		Description(description).
		Tags(p.Tags).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time(from, "now").
		Refresh(refresh).
		// Imported, the data source chosen for DS_PROMETHEUS; provisioned,
		// the first Prometheus (see the package's documentation).
		WithVariable(dashboard.NewDatasourceVariableBuilder(datasourceVariable).
			Label("Data source").
			Type("prometheus").
			Current(dashboard.VariableOption{Text: input, Value: input})).
		// The job is a choice, not All: up of every job is not the exporter's.
		WithVariable(jobs).
		WithVariable(queryVariable(instanceVariable, "Instance",
			"The exporter's targets in the job; with several (shards, or one exporter scraped twice) every count merges their series, so nothing is counted twice.",
			`label_values(entra_authmethods_exporter_build_info{job=~"$job"}, instance)`, ".+")).
		WithVariable(queryVariable(tenantVariable, "Tenant",
			"The tenant label: the tenants' names in the exporter's configuration.",
			`label_values(entra_authmethods_tenant_info{job=~"$job", instance=~"$instance"}, tenant)`, ".*")).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			Name("Annotations & Alerts").
			Datasource(common.DataSourceRef{Type: cog.ToPtr("grafana"), Uid: cog.ToPtr("-- Grafana --")}).
			Type("dashboard").
			BuiltIn(1).
			Hide(true).
			IconColor("rgba(0, 211, 255, 1)"))
	// Firing alerts of the rules: paging ones in red, the others in orange.
	// Alerts without a tenant (the exporter down) show on every selection.
	page := p.Rules.PageSeverity
	for _, a := range []struct{ name, severity, color string }{
		{"Paging alerts (" + page + ")", `severity="` + page + `"`, "red"},
		{"Other alerts", `severity!="` + page + `"`, "orange"},
	} {
		d.Annotation(dashboard.NewAnnotationQueryBuilder().
			Name(a.name).
			Datasource(datasourceRef()).
			IconColor(a.color).
			Expr(`ALERTS{alertname=~"EntraAuthMethods.*", alertstate="firing", ` + a.severity + `, tenant=~"$tenant|"}`).
			Step("60s").
			TitleFormat("{{alertname}}").
			TextFormat("{{tenant}} {{feature}} {{report}} ({{severity}})").
			TagKeys("tenant,severity"))
	}
	return d
}

// queryVariable is a multi-select variable of the query's values; with an
// allValue, the regex that stands for all of them, it offers All, selected
// by default.
func queryVariable(name, label, description, query, allValue string) *dashboard.QueryVariableBuilder {
	v := dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Description(description).
		Datasource(datasourceRef()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalCaseInsensitiveAsc).
		Multi(true)
	if allValue != "" {
		v.IncludeAll(true).AllValue(allValue).Current(selected("All", "$__all"))
	}
	return v
}

// selected is a variable's default: one value, selected.
func selected(text, value string) dashboard.VariableOption {
	return dashboard.VariableOption{
		Selected: cog.ToPtr(true),
		Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{text}},
		Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{value}},
	}
}

// render builds the dashboard, numbers its panels (rows and the panels of
// collapsed rows included), notes their types (rows not) for __requires and
// links it to the other dashboards; it returns the uid and the JSON.
func render(b *board, p Params) (string, []byte, error) {
	d, err := b.Build()
	if err != nil {
		return "", nil, err
	}
	var id uint32
	next := func() uint32 { id++; return id }
	types := map[string]bool{}
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			p.Panel.Id = cog.ToPtr(next())
			types[p.Panel.Type] = true
		case p.RowPanel != nil:
			p.RowPanel.Id = next()
			for i := range p.RowPanel.Panels {
				p.RowPanel.Panels[i].Id = cog.ToPtr(next())
				types[p.RowPanel.Panels[i].Type] = true
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
		Tags:        p.Tags,
		AsDropdown:  true,
		IncludeVars: true,
		KeepTime:    true,
	}}
	raw, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return "", nil, err
	}
	raw, err = withImportSections(withSelector(raw, p), types)
	if err != nil {
		return "", nil, fmt.Errorf("dashboard %s: %w", *d.Uid, err)
	}
	return *d.Uid, append(raw, '\n'), nil
}
