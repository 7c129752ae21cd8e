package collector

import (
	"cmp"
	"context"
	"errors"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// report is one Graph report of one tenant. poll returns a new snapshot and
// the number of records read. State kept across polls (distinct events) may
// change only when the poll succeeds; a tenant's polls never overlap.
type report interface {
	poll(ctx context.Context, env *pollEnv) (snapshot, int, error)
}

type pollEnv struct {
	client *graphapi.Client
	groups *graphapi.Client // the group reads' (paced apart); nil when the tenant has no groups
	tenant config.Tenant
	report string      // the report's name, its `report` label
	now    time.Time   // when the poll started, by Options.Now: windows and ages are measured from it
	labels *labelLimit // the report's label values from Graph (this poll's copy)
}

// reportKind is how to build a report, the labels it takes from Graph
// (capped, see labelLimit) and the metric families it emits.
type reportKind struct {
	new    func() report
	labels []string
	descs  []*prometheus.Desc
}

// reports holds every report by its configuration name, each added by its
// file's init (see CONTRIBUTING.md).
var reports = map[string]reportKind{}

func registerReport(name string, k reportKind) {
	if _, dup := reports[name]; dup {
		panic("collector: report " + name + " registered twice")
	}
	reports[name] = k
}

// Bounds on the label values that come from Graph.
const (
	maxLabelBytes        = 128     // longer values are cut
	otherValue           = "other" // what a value past its label's cap is counted as
	seriesRetentionPolls = 48      // poll intervals a value (and a counter series) is kept after Graph last sent it
)

// labelLimit caps the distinct values of each label a report takes from
// Graph, so a hostile Graph cannot make the exporter hold unbounded series:
// past the cap, new values count as "other" (and as drops). A value unsent for
// the retention period is forgotten, freeing its place. A poll works on a
// copy (begin) that replaces the original only if it succeeds.
type labelLimit struct {
	max       map[string]int                  // per label: how many distinct values are kept
	seen      map[string]map[string]time.Time // per label and value: when Graph last sent it
	dropped   map[string]float64              // per label: values counted as "other"
	now       time.Time                       // the poll's start, set by begin
	retention time.Duration                   // how long a value, and a counter series, outlives Graph's last sending of it
}

func newLabelLimit(max map[string]int, retention time.Duration) *labelLimit {
	l := &labelLimit{max: maps.Clone(max), seen: map[string]map[string]time.Time{}, dropped: map[string]float64{}, retention: retention}
	for label := range max {
		l.seen[label] = map[string]time.Time{}
		l.dropped[label] = 0
	}
	return l
}

// begin returns the copy a poll at now works on, values past retention forgotten.
func (l *labelLimit) begin(now time.Time) *labelLimit {
	c := &labelLimit{max: l.max, seen: make(map[string]map[string]time.Time, len(l.seen)),
		dropped: maps.Clone(l.dropped), now: now, retention: l.retention}
	cutoff := now.Add(-l.retention)
	for label, values := range l.seen {
		c.seen[label] = maps.Clone(values)
		maps.DeleteFunc(c.seen[label], func(_ string, at time.Time) bool { return at.Before(cutoff) })
	}
	return c
}

// value returns v (cut) as the label's value if it is kept or there is room
// for it, else "other", counting the drop.
func (l *labelLimit) value(label, v string) string {
	v = cut(v)
	values := l.seen[label]
	if _, ok := values[v]; ok || len(values) < l.max[label] {
		values[v] = l.now
		return v
	}
	l.dropped[label]++
	return otherValue
}

// known is value that admits and counts nothing: for data already counted,
// such as an event seen in an earlier poll.
func (l *labelLimit) known(label, v string) string {
	v = cut(v)
	if _, ok := l.seen[label][v]; ok {
		l.seen[label][v] = l.now
		return v
	}
	return otherValue
}

// countOnce adds one to counts for each distinct value of values as the
// label's value (two values may both become "other", or cut to the same text).
func (l *labelLimit) countOnce(counts map[string]int64, label string, values []string) {
	done := make([]string, 0, len(values))
	for _, raw := range values {
		if v := l.value(label, raw); !slices.Contains(done, v) {
			done = append(done, v)
			counts[v]++
		}
	}
}

// emitDropped adds the drop counters, one per label, zeros included.
func (l *labelLimit) emitDropped(m *snapshot, report string) {
	for _, label := range slices.Sorted(maps.Keys(l.dropped)) {
		m.counter(labelValuesDroppedDesc, l.dropped[label], report, label)
	}
}

// cut returns v, or a copy of its first maxLabelBytes (whole characters), so
// a huge value from Graph is not kept alive by its label.
func cut(v string) string {
	if len(v) <= maxLabelBytes {
		return v
	}
	i := maxLabelBytes
	for i > 0 && !utf8.RuneStart(v[i]) {
		i--
	}
	return strings.Clone(v[:i])
}

// Helpers shared by reports live here, so removing a report's file removes
// only what it alone uses.

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

type featureMethod struct{ feature, method string }

func sortedFeatureMethods[V any](m map[featureMethod]V) []featureMethod {
	return slices.SortedFunc(maps.Keys(m), func(a, b featureMethod) int {
		return cmp.Or(strings.Compare(a.feature, b.feature), strings.Compare(a.method, b.method))
	})
}

func sortedFailureKeys[V any](m map[failureKey]V) []failureKey {
	return slices.SortedFunc(maps.Keys(m), func(a, b failureKey) int {
		return cmp.Or(strings.Compare(a.feature, b.feature), strings.Compare(a.method, b.method), strings.Compare(a.reason, b.reason))
	})
}

// newestDay reads a report of one row per day, in any order, and returns
// the newest row's samples (values), then its day under dayDesc. No row, no samples.
func newestDay[T any](ctx context.Context, list func(context.Context, func(*T) error) (int, error),
	day func(*T) time.Time, dayDesc *prometheus.Desc, values func(*snapshot, *T)) (snapshot, int, error) {
	var best *T
	n, err := list(ctx, func(r *T) error {
		if best == nil || day(r).After(day(best)) {
			c := *r // r is reused by the decoder
			best = &c
		}
		return nil
	})
	if err != nil || best == nil {
		return nil, n, err
	}
	var m snapshot
	values(&m, best)
	m.gauge(dayDesc, float64(day(best).UnixNano())/1e9)
	return m, n, nil
}

// oncePerUser tells each user's first row in a poll from repeats (a user on
// two pages) by a seeded 64-bit hash of the id: about 16 bytes per user.
type oncePerUser struct {
	seed       maphash.Seed
	seen       map[uint64]struct{}
	duplicates int
}

func newOncePerUser() *oncePerUser {
	return &oncePerUser{seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}}
}

// first reports whether this is the user's first row; a row without an id
// is a decode error.
func (o *oncePerUser) first(id string) (bool, error) {
	if id == "" {
		return false, &graphapi.Error{Reason: graphapi.ReasonDecode, Err: errors.New("a user row without an id")}
	}
	h := maphash.String(o.seed, id)
	if _, dup := o.seen[h]; dup {
		o.duplicates++
		return false, nil
	}
	o.seen[h] = struct{}{}
	return true, nil
}
