package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/go-kit/log"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/collector"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/connlimit"
)

const metricsDoc = "../../docs/metrics.md"

// docs/metrics.md is generated from the descriptors the collector's
// reports register and from the process's own metrics as main registers
// them; this test keeps it current. To rewrite it:
//
//	go test ./cmd/entra-authmethods-exporter -run MetricsReference -update
func TestMetricsReference(t *testing.T) {
	type row struct{ name, kind, labels, from, help string }
	var rows []row
	for _, f := range collector.Families() {
		kind := "gauge"
		if f.Counter {
			kind = "counter"
		}
		from := "every tenant"
		if len(f.Reports) > 0 {
			from = strings.Join(f.Reports, ", ")
		}
		rows = append(rows, row{f.Name, kind, strings.Join(append([]string{"tenant"}, f.Labels...), ", "), from, f.Help})
	}
	reg := processRegistry(0, 1)
	newReloader(nil, nil, log.NewNopLogger(), reg)
	reg.MustRegister(connlimit.New(1, nil).Collector("entra_authmethods_exporter"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "entra_authmethods_") {
			continue // Go runtime and process: client_golang documents them
		}
		var labels []string
		for _, l := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		rows = append(rows, row{mf.GetName(), strings.ToLower(mf.GetType().String()), strings.Join(labels, ", "), "the process", mf.GetHelp()})
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.name, b.name) })

	var b strings.Builder
	b.WriteString(`# Metrics

Every metric the exporter serves besides Go's and the process's (` + "`go_*`, `process_*`, `promhttp_*`" + `),
generated from the exporter's metric descriptors by ` + "`go test ./cmd/entra-authmethods-exporter -run MetricsReference -update`" + `,
which also fails when this file is out of date. [How the counts are made](queries.md#how-the-counts-are-made)
says what each count means, with example queries.

` + "`entra_authmethods_tenant_info`" + ` also has the tenant's ` + "`labels:`" + ` from the configuration.
"From" is the report whose poll sets the metric; "every tenant" are about the polling itself,
"the process" are one per exporter process, without ` + "`tenant`" + `.

| metric | type | labels | from | help |
|---|---|---|---|---|
`)
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", r.name, r.kind, r.labels, r.from, strings.ReplaceAll(r.help, "|", `\|`))
	}
	if *update {
		if err := os.WriteFile(metricsDoc, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(metricsDoc)
	if err != nil || string(got) != b.String() {
		t.Errorf("%s is out of date (err %v); rewrite it with: go test ./cmd/entra-authmethods-exporter -run MetricsReference -update", metricsDoc, err)
	}
}
