package collector

import (
	"maps"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds on the label values that come from Graph.
const (
	maxLabelBytes = 128     // longer values are cut
	otherValue    = "other" // what a value past its label's cap is counted as
)

// seriesRetentionPolls is how many poll intervals a label value, and a
// counter series, is kept after Graph last sent it.
const seriesRetentionPolls = 48

// labelLimit caps the distinct values of each label a report takes from
// Graph (method, feature, user_type, status, reason), per tenant: the first
// values seen keep their text, up to the label's cap; later ones are counted
// as "other", and the drops counted. A value Graph has not sent for the
// retention period is forgotten, which frees its place. Values are cut to
// maxLabelBytes. So a broken or hostile Graph cannot make the exporter hold
// or serve more than a bounded number of series.
//
// A poll works on a copy (begin) that replaces the original only when the
// poll succeeds, so a failed poll changes nothing.
type labelLimit struct {
	max       map[string]int                  // per label: how many distinct values are kept
	seen      map[string]map[string]time.Time // per label and value: when Graph last sent it
	dropped   map[string]float64              // per label: values counted as "other"
	now       time.Time                       // the poll's start, set by begin
	retention time.Duration
}

// newLabelLimit returns a limit for the given labels and their caps.
func newLabelLimit(max map[string]int, retention time.Duration) *labelLimit {
	l := &labelLimit{max: maps.Clone(max), seen: map[string]map[string]time.Time{}, dropped: map[string]float64{}, retention: retention}
	for label := range max {
		l.seen[label] = map[string]time.Time{}
		l.dropped[label] = 0
	}
	return l
}

// begin returns the copy a poll starting at now works on, with the values
// past retention forgotten.
func (l *labelLimit) begin(now time.Time) *labelLimit {
	c := &labelLimit{max: l.max, seen: make(map[string]map[string]time.Time, len(l.seen)),
		dropped: maps.Clone(l.dropped), now: now, retention: l.retention}
	cutoff := now.Add(-l.retention)
	for label, values := range l.seen {
		kept := make(map[string]time.Time, len(values))
		for v, at := range values {
			if !at.Before(cutoff) {
				kept[v] = at
			}
		}
		c.seen[label] = kept
	}
	return c
}

// value returns v as the label's value: v itself (cut to maxLabelBytes) if
// it is kept or there is room for it, else "other", counting the drop.
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

// known returns v as the label's value if it is kept, else "other",
// admitting nothing and counting nothing: for data already counted, such as
// an event seen in an earlier poll.
func (l *labelLimit) known(label, v string) string {
	v = cut(v)
	if _, ok := l.seen[label][v]; ok {
		l.seen[label][v] = l.now
		return v
	}
	return otherValue
}

// emitDropped adds the drop counters, one per label, zeros included.
func (l *labelLimit) emitDropped(m *metricSet, report string) {
	for _, label := range sortedKeys(l.dropped) {
		m.counter(labelValuesDroppedDesc, l.dropped[label], report, label)
	}
}

// cut returns v, or its first maxLabelBytes bytes (whole UTF-8 characters)
// copied, so a huge value from Graph is not kept alive by its label.
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
