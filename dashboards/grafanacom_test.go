package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

// importDashboard is what an import reads of a dashboard: its __inputs and
// __requires, and the rest as Grafana's import leaves it.
type importDashboard struct {
	Inputs   []importInputDef `json:"__inputs"`
	Requires []requirement    `json:"__requires"`
	Panels   []struct {
		Type   string `json:"type"`
		Panels []struct {
			Type string `json:"type"`
		} `json:"panels"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name    string `json:"name"`
			Type    string `json:"type"`
			Current struct {
				Text  any `json:"text"`
				Value any `json:"value"`
			} `json:"current"`
		} `json:"list"`
	} `json:"templating"`
}

// TestImportSections checks what grafana.com and Grafana's import read:
// one Prometheus data source input, DS_PROMETHEUS; the Grafana version, the
// data source and exactly the panel types used in __requires; and
// ${DS_PROMETHEUS} only as the datasource variable's saved value, which is
// all the import replaces and all that provisioning leaves unresolved.
func TestImportSections(t *testing.T) {
	for name, raw := range generate(t) {
		var d importDashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.HasPrefix(raw, []byte("{\n  \"__inputs\": [")) {
			t.Errorf("%s: __inputs is not the first key, where Grafana's export puts it", name)
		}
		want := []importInputDef{{Name: "DS_PROMETHEUS", Label: "Prometheus", Type: "datasource", PluginID: "prometheus", PluginName: "Prometheus"}}
		got := slices.Clone(d.Inputs)
		for i := range got {
			got[i].Description = ""
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: __inputs %+v, want %+v", name, d.Inputs, want)
		}

		used := map[string]bool{}
		for _, p := range d.Panels {
			used[p.Type] = true
			for _, c := range p.Panels {
				used[c.Type] = true
			}
		}
		delete(used, "row") // a row is no panel plugin
		required := map[string]requirement{}
		var ids []string
		for _, r := range d.Requires {
			required[r.Type+"/"+r.ID] = r
			ids = append(ids, r.ID)
		}
		if !slices.IsSorted(ids) {
			t.Errorf("%s: __requires not sorted by id: %v", name, ids)
		}
		if r := required["grafana/grafana"]; r.Version == "" {
			t.Errorf("%s: __requires has no Grafana version", name)
		}
		if r := required["datasource/prometheus"]; r.Name != "Prometheus" {
			t.Errorf("%s: __requires has no Prometheus data source", name)
		}
		for _, typ := range slices.Sorted(maps.Keys(used)) {
			if r, ok := required["panel/"+typ]; !ok || r.Name == "" {
				t.Errorf("%s: panel type %s is used but not in __requires", name, typ)
			}
		}
		for key := range required {
			if typ, ok := strings.CutPrefix(key, "panel/"); ok && !used[typ] {
				t.Errorf("%s: __requires lists panel type %s, which no panel uses", name, typ)
			}
		}
		if len(d.Requires) != len(used)+2 {
			t.Errorf("%s: __requires has %d entries, want Grafana, Prometheus and %d panel types", name, len(d.Requires), len(used))
		}

		// The one use of the input: the datasource variable's saved value.
		if n := strings.Count(string(raw), "${DS_PROMETHEUS}"); n != 2 {
			t.Errorf("%s: ${DS_PROMETHEUS} appears %d times, want twice (the datasource variable's text and value)", name, n)
		}
		// An import replaces ${DS_PROMETHEUS} with the uid chosen, as
		// Grafana's template evaluator does in every string of the JSON.
		imported := strings.ReplaceAll(string(raw), "${DS_PROMETHEUS}", "prom-uid-1")
		var after importDashboard
		if err := json.Unmarshal([]byte(imported), &after); err != nil {
			t.Fatalf("%s imported: %v", name, err)
		}
		found := false
		for _, v := range after.Templating.List {
			if v.Type == "datasource" && v.Name == datasourceVariable {
				found = true
				if v.Current.Value != "prom-uid-1" {
					t.Errorf("%s imported: the datasource variable selects %v, want the chosen data source", name, v.Current.Value)
				}
			}
		}
		if !found {
			t.Errorf("%s: no datasource variable %q", name, datasourceVariable)
		}
	}
}

// selectorQueries returns every query of the dashboards generated with p,
// panels' and variables', by where it is.
func selectorQueries(t *testing.T, p Params) (map[string]string, map[string]lintDashboard) {
	t.Helper()
	files, err := All(p)
	if err != nil {
		t.Fatal(err)
	}
	out, boards := map[string]string{}, map[string]lintDashboard{}
	for name, raw := range files {
		var d lintDashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		boards[name] = d
		var walk func([]lintPanel)
		walk = func(ps []lintPanel) {
			for _, p := range ps {
				walk(p.Panels)
				for _, tg := range p.Targets {
					out[fmt.Sprintf("%s / %s / %s", name, p.Title, tg.RefID)] = tg.Expr
				}
			}
		}
		walk(d.Panels)
		var vars struct {
			Templating struct {
				List []struct {
					Name, Type, Definition string
					Query                  any
				}
			}
		}
		if err := json.Unmarshal(raw, &vars); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, v := range vars.Templating.List {
			if v.Type != "query" {
				continue
			}
			q, ok := v.Query.(string)
			if !ok || q != v.Definition {
				t.Errorf("%s: variable %s: query %v, definition %q: want the same string", name, v.Name, v.Query, v.Definition)
			}
			out[fmt.Sprintf("%s / variable %s", name, v.Name)] = q
		}
	}
	return out, boards
}

// TestSelectorInEveryQuery generates the dashboards with a selector, one
// with characters that need escaping included: every selector of the
// exporter's series in every panel and variable carries it, the job
// variable selects the selector's job, and promtool parses every query.
func TestSelectorInEveryQuery(t *testing.T) {
	p := Defaults()
	p.Rules.Selector = `job="entra-prod", cluster=~"eu-[0-9]+|a: #b {c} $d"`
	ms, err := p.Rules.Matchers()
	if err != nil {
		t.Fatal(err)
	}
	sel := rules.FormatSelector(ms)
	queries, boards := selectorQueries(t, p)
	selectors := 0
	for where, q := range queries {
		found := selectorRE.FindAllStringSubmatch(q, -1)
		if len(found) == 0 {
			t.Errorf("%s: no selector of the exporter's series in %s", where, q)
		}
		for _, m := range found {
			selectors++
			if !strings.Contains(m[2], sel) {
				t.Errorf("%s: %s lacks the selector %s", where, m[0], sel)
			}
		}
	}
	t.Logf("%d queries, %d selectors", len(queries), selectors)
	for name, d := range boards {
		for _, v := range d.Templating.List {
			if v.Name == jobVariable && !slices.Equal(v.Current.Value, []string{"entra-prod"}) {
				t.Errorf("%s: the job variable selects %v, want the selector's job entra-prod", name, v.Current.Value)
			}
		}
	}

	// Without a job in the selector, the job variable selects none (Grafana
	// takes the first of the selector's jobs).
	p.Rules.Selector = `cluster="eu1"`
	_, boards = selectorQueries(t, p)
	for name, d := range boards {
		for _, v := range d.Templating.List {
			if v.Name == jobVariable && len(v.Current.Value) != 0 {
				t.Errorf("%s: the job variable selects %v with no job in the selector", name, v.Current.Value)
			}
		}
	}

	p.Rules.Selector = `cluster=eu1`
	if _, err := All(p); err == nil {
		t.Errorf("All with the selector %s succeeded", p.Rules.Selector)
	}

	// promtool parses every query with the selector, as TestDashboardsPromQL
	// does with the defaults.
	promtool := testenv.Tool(t, "promtool")
	p.Rules.Selector = `job="entra-prod", cluster=~"eu-[0-9]+|a: #b {c} $d"`
	queries, _ = selectorQueries(t, p)
	var rf strings.Builder
	rf.WriteString("groups:\n  - name: dashboard_queries\n    rules:\n")
	for i, where := range slices.Sorted(maps.Keys(queries)) {
		q := queries[where]
		if strings.HasPrefix(q, "label_values(") { // a variable's: its selector
			q = strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")")
			q = q[:strings.LastIndex(q, ",")]
		}
		expr, _ := json.Marshal(substitute.Replace(q))
		fmt.Fprintf(&rf, "      # %s\n      - record: dashboard_query_%d\n        expr: %s\n", where, i, expr)
	}
	file := filepath.Join(t.TempDir(), "queries.rules.yml")
	if err := os.WriteFile(file, []byte(rf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
