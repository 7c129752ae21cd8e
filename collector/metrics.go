package collector

import (
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "entra_authmethods"

// polledNote ends every report's HELP text: values are not from the scrape.
const polledNote = " Polled from Microsoft Graph in the background; the value is from the last successful poll."

// Family describes a metric family the collector can emit, for
// exclude_metrics and the metric reference (a Desc tells neither).
type Family struct {
	Name, Help string
	Counter    bool
	Labels     []string // after tenant
	Reports    []string // the reports that emit it; none: every tenant has it
}

// families holds what desc was given for each descriptor it built; written
// only while the package is initialised.
var families = map[*prometheus.Desc]Family{}

// desc builds a descriptor whose first label is always tenant.
func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(namespace+"_"+name, help, append([]string{"tenant"}, labels...), nil)
	families[d] = Family{Name: namespace + "_" + name, Help: help, Counter: strings.HasSuffix(name, "_total"), Labels: labels}
	return d
}

// Families describes every metric family the collector can emit, by name.
func Families() []Family {
	var out []Family
	names := slices.Sorted(maps.Keys(reports))
	for d, f := range families {
		for _, name := range names {
			if slices.Contains(reports[name].descs, d) {
				f.Reports = append(f.Reports, name)
			}
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// eventKeysEvictedDesc is emitted by every report of distinct events.
var eventKeysEvictedDesc = desc("event_keys_evicted_total",
	"Event keys forgotten before Graph's retention ended because the report held more than the cap of distinct events; such an event may be counted again.",
	"report")

// Exporter metrics.
var (
	reportUpDesc = desc("report_up",
		"1 if the report's last poll succeeded, else 0.", "report")
	reportLastSuccessDesc = desc("report_last_success_timestamp_seconds",
		"End of the report's last successful poll, in Unix seconds.", "report")
	reportDurationDesc = desc("report_duration_seconds",
		"Length of the report's last poll, successful or not.", "report")
	reportRecordsDesc = desc("report_records",
		"Records read in the report's last successful poll.", "report")
	reportErrorsDesc = desc("report_errors_total",
		"Failed polls of the report, by reason.", "report", "reason")
	reportDuplicatesDesc = desc("report_duplicate_records",
		"Rows of the report's last successful poll ignored as repeats: a user listed again, or an event row identical to another.", "report")
	labelValuesDroppedDesc = desc("label_values_dropped_total",
		"Label values from Graph counted as \"other\" because the label already had max_label_values (max_failure_reasons for reason) distinct values.",
		"report", "label")
	pollIntervalDesc = desc("poll_interval_seconds",
		"How often the report is polled (report_poll_intervals, else poll_interval). Alerts on stale data compare against it.", "report")
	tenantInfoDesc = desc("tenant_info",
		"Constant 1, with the tenant's directory id, national cloud and the labels the configuration gives it.", "tenant_id", "cloud")
)

// The families of the live counters (live.go): only their names, help and
// labels are used; the counters are client_golang's, not snapshots.
var (
	pollOverrunsDesc = desc("poll_overruns_total",
		"Rounds of polling the tenant's reports that ended after one of them was due again: the schedule cannot keep up.")
	graphRequestsDesc = desc("graph_requests_total",
		"HTTP requests sent to Microsoft Graph for the tenant, retries included, by response status code.", "code")
)

// tenantInfo returns the tenant_info descriptor for a tenant with the given
// labels (tenants with different labels have different descriptors), and
// their values in label name order.
func tenantInfo(labels map[string]string) (*prometheus.Desc, []string) {
	if len(labels) == 0 {
		return tenantInfoDesc, nil
	}
	names := slices.Sorted(maps.Keys(labels))
	values := make([]string, len(names))
	for i, n := range names {
		values[i] = labels[n]
	}
	f := families[tenantInfoDesc]
	return prometheus.NewDesc(f.Name, f.Help, append([]string{"tenant", "tenant_id", "cloud"}, names...), nil), values
}

// allDescs returns every descriptor the snapshots can emit, from the
// registrations (not families) so that a report that leaves a family out
// fails TestEveryReportIsRegistered.
func allDescs() []*prometheus.Desc {
	out := []*prometheus.Desc{
		reportUpDesc, reportLastSuccessDesc, reportDurationDesc, reportRecordsDesc, reportErrorsDesc,
		reportDuplicatesDesc, labelValuesDroppedDesc,
		pollIntervalDesc, tenantInfoDesc,
	}
	for _, name := range slices.Sorted(maps.Keys(reports)) {
		for _, d := range reports[name].descs {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// sample is one series of a snapshot, its labels after tenant. Const metrics
// hold every label as a name and value pair: with many tenants those were
// most of the exporter's memory (BENCHMARKS.md).
type sample struct {
	desc   *prometheus.Desc
	kind   prometheus.ValueType
	value  float64
	labels []string
}

// snapshot is the samples of one report (or status) at one moment, never
// changed once stored.
type snapshot []sample

// constMetrics returns the snapshot as const metrics of the tenant, leaving
// out any the client library rejects rather than failing the scrape.
func (s snapshot) constMetrics(tenant string) []prometheus.Metric {
	out := make([]prometheus.Metric, 0, len(s))
	for _, x := range s {
		if m, err := prometheus.NewConstMetric(x.desc, x.kind, x.value, append([]string{tenant}, x.labels...)...); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// add appends a sample, unless a label value (from Graph) is not UTF-8.
func (s *snapshot) add(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	if slices.ContainsFunc(labels, func(l string) bool { return !utf8.ValidString(l) }) {
		return
	}
	*s = append(*s, sample{desc: d, kind: t, value: v, labels: labels})
}

func (s *snapshot) gauge(d *prometheus.Desc, v float64, labels ...string) {
	s.add(d, prometheus.GaugeValue, v, labels...)
}

func (s *snapshot) counter(d *prometheus.Desc, v float64, labels ...string) {
	s.add(d, prometheus.CounterValue, v, labels...)
}
