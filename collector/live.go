package collector

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// liveCounters are the tenants' counters that move while they poll: Graph's
// responses by code, and overrunning rounds. Unlike the snapshots they are
// gathered at each scrape. A tenant's series go when a reload removes it,
// and go on when its poller restarts on the same directory (see inherit).
type liveCounters struct {
	requests, overruns *prometheus.CounterVec
	exclude            atomic.Pointer[map[string]bool] // exclude_metrics, as last applied
}

func newLiveCounters() *liveCounters {
	c := &liveCounters{requests: counterVec(graphRequestsDesc), overruns: counterVec(pollOverrunsDesc)}
	c.exclude.Store(&map[string]bool{})
	return c
}

func counterVec(d *prometheus.Desc) *prometheus.CounterVec {
	f := families[d]
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: f.Name, Help: f.Help}, append([]string{"tenant"}, f.Labels...))
}

func (c *liveCounters) vecs() map[string]*prometheus.CounterVec {
	return map[string]*prometheus.CounterVec{families[graphRequestsDesc].Name: c.requests, families[pollOverrunsDesc].Name: c.overruns}
}

// Describe sends the descriptors of both families, excluded or not.
func (c *liveCounters) Describe(ch chan<- *prometheus.Desc) {
	c.requests.Describe(ch)
	c.overruns.Describe(ch)
}

// Collect sends the series of the families exclude_metrics leaves in.
func (c *liveCounters) Collect(ch chan<- prometheus.Metric) {
	exclude := *c.exclude.Load()
	for name, vec := range c.vecs() {
		if !exclude[name] {
			vec.Collect(ch)
		}
	}
}

// reset drops the tenant's series and starts its overruns at 0, as a
// counter every tenant has.
func (c *liveCounters) reset(tenant string) {
	c.remove(tenant)
	_, _ = c.overruns.GetMetricWithLabelValues(tenant) // made at 0; an error: see inc
}

func (c *liveCounters) remove(tenant string) {
	for _, vec := range c.vecs() {
		vec.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
	}
}

// inc adds one to a series; label values the client library rejects (not
// UTF-8, from a configuration config.Load did not check) count nowhere.
func inc(vec *prometheus.CounterVec, labels ...string) {
	if m, err := vec.GetMetricWithLabelValues(labels...); err == nil {
		m.Inc()
	}
}
