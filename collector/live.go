package collector

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// liveCounters are the tenants' counters that move while they poll:
// Graph's responses by status code, and rounds that took longer than the
// shortest poll interval. Unlike the snapshots they are ordinary counters,
// gathered at each scrape. A tenant's series go when a reload removes the
// tenant, and go on counting when it restarts the tenant's poller reading
// the same directory (see inherit).
type liveCounters struct {
	requests, overruns *prometheus.CounterVec
	exclude            atomic.Pointer[map[string]bool] // exclude_metrics, as last applied
}

func newLiveCounters() *liveCounters {
	c := &liveCounters{requests: counterVec(graphRequestsDesc), overruns: counterVec(pollOverrunsDesc)}
	c.exclude.Store(&map[string]bool{})
	return c
}

// counterVec makes a vector of the family desc describes, so that
// Families and exclude_metrics know it.
func counterVec(d *prometheus.Desc) *prometheus.CounterVec {
	f := families[d]
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: f.Name, Help: f.Help}, append([]string{"tenant"}, f.Labels...))
}

// vecs returns the vectors by family name.
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

// response counts one of Graph's responses to a request for the tenant.
func (c *liveCounters) response(tenant string, code int) {
	inc(c.requests, tenant, strconv.Itoa(code))
}

// overrun counts one of the tenant's rounds that could not keep up.
func (c *liveCounters) overrun(tenant string) { inc(c.overruns, tenant) }

// reset drops the tenant's series and starts it anew: its overruns at 0,
// as a counter every tenant has.
func (c *liveCounters) reset(tenant string) {
	c.remove(tenant)
	_, _ = c.overruns.GetMetricWithLabelValues(tenant) // made at 0; an error: see inc
}

// remove drops the tenant's series.
func (c *liveCounters) remove(tenant string) {
	for _, vec := range c.vecs() {
		vec.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
	}
}

// inc adds one to a series; label values the client library rejects (not
// UTF-8, from a configuration not checked by config.Load) count nowhere
// rather than panic.
func inc(vec *prometheus.CounterVec, labels ...string) {
	if m, err := vec.GetMetricWithLabelValues(labels...); err == nil {
		m.Inc()
	}
}
