package dashboards

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

// These tests have promtool evaluate dashboard queries on series scraped
// from two targets (instances a and b, as one exporter scraped twice), with
// the variables substituted, against values worked out by hand.

// exprCase is a query and the series it must return at eval_time.
type exprCase struct {
	name, expr string
	want       []string // exp_samples entries, "{labels} value"
}

// promtoolEval runs promtool test rules on input series (promtool's
// notation, one per line, without job and instance: both targets get each)
// and the cases, at evalTime.
func promtoolEval(t *testing.T, series []string, evalTime string, cases []exprCase) {
	t.Helper()
	promtoolEvalEvery(t, "1m", series, evalTime, cases)
}

// promtoolEvalEvery is promtoolEval with the input series' samples interval apart.
func promtoolEvalEvery(t *testing.T, interval string, series []string, evalTime string, cases []exprCase) {
	t.Helper()
	promtool := testenv.Tool(t, "promtool")
	var b strings.Builder
	fmt.Fprintf(&b, "rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: %s\n    input_series:\n", interval)
	for _, s := range series {
		metric, values, _ := strings.Cut(s, " ")
		for _, instance := range []string{"a:9871", "b:9871"} {
			labels := fmt.Sprintf(`job="%s", instance="%s", `, Defaults().Rules.Job, instance)
			fmt.Fprintf(&b, "      - series: '%s'\n        values: '%s'\n", strings.Replace(metric, "{", "{"+labels, 1), values)
		}
	}
	b.WriteString("    promql_expr_test:\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "      # %s\n      - expr: %q\n        eval_time: %s\n        exp_samples:\n", c.name, substitute.Replace(c.expr), evalTime)
		for _, w := range c.want {
			i := strings.LastIndex(w, " ")
			labels, value := w[:i], w[i+1:]
			fmt.Fprintf(&b, "          - labels: '%s'\n            value: %s\n", labels, value)
		}
	}
	file := filepath.Join(t.TempDir(), "queries.test.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "test", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s\n%s", err, out, b.String())
	}
}

