package collector

import (
	"cmp"
	"context"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
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
// and, recomputed from Graph's data at every poll (so a restart changes
// nothing), the events, failed events, failure reasons, users and failing
// users of each window, and each feature's newest event, as gauges.
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
	windows := map[featureMethod]windowCounts{}
	reasons := map[failureKey][len(periods)]int64{} // by feature and reason (no method)
	newest := map[string]time.Time{}                // by feature
	seed := maphash.MakeSeed()
	users := map[string]map[uint64]userPeriods{} // by feature, then by a hash of the user's id
	m, n, err := r.events.poll(ctx, env, env.client.UserEvents, eventsDesc, eventFailuresDesc, func(k failureKey, e *graphapi.Event) {
		fm := featureMethod{k.feature, k.method}
		age, failed := env.now.Sub(e.EventDateTime.Time), e.Failed() // an unknown outcome (null isSuccess) is an event, not a failure
		if at := e.EventDateTime.Time; !at.IsZero() && at.After(newest[fm.feature]) {
			newest[fm.feature] = at
		}
		byUser := users[fm.feature]
		if byUser == nil {
			byUser = map[uint64]userPeriods{}
			users[fm.feature] = byUser
		}
		id := maphash.String(seed, e.ID)
		w, u := windows[fm], byUser[id]
		for i, period := range periods {
			if age <= period.span {
				w.all[i]++
				w.failed[i] += b2i(failed)
				u.any[i] = true
				u.failed[i] = u.failed[i] || failed
			}
		}
		windows[fm] = w
		if failed {
			rk := failureKey{feature: k.feature, reason: k.reason}
			r := reasons[rk]
			for i, period := range periods {
				r[i] += b2i(age <= period.span)
			}
			reasons[rk] = r
		}
		if e.ID != "" && age <= periods[len(periods)-1].span {
			byUser[id] = u
		}
	})
	if err != nil {
		return nil, n, err
	}
	for _, fm := range sortedFeatureMethods(windows) {
		w := windows[fm]
		for i, period := range periods {
			m.gauge(periodEventsDesc, float64(w.all[i]), period.label, fm.feature, fm.method)
			m.gauge(periodEventFailuresDesc, float64(w.failed[i]), period.label, fm.feature, fm.method)
		}
	}
	byReason := slices.SortedFunc(maps.Keys(reasons), func(a, b failureKey) int {
		return cmp.Or(strings.Compare(a.feature, b.feature), strings.Compare(a.reason, b.reason))
	})
	for _, k := range byReason {
		for i, period := range periods {
			m.gauge(periodFailureReasonsDesc, float64(reasons[k][i]), period.label, k.feature, k.reason)
		}
	}
	for _, feature := range slices.Sorted(maps.Keys(newest)) {
		m.gauge(newestEventDesc, float64(newest[feature].Unix()), feature)
	}
	for _, feature := range slices.Sorted(maps.Keys(users)) {
		var c windowCounts // users with an event, then with a failed one
		for _, u := range users[feature] {
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
	return m, n, nil
}
