package collector

import (
	"context"
	"hash/maphash"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

var (
	eventsDesc = desc("events_total",
		"Distinct registration and reset events seen in userEventsSummary since the exporter started (the first poll counts what Graph still holds)."+polledNote,
		"feature", "method")
	eventFailuresDesc = desc("event_failures_total",
		"Distinct failed registration and reset events seen in userEventsSummary since the exporter started; reason unspecified when Graph gives none."+polledNote,
		"feature", "method", "reason")
	periodEventsDesc = desc("period_events",
		"Registration and reset events in userEventsSummary that happened within the last h1, h6, d1, d7 or d30 before the last poll; recomputed from Graph's data at every poll, so restarts change nothing."+polledNote,
		"period", "feature", "method")
	periodEventFailuresDesc = desc("period_event_failures",
		"Failed registration and reset events in userEventsSummary within the last h1, h6, d1, d7 or d30 before the last poll."+polledNote,
		"period", "feature", "method")
	periodUsersDesc = desc("period_users",
		"Distinct users (by id) with at least one registration or reset event in userEventsSummary within the last h1, h6, d1, d7 or d30 before the last poll."+polledNote,
		"period", "feature")
	periodFailedUsersDesc = desc("period_failed_users",
		"Distinct users (by id) with at least one failed registration or reset event within the last h1, h6, d1, d7 or d30 before the last poll."+polledNote,
		"period", "feature")
	periodFailureReasonsDesc = desc("period_failure_reasons",
		"Failed registration and reset events in userEventsSummary within the last h1, h6, d1, d7 or d30 before the last poll, by failure reason (unspecified when Graph gives none)."+polledNote,
		"period", "feature", "reason")
	newestEventDesc = desc("newest_event_timestamp_seconds",
		"When the newest event Graph returned in userEventsSummary for the feature happened (eventDateTime), in Unix seconds: how far Graph's report lags."+polledNote,
		"feature")
)

func init() {
	registerReport(config.UserEventsSummary, reportKind{
		new:    func() report { return userEventsSummary{newDistinctEvents()} },
		labels: []string{"feature", "method", "reason"},
		descs: []*prometheus.Desc{eventsDesc, eventFailuresDesc, periodEventsDesc, periodEventFailuresDesc, periodUsersDesc, periodFailedUsersDesc,
			periodFailureReasonsDesc, newestEventDesc, eventKeysEvictedDesc},
	})
}

// userEventsSummary exposes userEventsSummary: distinct events as counters,
// and as gauges recomputed at every poll (so a restart changes nothing) each
// window's events, failures, reasons and users, and each feature's newest event.
type userEventsSummary struct{ events *distinctEvents }

// periods are the windows of the period gauges, shortest first: an event
// is in a window when it happened at most that long before the poll.
var periods = [...]struct {
	label string
	span  time.Duration
}{{"h1", time.Hour}, {"h6", 6 * time.Hour}, {"d1", 24 * time.Hour}, {"d7", 7 * 24 * time.Hour}, {"d30", 30 * 24 * time.Hour}}

// windowCounts are one feature and method's events per period, then failures per period.
type windowCounts struct{ all, failed [len(periods)]int64 }

// userPeriods marks the periods in which a user has an event, then a failed one.
type userPeriods struct{ any, failed [len(periods)]bool }

func (r userEventsSummary) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	w := &eventWindows{now: env.now, windows: map[featureMethod]windowCounts{}, reasons: map[failureKey][len(periods)]int64{},
		newest: map[string]time.Time{}, seed: maphash.MakeSeed(), users: map[string]map[uint64]userPeriods{}}
	m, n, err := r.events.poll(ctx, env, env.client.UserEvents, eventsDesc, eventFailuresDesc, w.add)
	if err != nil {
		return nil, n, err
	}
	w.gauges(&m)
	return m, n, nil
}

// eventWindows tallies one poll's events by the periods they fall in.
type eventWindows struct {
	now     time.Time
	windows map[featureMethod]windowCounts
	reasons map[failureKey][len(periods)]int64 // by feature and reason (no method)
	newest  map[string]time.Time               // by feature
	seed    maphash.Seed
	users   map[string]map[uint64]userPeriods // by feature, then by a hash of the user's id
}

// add tallies an event, k its feature, method and failure reason.
func (w *eventWindows) add(k failureKey, e *graphapi.Event) {
	fm := featureMethod{k.feature, k.method}
	age, failed := w.now.Sub(e.EventDateTime.Time), e.Failed() // an unknown outcome (null isSuccess) is an event, not a failure
	if at := e.EventDateTime.Time; !at.IsZero() && at.After(w.newest[fm.feature]) {
		w.newest[fm.feature] = at
	}
	rk := failureKey{feature: k.feature, reason: k.reason}
	c, r := w.windows[fm], w.reasons[rk]
	for i, period := range periods {
		if age <= period.span {
			c.all[i]++
			c.failed[i] += b2i(failed)
			r[i] += b2i(failed)
		}
	}
	w.windows[fm] = c
	if failed {
		w.reasons[rk] = r
	}
	w.addUser(fm.feature, e.ID, age, failed)
}

// addUser marks the periods in which the user has an event of the feature,
// age old. Every feature seen has its users, if none.
func (w *eventWindows) addUser(feature, id string, age time.Duration, failed bool) {
	byUser := w.users[feature]
	if byUser == nil {
		byUser = map[uint64]userPeriods{}
		w.users[feature] = byUser
	}
	if id == "" || age > periods[len(periods)-1].span {
		return
	}
	h := maphash.String(w.seed, id)
	u := byUser[h]
	for i, period := range periods {
		if age <= period.span {
			u.any[i] = true
			u.failed[i] = u.failed[i] || failed
		}
	}
	byUser[h] = u
}

func (w *eventWindows) gauges(m *snapshot) {
	for _, fm := range sortedFeatureMethods(w.windows) {
		c := w.windows[fm]
		for i, period := range periods {
			m.gauge(periodEventsDesc, float64(c.all[i]), period.label, fm.feature, fm.method)
			m.gauge(periodEventFailuresDesc, float64(c.failed[i]), period.label, fm.feature, fm.method)
		}
	}
	for _, k := range sortedFailureKeys(w.reasons) { // no method: by feature and reason
		for i, period := range periods {
			m.gauge(periodFailureReasonsDesc, float64(w.reasons[k][i]), period.label, k.feature, k.reason)
		}
	}
	for _, feature := range slices.Sorted(maps.Keys(w.newest)) {
		m.gauge(newestEventDesc, float64(w.newest[feature].Unix()), feature)
	}
	for _, feature := range slices.Sorted(maps.Keys(w.users)) {
		w.userGauges(m, feature)
	}
}

// userGauges adds to m the feature's users with an event, and with a failed one, per period.
func (w *eventWindows) userGauges(m *snapshot, feature string) {
	var c windowCounts
	for _, u := range w.users[feature] {
		for i := range periods {
			c.all[i] += b2i(u.any[i])
			c.failed[i] += b2i(u.failed[i])
		}
	}
	for i, period := range periods {
		m.gauge(periodUsersDesc, float64(c.all[i]), period.label, feature)
		m.gauge(periodFailedUsersDesc, float64(c.failed[i]), period.label, feature)
	}
}
