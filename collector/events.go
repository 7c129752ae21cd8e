package collector

import (
	"cmp"
	"context"
	"encoding/binary"
	"hash/maphash"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// eventRetention is how long an event's key is remembered: Graph keeps events 30 days.
const eventRetention = 31 * 24 * time.Hour

// maxEventKeys caps the keys remembered per report and tenant (some 30 MB):
// a guard against a flood of events, far above what 30 days hold.
const maxEventKeys = 1_000_000

// failureKey labels a failed event; reason is empty for one that did not fail.
type failureKey struct{ feature, method, reason string }

// counterSeries is a counter's value and when Graph last sent an event of it.
type counterSeries struct {
	value float64
	seen  time.Time
}

// seenEvent is a counted event's time (Unix seconds) and the last poll that returned it.
type seenEvent struct{ at, poll uint32 }

// distinctEvents counts each event once across polls, although Graph returns
// its whole window every time. Events have no id of their own (the id is the
// user's), so an event is known by a 64-bit hash of all its fields.
type distinctEvents struct {
	seed     maphash.Seed
	seen     map[uint64]seenEvent
	polls    uint32 // polls begun, to mark the events each returned
	total    map[featureMethod]counterSeries
	failures map[failureKey]counterSeries
	maxKeys  int
	evicted  float64 // keys dropped at the cap before their time: such an event may be counted again
}

func newDistinctEvents() *distinctEvents {
	return &distinctEvents{seed: maphash.MakeSeed(), seen: map[uint64]seenEvent{},
		total: map[featureMethod]counterSeries{}, failures: map[failureKey]counterSeries{}, maxKeys: maxEventKeys}
}

// keyOf identifies an event by every field the exporter reads.
func (d *distinctEvents) keyOf(e *graphapi.Event) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	for _, f := range []string{e.ID, e.Feature, e.UserPrincipalName, e.AuthMethod, e.FailureReason} {
		h.WriteString(f)
		h.WriteByte(0)
	}
	success := byte(2) // isSuccess null or absent: neither true nor false
	if e.IsSuccess != nil {
		success = byte(b2i(*e.IsSuccess))
	}
	h.WriteByte(success)
	var at [8]byte
	binary.LittleEndian.PutUint64(at[:], uint64(e.EventDateTime.UnixNano()))
	h.Write(at[:])
	return h.Sum64()
}

// eventPoll gathers one poll's events. It counts nothing until commit, so a
// poll that fails half way changes no counter (the poll numbers it marks are
// read only by a commit).
type eventPoll struct {
	d          *distinctEvents
	poll       uint32
	labels     *labelLimit
	fresh      map[uint64]uint32         // events not seen before: their time in Unix seconds
	total      map[featureMethod]float64 // per series Graph sent in the poll: its new events
	failures   map[failureKey]float64    // likewise
	duplicates int
}

func (d *distinctEvents) begin(labels *labelLimit) *eventPoll {
	d.polls++
	return &eventPoll{d: d, poll: d.polls, labels: labels, fresh: map[uint64]uint32{},
		total: map[featureMethod]float64{}, failures: map[failureKey]float64{}}
}

// add records an event and returns its labels, and whether it repeats a row
// of this poll (then ignore it).
func (p *eventPoll) add(e *graphapi.Event) (k failureKey, repeat bool) {
	key := p.d.keyOf(e)
	old, counted := p.d.seen[key]
	if _, dup := p.fresh[key]; dup || counted && old.poll == p.poll {
		p.duplicates++
		return k, true
	}
	label, n := p.labels.value, 1.0 // a new event: its values may take a place under the caps
	if counted {
		label, n = p.labels.known, 0
		old.poll = p.poll
		p.d.seen[key] = old
	} else if e.EventDateTime.IsZero() {
		p.fresh[key] = uint32(p.labels.now.Unix()) // no time given: remember it for a full retention period
	} else {
		p.fresh[key] = uint32(max(e.EventDateTime.Unix(), 0))
	}
	k = failureKey{feature: label("feature", e.Feature), method: label("method", e.AuthMethod)}
	p.total[featureMethod{k.feature, k.method}] += n
	if e.Failed() {
		k.reason = "unspecified"
		if e.FailureReason != "" {
			k.reason = label("reason", e.FailureReason)
		}
		p.failures[k] += n
	}
	return k, false
}

// commit counts the poll's new events and forgets keys and series past retention.
func (p *eventPoll) commit(now time.Time, retention time.Duration) {
	d := p.d
	for k, at := range p.fresh {
		d.seen[k] = seenEvent{at: at, poll: p.poll}
	}
	addCounts(d.total, p.total, now, now.Add(-retention))
	addCounts(d.failures, p.failures, now, now.Add(-retention))
	// Keys Graph still returned are kept, else they would be counted again.
	cutoff := uint32(max(now.Add(-eventRetention).Unix(), 0))
	maps.DeleteFunc(d.seen, func(_ uint64, e seenEvent) bool { return e.at < cutoff && e.poll != p.poll })
	if over := len(d.seen) - d.maxKeys; over > 0 {
		d.evictOldest(over)
	}
}

// addCounts adds a poll's counts, sent at now, and drops series unsent since stale.
func addCounts[K comparable](series map[K]counterSeries, counts map[K]float64, now, stale time.Time) {
	for k, n := range counts {
		series[k] = counterSeries{value: series[k].value + n, seen: now}
	}
	maps.DeleteFunc(series, func(_ K, s counterSeries) bool { return s.seen.Before(stale) })
}

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

// poll reads one poll's events from list, giving each (if not nil) every
// event that repeats no row of the poll, with its labels. It then counts the
// new events and returns the counters, evicted keys, repeats and drops.
func (d *distinctEvents) poll(ctx context.Context, env *pollEnv, list func(context.Context, func(*graphapi.Event) error) (int, error),
	totalDesc, failuresDesc *prometheus.Desc, each func(failureKey, *graphapi.Event)) (snapshot, int, error) {
	p := d.begin(env.labels)
	n, err := list(ctx, func(e *graphapi.Event) error {
		if k, repeat := p.add(e); !repeat && each != nil {
			each(k, e)
		}
		return nil
	})
	if err != nil {
		return nil, n, err
	}
	p.commit(env.now, env.labels.retention)
	var m snapshot
	for _, k := range sortedFeatureMethods(d.total) {
		m.counter(totalDesc, d.total[k].value, k.feature, k.method)
	}
	for _, k := range sortedFailureKeys(d.failures) {
		m.counter(failuresDesc, d.failures[k].value, k.feature, k.method, k.reason)
	}
	m.counter(eventKeysEvictedDesc, d.evicted, env.report)
	m.gauge(reportDuplicatesDesc, float64(p.duplicates), env.report)
	env.labels.emitDropped(&m, env.report)
	return m, n, nil
}
