package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

// importInput is the data source input an import asks for (__inputs): the
// name grafana.com's dashboards use for a Prometheus data source.
const importInput = "DS_PROMETHEUS"

// minGrafanaVersion is the oldest Grafana the dashboards are made for (the
// classic JSON model, see board), as __requires says.
const minGrafanaVersion = "10.0.0"

// panelNames are Grafana's names of the panel types the dashboards use, as
// __requires lists them. A panel type missing here fails the generation.
var panelNames = map[string]string{
	"bargauge":       "Bar gauge",
	"stat":           "Stat",
	"state-timeline": "State timeline",
	"table":          "Table",
	"timeseries":     "Time series",
}

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

// withImportSections puts __inputs and __requires at the start of the
// dashboard's JSON, where Grafana's "export for sharing externally" puts
// them, indented as raw is; types are the dashboard's panel types.
func withImportSections(raw []byte, types map[string]bool) ([]byte, error) {
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
	for _, t := range slices.Sorted(maps.Keys(types)) {
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
	head, err := json.MarshalIndent(struct {
		Inputs   []importInputDef `json:"__inputs"`
		Requires []requirement    `json:"__requires"`
	}{inputs, requires}, "", "  ")
	if err != nil {
		return nil, err
	}
	// head without its closing "\n}", then raw's keys.
	out := append(append(head[:len(head)-2], ",\n"...), raw[len("{\n"):]...)
	if !json.Valid(out) {
		return nil, fmt.Errorf("__inputs and __requires made the JSON invalid")
	}
	return out, nil
}

// withSelector puts the rules' selector, when the parameters have one, into
// every query of the exporter's series, before the job variable's matcher
// that each of them carries (the linter checks): in the JSON, where the
// panels' and the variables' queries are strings holding it. The job
// variable's own query has the selector already (newDashboard), and the
// alert annotations read ALERTS, whose series carry the labels the alerts
// keep, not the selector's: neither has the job matcher.
func withSelector(raw []byte, p Params) []byte {
	if p.Rules.Selector == "" {
		return raw
	}
	ms, _ := p.Rules.Matchers()       // Validate has parsed them
	inJSON := func(s string) []byte { // as json.Marshal writes s inside a string
		b, _ := json.Marshal(s)
		return b[1 : len(b)-1]
	}
	return bytes.ReplaceAll(raw, inJSON(jobMatcher), inJSON(rules.FormatSelector(ms)+", "+jobMatcher))
}
