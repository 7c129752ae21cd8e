package collector

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// eventRetention is how long an event's key is remembered. Graph keeps
// events for 30 days, so a key older than that cannot come back.
const eventRetention = 31 * 24 * time.Hour

// maxEventKeys caps the keys remembered per report and tenant (about 16
// bytes each, some 30 MB at the cap): a guard against a flood of events,
// far above what a 30-day window holds.
const maxEventKeys = 1_000_000

type failureKey struct{ feature, method, reason string }

// counterSeries is one counter's value and when Graph last sent an event
// counted in it.
type counterSeries struct {
	value float64
	seen  time.Time
}

// seenEvent is what is remembered of a counted event: when it happened
// (Unix seconds, for pruning) and the last poll that returned it.
type seenEvent struct{ at, poll uint32 }

// distinctEvents counts each event once across polls, although Graph returns
// its whole retained window every time. An event is known by a 64-bit
// hash of all its fields (Graph gives events no id of their own; the id is
// the user's).
type distinctEvents struct {
	seed     maphash.Seed
	seen     map[uint64]seenEvent
	polls    uint32 // polls begun, to mark the events each returned
	total    map[featureMethod]*counterSeries
	failures map[failureKey]*counterSeries
	maxKeys  int
	evicted  float64 // keys dropped at the cap before their time: such an event may be counted again
}

func newDistinctEvents() *distinctEvents {
	return &distinctEvents{seed: maphash.MakeSeed(), seen: map[uint64]seenEvent{},
		total: map[featureMethod]*counterSeries{}, failures: map[failureKey]*counterSeries{}, maxKeys: maxEventKeys}
}

// keyOf identifies an event by every field the exporter reads.
func (d *distinctEvents) keyOf(e *graphapi.Event) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	for _, f := range []string{e.ID, e.Feature, e.UserPrincipalName, e.AuthMethod, e.FailureReason} {
		h.WriteString(f)
		h.WriteByte(0)
	}
	h.WriteByte(successByte(e.IsSuccess))
	var at [8]byte
	for i, ns := 0, e.EventDateTime.UnixNano(); i < 8; i++ {
		at[i] = byte(ns >> (8 * i))
	}
	h.Write(at[:])
	return h.Sum64()
}

// successByte tells the three values of isSuccess apart in an event's key:
// false, true, and null or absent (nil).
func successByte(s *bool) byte {
	switch {
	case s == nil:
		return 2
	case *s:
		return 1
	}
	return 0
}

// eventPoll gathers one poll's events. It counts nothing until commit, so a
// poll that fails half way changes no counter; it only marks the remembered
// events it meets with its poll number, which nothing reads until a commit.
type eventPoll struct {
	d          *distinctEvents
	poll       uint32
	labels     *labelLimit
	fresh      map[uint64]uint32 // events not seen before: their time in Unix seconds
	total      map[featureMethod]float64
	failures   map[failureKey]float64
	seenSeries map[featureMethod]bool
	seenFails  map[failureKey]bool
	duplicates int
}

// begin starts a poll whose label values go through labels.
func (d *distinctEvents) begin(labels *labelLimit) *eventPoll {
	d.polls++
	return &eventPoll{d: d, poll: d.polls, labels: labels, fresh: map[uint64]uint32{},
		total: map[featureMethod]float64{}, failures: map[failureKey]float64{},
		seenSeries: map[featureMethod]bool{}, seenFails: map[failureKey]bool{}}
}

// add records an event and returns its feature and method labels, and
// whether it is a repeat of a row already in this poll (then ignore it).
func (p *eventPoll) add(e *graphapi.Event) (fm featureMethod, repeat bool) {
	key := p.d.keyOf(e)
	if _, dup := p.fresh[key]; dup {
		p.duplicates++
		return fm, true
	}
	old, counted := p.d.seen[key]
	if counted && old.poll == p.poll {
		p.duplicates++
		return fm, true
	}
	label := p.labels.known
	if !counted { // a new event: its values may take a place under the caps
		label = p.labels.value
	}
	fm = featureMethod{label("feature", e.Feature), label("method", e.AuthMethod)}
	p.seenSeries[fm] = true
	var fk failureKey
	if e.Failed() {
		reason := e.FailureReason
		if reason == "" {
			reason = "unspecified"
		} else {
			reason = label("reason", reason)
		}
		fk = failureKey{fm.feature, fm.method, reason}
		p.seenFails[fk] = true
	}
	if counted {
		old.poll = p.poll
		p.d.seen[key] = old
		return fm, false
	}
	at := uint32(max(e.EventDateTime.Unix(), 0))
	if e.EventDateTime.IsZero() {
		at = uint32(p.labels.now.Unix()) // no time given: remember it for a full retention period
	}
	p.fresh[key] = at
	p.total[fm]++
	if e.Failed() {
		p.failures[fk]++
	}
	return fm, false
}

// commit counts the poll's new events, forgets keys past retention and
// drops the counter series Graph has sent no event of for retention.
func (p *eventPoll) commit(now time.Time, retention time.Duration) {
	d := p.d
	for k, at := range p.fresh {
		d.seen[k] = seenEvent{at: at, poll: p.poll}
	}
	addCounts(d.total, p.total, p.seenSeries, now)
	addCounts(d.failures, p.failures, p.seenFails, now)
	dropStale(d.total, now.Add(-retention))
	dropStale(d.failures, now.Add(-retention))
	// Forget keys past retention, unless Graph still returned them: such an
	// event would otherwise be counted again on the next poll.
	cutoff := uint32(max(now.Add(-eventRetention).Unix(), 0))
	for k, e := range d.seen {
		if e.at < cutoff && e.poll != p.poll {
			delete(d.seen, k)
		}
	}
	if over := len(d.seen) - d.maxKeys; over > 0 {
		d.evictOldest(over)
	}
}

func addCounts[K comparable](series map[K]*counterSeries, counts map[K]float64, seen map[K]bool, now time.Time) {
	for k := range seen {
		s := series[k]
		if s == nil {
			s = &counterSeries{}
			series[k] = s
		}
		s.value += counts[k]
		s.seen = now
	}
}

func dropStale[K comparable](series map[K]*counterSeries, cutoff time.Time) {
	for k, s := range series {
		if s.seen.Before(cutoff) {
			delete(series, k)
		}
	}
}

// evictOldest forgets the n oldest keys and counts them.
func (d *distinctEvents) evictOldest(n int) {
	type aged struct {
		key uint64
		at  uint32
	}
	all := make([]aged, 0, len(d.seen))
	for k, e := range d.seen {
		all = append(all, aged{k, e.at})
	}
	slices.SortFunc(all, func(a, b aged) int { return cmp.Compare(a.at, b.at) })
	for _, a := range all[:n] {
		delete(d.seen, a.key)
	}
	d.evicted += float64(n)
}

// emit adds the counters to m.
func (d *distinctEvents) emit(m *metricSet, totalDesc, failuresDesc *prometheus.Desc) {
	for _, k := range sortedFeatureMethods(d.total) {
		m.counter(totalDesc, d.total[k].value, k.feature, k.method)
	}
	keys := make([]failureKey, 0, len(d.failures))
	for k := range d.failures {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b failureKey) int {
		return strings.Compare(a.feature+"\x00"+a.method+"\x00"+a.reason, b.feature+"\x00"+b.method+"\x00"+b.reason)
	})
	for _, k := range keys {
		m.counter(failuresDesc, d.failures[k].value, k.feature, k.method, k.reason)
	}
}
