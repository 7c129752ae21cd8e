package collector

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// userEventsSummary exposes userEventsSummary: distinct events as counters,
// and events within the last d1, d7 and d30 as gauges.
type userEventsSummary struct{ events *distinctEvents }

func newUserEventsSummary() *userEventsSummary {
	return &userEventsSummary{events: newDistinctEvents()}
}

var periods = []struct {
	label string
	days  int
}{{"d1", 1}, {"d7", 7}, {"d30", 30}}

// windowCounts are one feature and method's events per period, then failures per period.
type windowCounts struct{ all, failed [3]int64 }

func (r *userEventsSummary) poll(ctx context.Context, env *pollEnv) ([]prometheus.Metric, int, error) {
	p := r.events.begin(env.labels)
	windows := map[featureMethod]*windowCounts{}
	n, err := env.client.UserEvents(ctx, func(e *graphapi.Event) error {
		fm, repeat := p.add(e)
		if repeat {
			return nil
		}
		w := windows[fm]
		if w == nil {
			w = &windowCounts{}
			windows[fm] = w
		}
		age := env.now.Sub(e.EventDateTime.Time)
		for i, period := range periods {
			if age <= dayDuration(period.days) {
				w.all[i]++
				if !e.IsSuccess {
					w.failed[i]++
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, n, err
	}
	p.commit(env.now, env.retention)
	m := env.metrics()
	r.events.emit(m, eventsDesc, eventFailuresDesc)
	m.counter(eventKeysEvictedDesc, r.events.evicted, config.UserEventsSummary)
	m.gauge(reportDuplicatesDesc, float64(p.duplicates), env.report)
	env.labels.emitDropped(m, env.report)
	for _, fm := range sortedFeatureMethods(windows) {
		w := windows[fm]
		for i, period := range periods {
			m.gauge(periodEventsDesc, float64(w.all[i]), period.label, fm.feature, fm.method)
			m.gauge(periodEventFailuresDesc, float64(w.failed[i]), period.label, fm.feature, fm.method)
		}
	}
	return m.metrics, n, nil
}

func dayDuration(days int) time.Duration { return time.Duration(days) * 24 * time.Hour }
