package collector

import (
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

func event(at time.Time, success bool) *graphapi.Event {
	return &graphapi.Event{ID: "u", Feature: "reset", AuthMethod: "email", IsSuccess: success, EventDateTime: graphapi.Time{Time: at}}
}

func TestEventKeysPrunedAfterRetention(t *testing.T) {
	now := time.Now()
	d := newDistinctEvents()
	reasons := newReasonLimit(5)
	old, recent := event(now.Add(-40*24*time.Hour), true), event(now.Add(-time.Hour), true)

	p := d.begin()
	p.add(old)
	p.add(recent)
	p.commit(reasons, now)
	if len(d.seen) != 2 {
		t.Fatalf("an old event Graph still returns must be remembered: %d keys", len(d.seen))
	}

	// Graph no longer returns the old event: its key is forgotten, the count stays.
	p = d.begin()
	p.add(recent)
	p.commit(reasons, now)
	if _, ok := d.seen[keyOf(old)]; ok || len(d.seen) != 1 {
		t.Fatalf("old key kept: %d keys", len(d.seen))
	}
	if got := d.total[featureMethod{"reset", "email"}]; got != 2 {
		t.Fatalf("total %v, want 2", got)
	}
}

func TestEventIdentityUsesEveryField(t *testing.T) {
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
		if keyOf(&e) == keyOf(base) {
			t.Errorf("variant %d has the same key as the base event", i)
		}
	}
	same := *base
	if keyOf(&same) != keyOf(base) {
		t.Error("equal events have different keys")
	}
}

func TestUncommittedPollCountsNothing(t *testing.T) {
	d := newDistinctEvents()
	p := d.begin()
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
	p := d.begin()
	for i := range 5 { // five events, oldest first
		p.add(event(now.Add(-time.Duration(5-i)*time.Hour), true))
	}
	p.commit(newReasonLimit(5), now)
	if len(d.seen) != 3 || d.evicted != 2 {
		t.Fatalf("%d keys kept, %v evicted; want 3 and 2", len(d.seen), d.evicted)
	}
	if _, ok := d.seen[keyOf(event(now.Add(-time.Hour), true))]; !ok {
		t.Error("the newest event was evicted")
	}
	if _, ok := d.seen[keyOf(event(now.Add(-5*time.Hour), true))]; ok {
		t.Error("the oldest event was kept")
	}
	if got := d.total[featureMethod{"reset", "email"}]; got != 5 {
		t.Errorf("total %v, want 5: eviction must not change what was counted", got)
	}
}