// TestSpikeQueries checks the spike panels against the alert's definition:
// each method's events expected at its own baseline (F_d7,m - F_h6,m) /
// (E_d7,m - E_h6,m), or the feature's without enough events; excess F_w -
// X_w; its deviations; threshold X_w / E_w + MinPoints; failing users U_w.
func TestSpikeQueries(t *testing.T) {
	// MinPoints is a binary fraction, so X_w / E_w + MinPoints is exact.
	x := newSpike(reset, rules.Spike{MinExcessFailures: 20, MinZ: 3, MinPoints: 0.125, MinFailingUsers: 10}, 20, `period=~"h1|h6"`)
	// Tenant busy: per window, events and failures split over two methods
	// failing alike (each method's baseline is the feature's, 25%), and
	// distinct failing users. Tenant quiet has no events before the last six
	// hours, so no baseline, which the alert takes as 0. Tenant mixed: sms
	// always fails 50%, email 10%; the last hour has mostly sms.
	var series []string
	for _, w := range []struct {
		tenant, period, method   string
		events, failures, failed int
	}{
		{"busy", "d7", "sms", 500, 150, 200}, {"busy", "h6", "sms", 100, 50, 50}, {"busy", "h1", "sms", 32, 24, 5},
		{"busy", "d7", "email", 500, 150, 200}, {"busy", "h6", "email", 100, 50, 50}, {"busy", "h1", "email", 32, 24, 5},
		{"quiet", "d7", "sms", 5, 3, 3}, {"quiet", "h6", "sms", 5, 3, 3}, {"quiet", "h1", "sms", 2, 1, 2},
		{"quiet", "d7", "email", 5, 3, 3}, {"quiet", "h6", "email", 5, 3, 3}, {"quiet", "h1", "email", 2, 1, 2},
		{"mixed", "d7", "sms", 200, 100, 60}, {"mixed", "h6", "sms", 100, 50, 60}, {"mixed", "h1", "sms", 40, 20, 30},
		{"mixed", "d7", "email", 800, 100, 60}, {"mixed", "h6", "email", 400, 50, 60}, {"mixed", "h1", "email", 8, 1, 30},
	} {
		labels := fmt.Sprintf(`{tenant="%s", feature="reset", period="%s", method="%s"}`, w.tenant, w.period, w.method)
		series = append(series, fmt.Sprintf("%s%s %dx10", periodEvents, labels, w.events),
			fmt.Sprintf("%s%s %dx10", periodEventFailures, labels, w.failures))
		if w.method == "sms" {
			series = append(series, fmt.Sprintf(`%s{tenant="%s", feature="reset", period="%s"} %dx10`, periodFailedUsers, w.tenant, w.period, w.failed))
		}
	}
	row := func(tenant, period, value string) string {
		return fmt.Sprintf(`{tenant="%s", feature="reset", period="%s"} %s`, tenant, period, value)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	// mixed: sms expected at 50% (50/100 before the last 6 hours), email at 12.5% (50/400):
	// h1 40 × 0.5 + 8 × 0.125 = 21 expected of 48, 21 failed; h6 50 + 50 = 100 of 500, 100 failed.
	promtoolEval(t, series, "5m", []exprCase{
		{"ratio", x.ratio, []string{row("busy", "h1", "0.75"), row("busy", "h6", "0.5"), row("quiet", "h1", "0.5"), row("quiet", "h6", "0.6"),
			row("mixed", "h1", f(21.0/48)), row("mixed", "h6", f(100.0/500))}},
		{"expected ratio", x.expectedRatio, []string{row("busy", "h1", "0.25"), row("busy", "h6", "0.25"), row("quiet", "h1", "0"), row("quiet", "h6", "0"),
			row("mixed", "h1", f(21.0/48)), row("mixed", "h6", f(100.0/500))}},
		{"threshold", x.threshold, []string{row("busy", "h1", "0.375"), row("busy", "h6", "0.375"), row("quiet", "h1", "0.125"), row("quiet", "h6", "0.125"),
			row("mixed", "h1", f(21.0/48+0.125)), row("mixed", "h6", f(100.0/500+0.125))}},
		{"excess", x.excess, []string{row("busy", "h1", "32"), row("busy", "h6", "50"), row("quiet", "h1", "2"), row("quiet", "h6", "6"),
			row("mixed", "h1", "0"), row("mixed", "h6", "0")}},
		{"deviations", x.zscore, []string{row("busy", "h1", f(32/math.Sqrt(64*(0.25*0.75)+1))), row("busy", "h6", f(50/math.Sqrt(200*(0.25*0.75)+1))),
			row("quiet", "h1", "2"), row("quiet", "h6", "6"),
			row("mixed", "h1", "0"), row("mixed", "h6", "0")}},
		{"failing users", x.failingUsers, []string{row("busy", "h1", "5"), row("busy", "h6", "50"), row("quiet", "h1", "2"), row("quiet", "h6", "3"),
			row("mixed", "h1", "30"), row("mixed", "h6", "60")}},
		// busy h1: excess, deviations and ratio suffice, but only 5 users failed; h6: all four.
		// mixed: as expected of its methods, though its last hour's 44% is far above the feature's 20%.
		{"conditions", x.conditions, []string{row("busy", "h1", "0"), row("busy", "h6", "1"), row("quiet", "h1", "0"), row("quiet", "h6", "0"),
			row("mixed", "h1", "0"), row("mixed", "h6", "0")}},
	})
}

// TestReasonQueries checks the failure-reason panels, which read the
// windowed gauges (a restart changes none of them): deduplicated across the
// two targets, zeros left out, one column per window.
func TestReasonQueries(t *testing.T) {
	all := queries(t)
	q := func(panel, ref string) string {
		expr, ok := all["Entra ID authentication methods / Activity / "+panel+" / "+ref]
		if !ok {
			t.Fatalf("no query %s of %s", ref, panel)
		}
		return expr
	}
	var series []string
	for _, r := range []struct {
		feature, reason string
		h1, d7          int
	}{{"reset", "wrong code", 2, 40}, {"reset", "timeout", 0, 7}, {"registration", "late", 0, 0}} {
		for _, w := range []struct {
			period string
			n      int
		}{{"h1", r.h1}, {"d7", r.d7}} {
			series = append(series, fmt.Sprintf(`%s{tenant="t", feature="%s", reason="%s", period="%s"} %dx10`, periodFailureReasons, r.feature, r.reason, w.period, w.n))
		}
	}
	promtoolEval(t, series, "5m", []exprCase{
		{"top reasons of 7 days", q("Top failure reasons, last 7 days", "A"),
			[]string{`{tenant="t", feature="reset", reason="wrong code"} 40`, `{tenant="t", feature="reset", reason="timeout"} 7`}},
		{"reasons of the last hour", q("Failure reasons by window", "A"),
			[]string{`{tenant="t", feature="reset", reason="wrong code"} 2`}},
		{"reasons of 7 days", q("Failure reasons by window", "D"),
			[]string{`{tenant="t", feature="reset", reason="wrong code"} 40`, `{tenant="t", feature="reset", reason="timeout"} 7`}},
	})
}

// TestCounterQueries checks the panels over counters, which the end-to-end
// test cannot (the demo's counters step every 5 minutes): counters that
// step at a poll half-way through the hour ($__range is 1h here), rounded
// since promtool versions extrapolate at the range's edges differently.
func TestCounterQueries(t *testing.T) {
	all := queries(t)
	q := func(dashboard, panel string) string {
		expr, ok := all["Entra ID authentication methods / "+dashboard+" / "+panel+" / A"]
		if !ok {
			t.Fatalf("no query A of %s / %s", dashboard, panel)
		}
		return "round(" + expr + ")"
	}
	series := []string{
		graphRequests + `{tenant="t", code="200"} 100x30 130x30`,
	}
	promtoolEval(t, series, "60m", []exprCase{
		{"requests by code", q("Exporter health", "Graph requests by status code over the time range"),
			[]string{`{tenant="t", code="200"} 30`}},
		{"throttled share: 0 before the first 429", q("Exporter health", "Throttled share over the time range"),
			[]string{`{tenant="t"} 0`}},
	})
}

// TestFleetExcessQueries checks the fleet's ranking of failures beyond the
// usual: a tenant whose resets always fail often (60%) ranks by its excess
// over its own baseline, an outage at a low baseline shows, and a tenant
// failing less than usual has no row (no negative excess).
func TestFleetExcessQueries(t *testing.T) {
	expr, ok := queries(t)["Entra ID authentication methods / Fleet / Most password reset failures beyond the usual, last 6 hours / A"]
	if !ok {
		t.Fatal("no fleet excess query")
	}
	var series []string
	for _, w := range []struct {
		tenant, period   string
		events, failures int
	}{
		{"highbase", "d7", 7000, 4220}, {"highbase", "h6", 1000, 620}, // baseline 60%: 20 beyond it
		{"outage", "d7", 700, 90}, {"outage", "h6", 100, 40}, // baseline 50/600: 31.7 beyond it
		{"calm", "d7", 700, 70}, {"calm", "h6", 100, 5}, // fewer than usual
	} {
		labels := fmt.Sprintf(`{tenant="%s", feature="reset", period="%s", method="sms"}`, w.tenant, w.period)
		series = append(series, fmt.Sprintf("%s%s %dx10", periodEvents, labels, w.events), fmt.Sprintf("%s%s %dx10", periodEventFailures, labels, w.failures))
	}
	promtoolEval(t, series, "5m", []exprCase{{"excess, zeros and below left out", "round(" + expr + ")",
		[]string{`{tenant="highbase", feature="reset"} 20`, `{tenant="outage", feature="reset"} 32`}}})
}

// TestGroupQueries checks the group variable and the per-group panels on 30
// days of a tenant and its groups: All counts the tenant, a group its
// members, each labelled with the group; the groups table's change of the
// phishing-resistant share against 30 days before, left out for a group
// younger than that; and the fleet's ranking of admins' coverage.
func TestGroupQueries(t *testing.T) {
	all := queries(t)
	q := func(dashboard, panel, ref string) string {
		expr, ok := all["Entra ID authentication methods / "+dashboard+" / "+panel+" / "+ref]
		if !ok {
			t.Fatalf("no query %s of %s / %s", ref, dashboard, panel)
		}
		return expr
	}
	inGroup := func(expr, group string) string { return strings.ReplaceAll(expr, "$group", group) }
	member := func(admin, strength string) string {
		return fmt.Sprintf(`tenant="t", user_type="member", admin="%s", strength="%s"`, admin, strength)
	}
	// One sample a day for 30 days. The tenant: 1050 members, 50 of them
	// admins; 340 phishing-resistant, 40 of them admins. Finance: 110
	// members, 10 of them admins, 9 of those phishing-resistant; its other
	// members move from none to phishing-resistant, one a day (10 to 40).
	// Young: read for the last two days only.
	series := []string{
		users + `{tenant="t", user_type="member", admin="false"} 1000x30`,
		users + `{tenant="t", user_type="member", admin="true"} 50x30`,
		usersByStrength + `{` + member("false", "phishing_resistant") + `} 300x30`,
		usersByStrength + `{` + member("false", "none") + `} 700x30`,
		usersByStrength + `{` + member("true", "phishing_resistant") + `} 40x30`,
		usersByStrength + `{` + member("true", "app") + `} 10x30`,
		groupUsers + `{tenant="t", group="finance", user_type="member", admin="false"} 100x30`,
		groupUsers + `{tenant="t", group="finance", user_type="member", admin="true"} 10x30`,
		groupUsersByStrength + `{group="finance", ` + member("false", "phishing_resistant") + `} 10+1x30`,
		groupUsersByStrength + `{group="finance", ` + member("false", "none") + `} 90-1x30`,
		groupUsersByStrength + `{group="finance", ` + member("true", "phishing_resistant") + `} 9x30`,
		groupUsersByStrength + `{group="finance", ` + member("true", "phone") + `} 1x30`,
		groupUsersByStrength + `{group="young", ` + member("false", "phishing_resistant") + `} _x29 5 5`,
		groupUsersByStrength + `{group="young", ` + member("false", "none") + `} _x29 15 15`,
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	// As PromQL computes them, in float64 (Go's constant arithmetic is exact).
	financeNow, financeThen := 49.0, 19.0
	financeNow, financeThen = financeNow/110, financeThen/110
	usersStat, prStat := q("Adoption", "Users", "A"), q("Adoption", "Phishing-resistant users", "A")
	adminsWithout := q("Adoption", "Admins without phishing-resistant", "A")
	promtoolEvalEvery(t, "1d", series, "30d", []exprCase{
		{"users, All", inGroup(usersStat, groupAllValue), []string{`{tenant="t", user_type="member"} 1050`}},
		{"users, finance", inGroup(usersStat, "finance"), []string{`{tenant="t", user_type="member", group="finance"} 110`}},
		{"phishing-resistant share, All", inGroup(prStat, groupAllValue), []string{`{tenant="t", user_type="member"} ` + f(340.0/1050)}},
		{"phishing-resistant share, finance", inGroup(prStat, "finance"), []string{`{tenant="t", user_type="member", group="finance"} ` + f(financeNow)}},
		{"admins without phishing-resistant, All", inGroup(adminsWithout, groupAllValue), []string{`{tenant="t", user_type="member"} 10`}},
		{"admins without phishing-resistant, finance", inGroup(adminsWithout, "finance"), []string{`{tenant="t", user_type="member", group="finance"} 1`}},
		{"groups: phishing-resistant share", q("Adoption", "Groups", "D"),
			[]string{`{tenant="t", group="finance"} ` + f(financeNow), `{tenant="t", group="young"} 0.25`}},
		{"groups: change in 30 days, in points; none for a young group", q("Adoption", "Groups", "F"),
			[]string{`{tenant="t", group="finance"} ` + f(100*(financeNow-financeThen))}},
		{"fleet: admins' phishing-resistant coverage", q("Fleet", "Lowest phishing-resistant coverage of admins", "A"),
			[]string{`{tenant="t"} 0.8`}},
	})
}
