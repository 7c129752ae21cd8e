package collector

import (
	"testing"
	"time"
)

func TestEventKeysPrunedAfterRetention(t *testing.T) {
	now := time.Now()
	d := newDistinctEvents()
	reasons := newReasonLimit(5)
	old := newEventKey([]string{"u", "reset"}, true, now.Add(-40*24*time.Hour))
	recent := newEventKey([]string{"u", "reset"}, true, now.Add(-time.Hour))

	p := d.begin()
	p.add(old, now.Add(-40*24*time.Hour), "reset", "email", "", true)
	p.add(recent, now.Add(-time.Hour), "reset", "email", "", true)
	p.commit(reasons, now)
	if len(d.seen) != 2 {
		t.Fatalf("an old event Graph still returns must be remembered: %d keys", len(d.seen))
	}

	// Graph no longer returns the old event: its key is forgotten, the count stays.
	p = d.begin()
	p.add(recent, now.Add(-time.Hour), "reset", "email", "", true)
	p.commit(reasons, now)
	if _, ok := d.seen[old]; ok || len(d.seen) != 1 {
		t.Fatalf("old key kept: %d keys", len(d.seen))
	}
	if got := d.total[featureMethod{"reset", "email"}]; got != 2 {
		t.Fatalf("total %v, want 2", got)
	}
}

func TestUncommittedPollCountsNothing(t *testing.T) {
	d := newDistinctEvents()
	p := d.begin()
	p.add(newEventKey([]string{"x"}, false, time.Now()), time.Now(), "reset", "sms", "boom", false)
	// no commit: the poll failed half way
	if len(d.seen) != 0 || len(d.total) != 0 || len(d.failures) != 0 {
		t.Fatal("a failed poll changed the counters")
	}
}
