package collector

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// report is one Graph report of one tenant. poll reads it and returns the
// samples of a new immutable snapshot and the number of records read.
// A report may keep state across polls (distinct events); it must change
// that state only when the poll succeeds, so a failed poll loses nothing.
// Polls of one tenant run one after another, so state needs no lock.
type report interface {
	poll(ctx context.Context, env *pollEnv) (snapshot, int, error)
}

// pollEnv is what a report's poll may use.
type pollEnv struct {
	client    *graphapi.Client
	tenant    config.Tenant
	report    string        // the report's name, its `report` label
	now       time.Time     // when the poll started
	labels    *labelLimit   // the report's label values from Graph (this poll's copy)
	retention time.Duration // how long a counter series outlives Graph's last event of it
}

func (e *pollEnv) metrics() *metricSet { return &metricSet{} }

// reportKind is what the collector knows of a report: how to build it, the
// labels it takes from Graph (their distinct values are capped, see
// labelLimit) and the metric families it emits.
type reportKind struct {
	new    func() report
	labels []string
	descs  []*prometheus.Desc
}

// reports holds every report by its configuration name. Each report's file
// adds itself from init, so a new report is its graphapi file, its
// collector file and its name in config (CONTRIBUTING.md); it is written
// only while the package is initialised.
var reports = map[string]reportKind{}

func registerReport(name string, k reportKind) {
	if _, dup := reports[name]; dup {
		panic("collector: report " + name + " registered twice")
	}
	reports[name] = k
}

// newReport builds the named report; every name in config.AllReports() has
// one (TestEveryReportIsRegistered).
func newReport(name string) report { return reports[name].new() }
