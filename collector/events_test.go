package collector

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

func event(at time.Time, success bool) *graphapi.Event {
	return &graphapi.Event{ID: "u", Feature: "reset", AuthMethod: "email", IsSuccess: &success, EventDateTime: graphapi.Time{Time: at}}
}

// testLabels is a labelLimit for the event reports, as a poll at now sees it.
func testLabels(max int, now time.Time) *labelLimit {
	return newLabelLimit(map[string]int{"feature": max, "method": max, "reason": max}, 48*time.Hour).begin(now)
}

func TestEventKeysPrunedAfterRetention(t *testing.T) {
	now := testNow
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
	now := testNow
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
	if s, ok := d.total[featureMethod{"reset", "sms"}]; !ok || s.value != 1 {
		t.Errorf("the series Graph still sends: %+v, want 1", s)
	}
}

// Past the cap, new values are counted under "other"; a repeated row in one
// poll is counted once and reported as a duplicate.
func TestEventLabelsAreCapped(t *testing.T) {
	now := testNow
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
		func(e *graphapi.Event) { e.IsSuccess = new(true) },
		func(e *graphapi.Event) { e.IsSuccess = nil }, // null: neither true nor false
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
	p := d.begin(testLabels(5, testNow))
	p.add(event(testNow, false))
	// no commit: the poll failed half way
	if len(d.seen) != 0 || len(d.total) != 0 || len(d.failures) != 0 {
		t.Fatal("a failed poll changed the counters")
	}
}

func TestEventKeyCapEvictsOldestAndCounts(t *testing.T) {
	now := testNow
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

// isSuccess true, false and null are three different events.
func TestEventKeyTellsSuccessStatesApart(t *testing.T) {
	d := newDistinctEvents()
	at := time.Unix(1700000000, 0)
	unknown := event(at, false)
	unknown.IsSuccess = nil
	keys := map[uint64]bool{d.keyOf(event(at, true)): true, d.keyOf(event(at, false)): true, d.keyOf(unknown): true}
	if len(keys) != 3 {
		t.Errorf("%d distinct keys for isSuccess true, false and null, want 3", len(keys))
	}
}

// An event whose isSuccess is null happened, but is not known to have
// failed: it is counted in the totals, not in the failures.
func TestNullSuccessCountsAsEventNotFailure(t *testing.T) {
	now := testNow
	d := newDistinctEvents()
	p := d.begin(testLabels(5, now))
	unknown := event(now.Add(-time.Hour), false)
	unknown.IsSuccess = nil
	unknown.FailureReason = "not a failure"
	p.add(unknown)
	p.add(event(now.Add(-time.Hour), false)) // the same event, failed: another event
	p.commit(now, 48*time.Hour)
	if got := d.total[featureMethod{"reset", "email"}].value; got != 2 {
		t.Errorf("total %v, want 2", got)
	}
	if _, ok := d.failures[failureKey{"reset", "email", "unspecified"}]; len(d.failures) != 1 || !ok {
		t.Errorf("failures %v, want only the failed event's (reason unspecified)", d.failures)
	}
}

// Graph's nulls are "unknown", not a guess: a null or empty userType is
// user_type="unknown", a null or absent isAdmin admin="unknown", and an
// event whose isSuccess is null or absent counts as an event (totals,
// period_events, period_users) but not as a failure. The whole output is
// in testdata/null_values.prom.
func TestNullValuesAreUnknown(t *testing.T) {
	f := newFixture(t, 20, config.UserRegistrationDetails, config.UserEventsSummary)
	now := testNow
	ago := func(d time.Duration) string { return now.Add(-d).UTC().Format(time.RFC3339) }
	users := `{"value":[
		{"id":"a","userType":"member","isAdmin":true,"isMfaRegistered":true},
		{"id":"b","userType":"member","isAdmin":null,"methodsRegistered":["email"],"userPreferredMethodForSecondaryAuthentication":"sms"},
		{"id":"c","userType":null,"isAdmin":false},
		{"id":"d","userType":"","isMfaRegistered":true,"methodsRegistered":["email"]},
		{"id":"e","isAdmin":null}]}`
	events := fmt.Sprintf(`{"value":[
		{"id":"u1","feature":"registration","authMethod":"email","isSuccess":null,"eventDateTime":%[1]q},
		{"id":"u2","feature":"registration","authMethod":"email","eventDateTime":%[2]q},
		{"id":"u3","feature":"registration","authMethod":"email","isSuccess":false,"failureReason":"boom","eventDateTime":%[2]q},
		{"id":"u4","feature":"reset","authMethod":"email","isSuccess":null,"eventDateTime":%[3]q},
		{"id":"u4","feature":"reset","authMethod":"email","isSuccess":false,"eventDateTime":%[3]q},
		{"id":"u4","feature":"reset","authMethod":"email","isSuccess":true,"eventDateTime":%[3]q},
		{"id":"u1","feature":"reset","authMethod":"sms","isSuccess":true,"eventDateTime":%[4]q}]}`,
		ago(30*time.Minute), ago(2*time.Hour), ago(4*time.Hour), ago(3*24*time.Hour))
	f.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		body := ""
		switch {
		case strings.HasSuffix(r.URL.Path, "/userRegistrationDetails"):
			body = users
		case strings.HasSuffix(r.URL.Path, "/userEventsSummary"):
			body = events
		default:
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
		return true
	})
	f.pollAll(t)
	f.pollAll(t) // the same events again: nothing new, a null isSuccess included
	e := exporterFor(f.p)
	for _, rp := range f.p.reports {
		if st := rp.status.Load(); !st.Up {
			t.Fatalf("%s: %s", rp.name, st.LastError)
		}
	}
	compareGolden(t, e, "null_values.prom")
	piecesMatchSnapshots(t, e)

	for _, c := range []struct {
		name  string
		pairs []string
		want  float64
	}{
		{"entra_authmethods_users", []string{"user_type", "member", "admin", "unknown"}, 1},
		{"entra_authmethods_users", []string{"user_type", "unknown", "admin", "false"}, 1},
		{"entra_authmethods_users", []string{"user_type", "unknown", "admin", "unknown"}, 2},
		{"entra_authmethods_events_total", []string{"feature", "registration", "method", "email"}, 3},
		{"entra_authmethods_events_total", []string{"feature", "reset", "method", "email"}, 3},
		{"entra_authmethods_period_event_failures", []string{"period", "h1", "feature", "registration"}, 0},
		{"entra_authmethods_period_events", []string{"period", "h1", "feature", "registration"}, 1},
		{"entra_authmethods_period_users", []string{"period", "h6", "feature", "registration"}, 3},
		{"entra_authmethods_period_failed_users", []string{"period", "h6", "feature", "registration"}, 1},
	} {
		if got := value(t, e, c.name, c.pairs...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.pairs, got, c.want)
		}
	}
	if got := sumOf(t, e, "entra_authmethods_event_failures_total"); got != 2 {
		t.Errorf("event_failures_total sums to %v, want 2 (the two events with isSuccess false)", got)
	}
}
