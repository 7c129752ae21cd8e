package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

// importInput is the data source input an import asks for (__inputs): the
// name grafana.com's dashboards use for a Prometheus data source.
const importInput = "DS_PROMETHEUS"

// minGrafanaVersion is the oldest Grafana the dashboards are made for (the
// classic JSON model, see board), as __requires says.
const minGrafanaVersion = "10.0.0"

// panelNames are the names of Grafana's built-in panel types, as __requires
// lists them. A panel type missing here fails the generation.
var panelNames = map[string]string{
	"bargauge":       "Bar gauge",
	"barchart":       "Bar chart",
	"gauge":          "Gauge",
	"heatmap":        "Heatmap",
	"piechart":       "Pie chart",
	"stat":           "Stat",
	"state-timeline": "State timeline",
	"table":          "Table",
	"text":           "Text",
	"timeseries":     "Time series",
}

// classic is the dashboard board builds (see board).
//
//lint:ignore SA1019 the classic model is the one to ship, see board
type classic = dashboard.Dashboard

// importInputDef is an entry of __inputs.
type importInputDef struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Description string `json:"description"`
	Type        string `json:"type"`
	PluginID    string `json:"pluginId"`
	PluginName  string `json:"pluginName"`
}

// requirement is an entry of __requires.
type requirement struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

// panelTypes are the types of d's panels, those in rows included, rows not.
func panelTypes(d classic) []string {
	seen := map[string]bool{}
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			seen[p.Panel.Type] = true
		case p.RowPanel != nil:
			for _, child := range p.RowPanel.Panels {
				seen[child.Type] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// withImportSections puts __inputs and __requires at the start of the
// dashboard's JSON, where Grafana's "export for sharing externally" puts
// them, indented as raw is.
func withImportSections(raw []byte, d classic) ([]byte, error) {
	inputs := []importInputDef{{
		Name:        importInput,
		Label:       "Prometheus",
		Description: "The Prometheus that scrapes entra-authmethods-exporter, or the Mimir or Thanos that holds its series.",
		Type:        "datasource",
		PluginID:    "prometheus",
		PluginName:  "Prometheus",
	}}
	requires := []requirement{
		{Type: "grafana", ID: "grafana", Name: "Grafana", Version: minGrafanaVersion},
		{Type: "datasource", ID: "prometheus", Name: "Prometheus", Version: "1.0.0"},
	}
	for _, t := range panelTypes(d) {
		name, ok := panelNames[t]
		if !ok {
			return nil, fmt.Errorf("panel type %q: add its name to panelNames for __requires", t)
		}
		requires = append(requires, requirement{Type: "panel", ID: t, Name: name})
	}
	// Sorted by id, as Grafana's export sorts them.
	slices.SortFunc(requires, func(a, b requirement) int { return strings.Compare(a.ID, b.ID) })

	if !bytes.HasPrefix(raw, []byte("{\n")) {
		return nil, fmt.Errorf("the dashboard's JSON does not start with {")
	}
	var head bytes.Buffer
	head.WriteString("{\n")
	for _, section := range []struct {
		key   string
		value any
	}{{"__inputs", inputs}, {"__requires", requires}} {
		v, err := json.MarshalIndent(section.value, "  ", "  ")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&head, "  %q: %s,\n", section.key, v)
	}
	out := append(head.Bytes(), raw[len("{\n"):]...)
	if !json.Valid(out) {
		return nil, fmt.Errorf("__inputs and __requires made the JSON invalid")
	}
	return out, nil
}

// addSelector puts the rules' selector, when the parameters have one, into
// every query of the exporter's series: the panels' and the variables'.
// Each of them carries the job variable's matcher (the linter checks), and
// the selector goes before it; the job variable's own query has it already
// (newDashboard). The alert annotations read ALERTS, whose series carry the
// labels the alerts keep (tenant, feature, ...), not the selector's, and are
// left as they are.
func addSelector(d *classic, p Params) error {
	if p.Rules.Selector == "" {
		return nil
	}
	ms, err := p.Rules.Matchers()
	if err != nil {
		return err
	}
	s := selectorAdder(rules.FormatSelector(ms))
	if err := s.panels(d); err != nil {
		return err
	}
	return s.variables(d)
}

// selectorAdder is the formatted selector addSelector puts into queries.
type selectorAdder string

// expr returns expr with the selector before the job variable's matcher;
// where names the query's panel or variable in the error.
func (s selectorAdder) expr(where, expr string) (string, error) {
	if !strings.Contains(expr, jobMatcher) {
		return "", fmt.Errorf("%s: %s has no %s to put the selector beside", where, expr, jobMatcher)
	}
	return strings.ReplaceAll(expr, jobMatcher, string(s)+", "+jobMatcher), nil
}

// panels adds the selector to the queries of d's panels, those in rows
// included.
func (s selectorAdder) panels(d *classic) error {
	for _, pr := range d.Panels {
		var err error
		switch {
		case pr.Panel != nil:
			err = s.panel(pr.Panel)
		case pr.RowPanel != nil:
			err = s.row(pr.RowPanel)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// row adds the selector to the queries of the panels in row.
func (s selectorAdder) row(row *dashboard.RowPanel) error {
	for i := range row.Panels {
		if err := s.panel(&row.Panels[i]); err != nil {
			return err
		}
	}
	return nil
}

// panel adds the selector to pn's queries.
func (s selectorAdder) panel(pn *dashboard.Panel) error {
	where := fmt.Sprintf("panel %q", deref(pn.Title))
	for i, tg := range pn.Targets {
		q, err := s.target(where, tg)
		if err != nil {
			return err
		}
		pn.Targets[i] = q
	}
	return nil
}

// target returns the Prometheus query tg with the selector added. The
// builders hold queries by value or by pointer; a pointer's query is
// changed in place, and returned.
func (s selectorAdder) target(where string, tg variants.Dataquery) (variants.Dataquery, error) {
	switch q := tg.(type) {
	case prometheus.Dataquery:
		expr, err := s.expr(where, q.Expr)
		if err != nil {
			return nil, err
		}
		q.Expr = expr
		return q, nil
	case *prometheus.Dataquery:
		expr, err := s.expr(where, q.Expr)
		if err != nil {
			return nil, err
		}
		q.Expr = expr
		return q, nil
	default:
		return nil, fmt.Errorf("%s: a query of type %T", where, tg)
	}
}

// variables adds the selector to the queries of d's query variables but
// the job variable, which has it already.
func (s selectorAdder) variables(d *classic) error {
	for i := range d.Templating.List {
		v := &d.Templating.List[i]
		if v.Type != "query" || v.Name == jobVariable {
			continue
		}
		where := "variable " + v.Name
		if v.Query != nil && v.Query.String != nil {
			q, err := s.expr(where, *v.Query.String)
			if err != nil {
				return err
			}
			v.Query.String = &q
		}
		if v.Definition != nil {
			def, err := s.expr(where, *v.Definition)
			if err != nil {
				return err
			}
			v.Definition = &def
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
