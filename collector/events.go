package collector

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// eventRetention is how long an event's key is remembered. Graph keeps
// events for 30 days, so a key older than that cannot come back.
const eventRetention = 31 * 24 * time.Hour

// eventKey identifies an event by all of its fields (Graph gives events no
// id of their own: the id is the user's).
type eventKey [16]byte

// keyOf identifies a Graph event by every field the exporter reads.
func keyOf(e *graphapi.Event) eventKey {
	return newEventKey([]string{e.ID, e.Feature, e.UserPrincipalName, e.AuthMethod, e.FailureReason}, e.IsSuccess, e.EventDateTime.Time)
}

func newEventKey(fields []string, success bool, at time.Time) eventKey {
	h := fnv.New128a()
	for _, f := range fields {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	var buf [9]byte
	buf[0] = byte(b2i(success))
	binary.LittleEndian.PutUint64(buf[1:], uint64(at.UnixNano()))
	h.Write(buf[:])
	var k eventKey
	h.Sum(k[:0])
	return k
}

type failureKey struct{ feature, method, reason string }

// maxEventKeys caps the keys remembered per report and tenant, about 40 MB:
// a guard against a flood of events, far above what a 30-day window holds.
const maxEventKeys = 1_000_000

// distinctEvents counts each event once across polls, although Graph returns
// its whole retained window every time.
type distinctEvents struct {
	seen     map[eventKey]int64 // event time in Unix seconds, for pruning
	total    map[featureMethod]float64
	failures map[failureKey]float64
	maxKeys  int
	evicted  float64 // keys dropped at the cap before their time: such an event may be counted again
}

func newDistinctEvents() *distinctEvents {
	return &distinctEvents{seen: map[eventKey]int64{}, total: map[featureMethod]float64{},
		failures: map[failureKey]float64{}, maxKeys: maxEventKeys}
}

// eventPoll gathers one poll's events without touching the counters, so a
// poll that fails half way changes nothing.
type eventPoll struct {
	d        *distinctEvents
	thisPoll map[eventKey]struct{}
	pending  []pendingEvent
}

type pendingEvent struct {
	key                     eventKey
	at                      time.Time
	feature, method, reason string
	success                 bool
}

func (d *distinctEvents) begin() *eventPoll {
	return &eventPoll{d: d, thisPoll: map[eventKey]struct{}{}}
}

// add records an event and reports whether it is new in this poll (the same
// row twice in one response is one event).
func (p *eventPoll) add(e *graphapi.Event) bool {
	key := keyOf(e)
	if _, dup := p.thisPoll[key]; dup {
		return false
	}
	p.thisPoll[key] = struct{}{}
	if _, old := p.d.seen[key]; !old {
		p.pending = append(p.pending, pendingEvent{key, e.EventDateTime.Time, e.Feature, e.AuthMethod, e.FailureReason, e.IsSuccess})
	}
	return true
}

// commit counts the poll's new events and forgets keys past retention.
func (p *eventPoll) commit(reasons *reasonLimit, now time.Time) {
	d := p.d
	for _, e := range p.pending {
		at := e.at
		if at.IsZero() {
			at = now // no time given: remember it for a full retention period
		}
		d.seen[e.key] = at.Unix()
		d.total[featureMethod{e.feature, e.method}]++
		if !e.success {
			d.failures[failureKey{e.feature, e.method, reasons.label(e.reason)}]++
		}
	}
	// Forget keys past retention, unless Graph still returned them: such an
	// event would otherwise be counted again on the next poll.
	cutoff := now.Add(-eventRetention).Unix()
	for k, at := range d.seen {
		if _, current := p.thisPoll[k]; at < cutoff && !current {
			delete(d.seen, k)
		}
	}
	if over := len(d.seen) - d.maxKeys; over > 0 {
		d.evictOldest(over)
	}
}

// evictOldest forgets the n oldest keys and counts them.
func (d *distinctEvents) evictOldest(n int) {
	type aged struct {
		key eventKey
		at  int64
	}
	all := make([]aged, 0, len(d.seen))
	for k, at := range d.seen {
		all = append(all, aged{k, at})
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
		m.counter(totalDesc, d.total[k], k.feature, k.method)
	}
	keys := make([]failureKey, 0, len(d.failures))
	for k := range d.failures {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b failureKey) int {
		return strings.Compare(a.feature+"\x00"+a.method+"\x00"+a.reason, b.feature+"\x00"+b.method+"\x00"+b.reason)
	})
	for _, k := range keys {
		m.counter(failuresDesc, d.failures[k], k.feature, k.method, k.reason)
	}
}

// sortedFeatureMethods returns the keys of a featureMethod map in label order.
func sortedFeatureMethods[V any](m map[featureMethod]V) []featureMethod {
	keys := make([]featureMethod, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b featureMethod) int {
		if c := strings.Compare(a.feature, b.feature); c != 0 {
			return c
		}
		return strings.Compare(a.method, b.method)
	})
	return keys
}

// reasonLimit caps the distinct failure reasons of a tenant: the first max
// reasons seen keep their text, later ones become "other". Reasons once
// admitted stay admitted, so counters never move between label sets.
type reasonLimit struct {
	max      int
	admitted map[string]bool
}

func newReasonLimit(max int) *reasonLimit {
	return &reasonLimit{max: max, admitted: map[string]bool{}}
}

func (r *reasonLimit) label(reason string) string {
	if reason == "" {
		reason = "unspecified"
	}
	if r.admitted[reason] {
		return reason
	}
	if len(r.admitted) >= r.max {
		return "other"
	}
	r.admitted[reason] = true
	return reason
}
