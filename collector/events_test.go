package collector

import (
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

func event(at time.Time, success bool) *graphapi.Event {
	return &graphapi.Event{ID: "u", Feature: "reset", AuthMethod: "email", IsSuccess: success, EventDateTime: graphapi.Time{Time: at}}
}

// testLabels is a labelLimit for the event reports, as a poll at now sees it.
func testLabels(max int, now time.Time) *labelLimit {
	return newLabelLimit(map[string]int{"feature": max, "method": max, "reason": max}, 48*time.Hour).begin(now)
}

func TestEventKeysPrunedAfterRetention(t *testing.T) {
	now := time.Now()
	d := newDistinctEvents()
	old, recent := event(now.Add(-40*24*time.Hour), true), event(now.Add(-time.Hour), true)

	p := d.begin(testLabels(5, now))
	p.add(old)
	p.add(recent)
	p.commit(now, 48*time.Hour)
	if len(d.seen) != 2 {
		t.Fatalf("an old event Graph still returns must be remembered: %d keys", len(d.seen))
	}

	// Graph no longer returns the old event: its key is forgotten, the count stays.
	p = d.begin(testLabels(5, now))
	p.add(recent)
	p.commit(now, 48*time.Hour)
	if _, ok := d.seen[d.keyOf(old)]; ok || len(d.seen) != 1 {
		t.Fatalf("old key kept: %d keys", len(d.seen))
	}
	if got := d.total[featureMethod{"reset", "email"}].value; got != 2 {
		t.Fatalf("total %v, want 2", got)
	}
}

// A counter series Graph has sent no event of for the retention period is
// dropped; one it still sends stays, however old its count.
func TestCounterSeriesDroppedAfterRetention(t *testing.T) {
	now := time.Now()
	d := newDistinctEvents()
	labels := testLabels(5, now)
	p := d.begin(labels)
	p.add(event(now.Add(-time.Hour), false))
	other := event(now.Add(-time.Hour), true)
	other.AuthMethod = "sms"
	p.add(other)
	p.commit(now, 48*time.Hour)
	if len(d.total) != 2 || len(d.failures) != 1 {
		t.Fatalf("%d total and %d failure series, want 2 and 1", len(d.total), len(d.failures))
	}
	// A day later Graph sends only the sms event; two days later, still.
	for _, later := range []time.Duration{24 * time.Hour, 49 * time.Hour} {
		at := now.Add(later)
		labels = labels.begin(at)
		p = d.begin(labels)
		p.add(other)
		p.commit(at, 48*time.Hour)
	}
	if _, ok := d.total[featureMethod{"reset", "email"}]; ok || len(d.failures) != 0 {
		t.Errorf("series Graph stopped sending 49 h ago were kept: %v %v", d.total, d.failures)
	}
	if s := d.total[featureMethod{"reset", "sms"}]; s == nil || s.value != 1 {
		t.Errorf("the series Graph still sends: %+v, want 1", s)
	}
}

// Past the cap, new values are counted under "other"; a repeated row in one
// poll is counted once and reported as a duplicate.
func TestEventLabelsAreCapped(t *testing.T) {
	now := time.Now()
	d := newDistinctEvents()
	labels := testLabels(2, now)
	p := d.begin(labels)
	for i, method := range []string{"a", "b", "c", "d", "a"} {
		e := event(now.Add(-time.Duration(i)*time.Minute), false)
		e.AuthMethod, e.FailureReason = method, "reason "+method
		p.add(e)
	}
	p.add(event(now.Add(-time.Hour), true))
	p.add(event(now.Add(-time.Hour), true)) // the same row again
	p.commit(now, 48*time.Hour)
	got := map[string]float64{}
	for k, s := range d.total {
		got[k.method] = s.value
	}
	if got["a"] != 2 || got["b"] != 1 || got["other"] != 3 || len(got) != 3 {
		t.Errorf("totals by method %v, want a=2 b=1 and other=3 (c, d and email, past the cap of 2)", got)
	}
	if p.duplicates != 1 {
		t.Errorf("%d duplicates, want 1", p.duplicates)
	}
	if labels.dropped["method"] == 0 || labels.dropped["reason"] == 0 {
		t.Errorf("drops not counted: %v", labels.dropped)
	}
}

func TestEventIdentityUsesEveryField(t *testing.T) {
	d := newDistinctEvents()
	base := event(time.Unix(1700000000, 0), false)
	variants := []func(e *graphapi.Event){
		func(e *graphapi.Event) { e.ID = "other" },
		func(e *graphapi.Event) { e.Feature = "registration" },
		func(e *graphapi.Event) { e.UserPrincipalName = "x@y" },
		func(e *graphapi.Event) { e.AuthMethod = "sms" },
		func(e *graphapi.Event) { e.FailureReason = "boom" },
		func(e *graphapi.Event) { e.IsSuccess = true },
		func(e *graphapi.Event) { e.EventDateTime.Time = e.EventDateTime.Add(time.Second) },
	}
	for i, change := range variants {
		e := *base
		change(&e)
		if d.keyOf(&e) == d.keyOf(base) {
			t.Errorf("variant %d has the same key as the base event", i)
		}
	}
	same := *base
	if d.keyOf(&same) != d.keyOf(base) {
		t.Error("equal events have different keys")
	}
}

func TestUncommittedPollCountsNothing(t *testing.T) {
	d := newDistinctEvents()
	p := d.begin(testLabels(5, time.Now()))
	p.add(event(time.Now(), false))
	// no commit: the poll failed half way
	if len(d.seen) != 0 || len(d.total) != 0 || len(d.failures) != 0 {
		t.Fatal("a failed poll changed the counters")
	}
}

func TestEventKeyCapEvictsOldestAndCounts(t *testing.T) {
	now := time.Now()
	d := newDistinctEvents()
	d.maxKeys = 3
	p := d.begin(testLabels(5, now))
	for i := range 5 { // five events, oldest first
		p.add(event(now.Add(-time.Duration(5-i)*time.Hour), true))
	}
	p.commit(now, 48*time.Hour)
	if len(d.seen) != 3 || d.evicted != 2 {
		t.Fatalf("%d keys kept, %v evicted; want 3 and 2", len(d.seen), d.evicted)
	}
	if _, ok := d.seen[d.keyOf(event(now.Add(-time.Hour), true))]; !ok {
		t.Error("the newest event was evicted")
	}
	if _, ok := d.seen[d.keyOf(event(now.Add(-5*time.Hour), true))]; ok {
		t.Error("the oldest event was kept")
	}
	if got := d.total[featureMethod{"reset", "email"}].value; got != 5 {
		t.Errorf("total %v, want 5: eviction must not change what was counted", got)
	}
}
