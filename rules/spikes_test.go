package rules

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// The failure-spike alerts are tested on scenarios: a tenant's activity in
// 30-minute buckets (the default poll_interval), turned into the window
// gauges the exporter would expose at each poll, which step every 30
// minutes, as promtool input. Each scenario says when the alert must fire
// and when it must stay silent. The generated file is shipped
// (deploy/prometheus/entra-authmethods.spikes.test.yml) so it can be read
// and run with promtool alone; TestShippedFilesAreGenerated keeps it current.

// bucket is 30 minutes of one feature's activity: events, failed events,
// and the distinct users among the failures who had not failed before in
// the scenario (so the failing users of a window add up).
type bucket struct{ events, failures, newFailingUsers float64 }

// at returns a bucket of n events of which ratio failed, by one new failing
// user per usersPer failures.
func at(n, ratio, usersPer float64) bucket {
	f := n * ratio
	return bucket{n, f, f / usersPer}
}

// repeat returns n copies of b.
func repeat(n int, b bucket) []bucket {
	out := make([]bucket, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// scenario is one tenant and feature over time, and optionally the
// tenant's other feature.
type scenario struct {
	name, tenant, feature string
	history               bucket              // each 30 minutes of the 30 days before the test
	buckets               []bucket            // from the test's start on
	methods               map[string]activity // the feature's methods but email (the buckets), if any
	other                 *activity           // the tenant's other feature, if any
	lag                   int                 // buckets before an event reaches Graph
	late                  lateFrom            // from a bucket on, a longer lag
	missing               []int               // minutes at which no series is scraped (a restart)
	down                  [][2]int            // minute ranges [from, to) with no series (a crash, a slow start)
	reportFails           [2]int              // polls [from, to) of user_events_summary that fail: its gauges keep their values
	duplicated            bool                // two targets expose the tenant
	alert                 string              // the alert checked; by default the feature's spike alert
	alertMethod           string              // the method label of the alert checked (EntraAuthMethodsMethodFailureSpike)
	step                  int                 // minutes between samples (and evaluations): 1, or 10 for scenarios of days
	firing, silent        []int               // minutes at which the alert must fire, or not
	exprs                 []valueCheck
	why                   string // what the scenario shows, for the file's comments
}

// activity is one feature's buckets and the history before them.
type activity struct {
	history bucket
	buckets []bucket
}

// lateFrom makes the events of bucket from on reach Graph lag buckets
// late (Graph running late from a moment on).
type lateFrom struct{ from, lag int }

// valueCheck is a query's value at a minute; its labels are the
// scenario's tenant and feature and period h6 unless given.
type valueCheck struct {
	expr   string
	minute int
	value  float64
	labels string
}

const (
	bucketMinutes = 30
	job           = `job="entra-authmethods-exporter"`
)

// windows are the exporter's windows the rules read, in buckets.
var windows = []struct {
	period  string
	buckets int
}{{"h1", 2}, {"h6", 12}, {"d1", 48}, {"d7", 336}, {"d30", 1440}}

// lagOf is how many buckets the events of bucket j take to reach Graph.
func (s scenario) lagOf(j int) int {
	if s.late.lag > 0 && j >= s.late.from {
		return s.late.lag
	}
	return s.lag
}

// polled returns the poll whose data the exporter serves at poll k: k
// itself, or the last one before the failing polls.
func (s scenario) polled(k int) int {
	if k >= s.reportFails[0] && k < s.reportFails[1] {
		return s.reportFails[0] - 1
	}
	return k
}

// polls returns, for each poll k (at minute 30k), the window sums the
// exporter would expose for a: per window, events, failures and failing
// users; and the start of the newest bucket with events Graph has.
func (s scenario) polls(a activity) (sums [][]bucket, newest []float64) {
	n := len(s.buckets)
	sums, newest = make([][]bucket, n+1), make([]float64, n+1)
	for k := 0; k <= n; k++ {
		at := s.polled(k)
		newest[k] = math.NaN()
		for _, w := range windows {
			var sum bucket
			for j := at - w.buckets; j < at; j++ {
				if j+s.lagOf(j) >= at { // happened, not yet in Graph
					continue
				}
				b := a.history
				if j >= 0 {
					b = a.buckets[j]
				}
				sum.events += b.events
				sum.failures += b.failures
				sum.newFailingUsers += b.newFailingUsers
				if b.events > 0 && (math.IsNaN(newest[k]) || float64(j) > newest[k]) {
					newest[k] = float64(j)
				}
			}
			sums[k] = append(sums[k], sum)
		}
	}
	return sums, newest
}

// values is a promtool values string: one sample a minute from minute 0 to
// the scenario's end, value(k) from poll k on, and a staleness marker where
// a scrape is missing (as Prometheus writes when a scrape fails).
func (s scenario) values(value func(k int) float64) string {
	var samples []string
	for m := 0; m <= len(s.buckets)*bucketMinutes; m += s.stepMinutes() {
		v := "stale"
		if !s.isDown(m) {
			v = strconv.FormatFloat(value(m/bucketMinutes), 'g', -1, 64)
		}
		samples = append(samples, v)
	}
	// Runs of one value as "v" and "vxN" (N more of it).
	var out []string
	for i := 0; i < len(samples); {
		j := i
		for j+1 < len(samples) && samples[j+1] == samples[i] {
			j++
		}
		switch {
		case j == i || samples[i] == "stale":
			out = append(out, samples[i])
			j = i
		default:
			out = append(out, fmt.Sprintf("%sx%d", samples[i], j-i))
		}
		i = j + 1
	}
	return strings.Join(out, " ")
}

func (s scenario) stepMinutes() int { return max(s.step, 1) }

// isDown says whether no series is scraped at minute m.
func (s scenario) isDown(m int) bool {
	for _, d := range s.down {
		if m >= d[0] && m < d[1] {
			return true
		}
	}
	return slices.Contains(s.missing, m)
}

// otherFeature is the feature that is not f.
func otherFeature(f string) string {
	if f == "reset" {
		return "registration"
	}
	return "reset"
}

// series writes the input series of one feature's activity.
func (s scenario) series(b *strings.Builder, instance, feature string, a activity, more map[string]activity) {
	byMethod := map[string]activity{"email": a}
	maps.Copy(byMethod, more)
	failing := make([][]float64, len(s.buckets)+1) // per poll and window, over every method
	newest := make([]float64, len(s.buckets)+1)
	for k := range newest {
		failing[k], newest[k] = make([]float64, len(windows)), math.NaN()
	}
	for _, method := range slices.Sorted(maps.Keys(byMethod)) {
		polls, last := s.polls(byMethod[method])
		for k := range polls {
			for wi := range windows {
				failing[k][wi] += polls[k][wi].newFailingUsers
			}
			if !math.IsNaN(last[k]) && !(last[k] <= newest[k]) {
				newest[k] = last[k]
			}
		}
		for wi, w := range windows {
			labels := fmt.Sprintf(`%s, %s, tenant="%s", feature="%s", period="%s", method="%s"`, job, instance, s.tenant, feature, w.period, method)
			fmt.Fprintf(b, "      - series: 'entra_authmethods_period_events{%s}'\n        values: '%s'\n", labels,
				s.values(func(k int) float64 { return math.Round(polls[k][wi].events) }))
			fmt.Fprintf(b, "      - series: 'entra_authmethods_period_event_failures{%s}'\n        values: '%s'\n", labels,
				s.values(func(k int) float64 { return math.Round(polls[k][wi].failures) }))
		}
	}
	for wi, w := range windows {
		fmt.Fprintf(b, "      - series: 'entra_authmethods_period_failed_users{%s, %s, tenant=\"%s\", feature=\"%s\", period=\"%s\"}'\n        values: '%s'\n",
			job, instance, s.tenant, feature, w.period, s.values(func(k int) float64 { return math.Round(failing[k][wi]) }))
	}
	// The newest event: a minute before the end of the newest bucket Graph has.
	fmt.Fprintf(b, "      - series: 'entra_authmethods_newest_event_timestamp_seconds{%s, %s, tenant=\"%s\", feature=\"%s\"}'\n        values: '%s'\n",
		job, instance, s.tenant, feature, s.values(func(k int) float64 {
			if math.IsNaN(newest[k]) {
				return -86400 * 30 // no event in 30 days
			}
			return (newest[k]+1)*bucketMinutes*60 - 60
		}))
}

// testYAML writes the scenario as a promtool test.
func (s scenario) testYAML(b *strings.Builder, alert string, p Params, severity string) {
	if s.alert != "" {
		alert = s.alert
	}
	switch {
	case alert == "EntraAuthMethodsMethodFailureSpike":
		severity = p.MethodSpike.Severity
	case !strings.HasSuffix(alert, "Spike") && !strings.HasSuffix(alert, "SpikeDataLost"):
		severity = p.WarnSeverity
	}
	fmt.Fprintf(b, "  # %s\n", s.name)
	for _, line := range strings.Split(s.why, "\n") {
		fmt.Fprintf(b, "  #   %s\n", line)
	}
	fmt.Fprintf(b, "  - name: %q\n    interval: %dm\n    input_series:\n", s.name, s.stepMinutes())
	instances := []string{`instance="exporter:9871"`}
	if s.duplicated {
		instances = append(instances, `instance="exporter-copy:9871"`)
	}
	for _, inst := range instances {
		s.series(b, inst, s.feature, activity{s.history, s.buckets}, s.methods)
		if s.other != nil {
			s.series(b, inst, otherFeature(s.feature), *s.other, nil)
		}
		// The events report's last success (a few seconds after its poll)
		// and its interval: the alerts speak only from fresh data.
		report := fmt.Sprintf(`%s, %s, tenant="%s", report="user_events_summary"`, job, inst, s.tenant)
		fmt.Fprintf(b, "      - series: 'entra_authmethods_report_last_success_timestamp_seconds{%s}'\n        values: '%s'\n",
			report, s.values(func(k int) float64 { return float64(s.polled(k)*bucketMinutes*60 + 5) }))
		fmt.Fprintf(b, "      - series: 'entra_authmethods_poll_interval_seconds{%s}'\n        values: '%s'\n",
			report, s.values(func(int) float64 { return bucketMinutes * 60 }))
	}
	fmt.Fprintf(b, "    promql_expr_test:\n")
	type check struct {
		minute int
		fires  bool
	}
	var checks []check
	for _, m := range s.firing {
		checks = append(checks, check{m, true})
	}
	for _, m := range s.silent {
		checks = append(checks, check{m, false})
	}
	for _, v := range s.exprs {
		labels := cmp.Or(v.labels, `tenant="`+s.tenant+`", feature="`+s.feature+`", period="h6"`)
		fmt.Fprintf(b, "      - expr: '%s'\n        eval_time: %dm\n        exp_samples:\n          - labels: '%s'\n            value: %s\n",
			v.expr, v.minute, strings.SplitN(v.expr, "{", 2)[0]+"{"+labels+"}", strconv.FormatFloat(v.value, 'g', -1, 64))
	}
	labels := fmt.Sprintf(`alertname=%q, alertstate="firing", tenant=%q, feature=%q, severity=%q`, alert, s.tenant, s.feature, severity)
	if s.alertMethod != "" {
		labels += fmt.Sprintf(`, method=%q`, s.alertMethod)
	}
	if alert == "EntraAuthMethodsGraphEventsLate" {
		labels = fmt.Sprintf(`alertname=%q, alertstate="firing", tenant=%q, severity=%q`, alert, s.tenant, severity)
	}
	for _, c := range checks {
		fmt.Fprintf(b, "      - expr: ALERTS{alertname=%q, alertstate=\"firing\", tenant=%q}\n        eval_time: %dm\n", alert, s.tenant, c.minute)
		if !c.fires {
			fmt.Fprintf(b, "        exp_samples: []\n")
			continue
		}
		fmt.Fprintf(b, "        exp_samples:\n          - labels: 'ALERTS{%s}'\n            value: 1\n", labels)
	}
}

// spikeScenarios are the behaviours the failure-spike alerts must have.
// With other parameters than the defaults the expected outcomes change, so
// the scenarios apply to Defaults().
func spikeScenarios() []scenario {
	normal35 := at(100, 0.35, 1.4) // 200 attempts an hour, 35% failing
	return []scenario{{
		name: "outage at a 35% baseline", tenant: "contoso", feature: "reset",
		why: "200 resets an hour, 35% failing, then from 1h 61% failing (122 failures an hour by 60 users).\n" +
			"The first poll with half an hour of the outage (1h30) fires: 26 failures more than expected,\n" +
			"48% against a threshold of 45%, 55 failing users. A rule on twice the baseline never would.",
		history: normal35,
		buckets: append(repeat(2, normal35), repeat(6, bucket{100, 61, 30})...),
		silent:  []int{0, 59, 89}, firing: []int{90, 120, 239},
	}, {
		name: "outage at a 50% baseline", tenant: "fabrikam", feature: "reset",
		why:     "200 resets an hour, 50% failing, then 85%: fires at the first poll of the outage.",
		history: at(100, 0.5, 2),
		buckets: append(repeat(2, at(100, 0.5, 2)), repeat(4, at(100, 0.85, 2))...),
		silent:  []int{59}, firing: []int{90, 179},
	}, {
		name: "outage at a 70% baseline", tenant: "tailspin", feature: "reset",
		why:     "A tenant whose resets mostly fail anyway (70%) still pages when they all fail (95%).",
		history: at(100, 0.7, 2),
		buckets: append(repeat(2, at(100, 0.7, 2)), repeat(2, at(100, 0.95, 2))...),
		silent:  []int{59}, firing: []int{90},
	}, {
		name: "one user fails 5 of 6 on a small tenant", tenant: "smallco", feature: "reset",
		why:     "A quiet tenant (2 resets an hour, none failing); one user tries 6 times and fails 5: silent.",
		history: at(1, 0, 1),
		buckets: append(repeat(2, at(1, 0, 1)), bucket{6, 5, 1}, at(1, 0, 1), at(1, 0, 1)),
		silent:  []int{59, 90, 120},
	}, {
		name: "one user retries 30 times", tenant: "smallco2", feature: "reset",
		why: "One user (or a script) fails 30 resets in half an hour on a quiet tenant: far above the\n" +
			"baseline, but one user is not an outage: silent, by the failing-users minimum alone.",
		history: at(1, 0, 1),
		buckets: append(repeat(2, at(1, 0, 1)), bucket{31, 30, 1}, at(1, 0, 1)),
		silent:  []int{90, 120},
	}, {
		name: "ordinary fluctuation on a busy tenant", tenant: "bigco", feature: "reset",
		why: "1000 resets an hour at 35%, hour by hour 5 points above or below it: an hour at 40% is\n" +
			"50 failures more than expected, but not 10 points: silent.",
		history: at(500, 0.35, 1.4),
		buckets: []bucket{at(500, 0.40, 1.4), at(500, 0.40, 1.4), at(500, 0.30, 1.4), at(500, 0.30, 1.4),
			at(500, 0.40, 1.4), at(500, 0.40, 1.4), at(500, 0.30, 1.4), at(500, 0.30, 1.4)},
		silent: []int{30, 60, 90, 120, 180, 210, 239},
	}, {
		name: "a small excess on a small tenant", tenant: "smallco3", feature: "reset",
		why: "80 resets an hour at 10%; half an hour with 20 of 40 failing (15 users): 16 failures more\n" +
			"than expected, under the minimum of 20: silent.",
		history: at(40, 0.10, 1.4),
		buckets: append(repeat(2, at(40, 0.10, 1.4)), bucket{40, 20, 15}, at(40, 0.10, 1.4), at(40, 0.10, 1.4)),
		silent:  []int{90, 120, 150},
	}, {
		name: "a small excess, scraped twice", tenant: "smallco4", feature: "reset",
		why:     "The same tenant exposed by two targets: counted once, so still 16 failures more, silent.",
		history: at(40, 0.10, 1.4), duplicated: true,
		buckets: append(repeat(2, at(40, 0.10, 1.4)), bucket{40, 20, 15}, at(40, 0.10, 1.4)),
		silent:  []int{90, 120},
	}, {
		name: "an exporter restart", tenant: "contoso2", feature: "reset",
		why:     "No series for two scrapes (2h10, 2h11), then the same gauges again: silent before, during and after.",
		history: normal35, buckets: repeat(6, normal35), missing: []int{130, 131},
		silent: []int{129, 130, 131, 132, 180},
	}, {
		name: "a restart during an outage", tenant: "contoso3", feature: "reset",
		why:     "The alert fires, the exporter restarts (no series for two scrapes): it keeps firing.",
		history: normal35,
		buckets: append(repeat(2, normal35), repeat(4, bucket{100, 61, 30})...), missing: []int{100, 101},
		firing: []int{90, 100, 101, 102},
	}, {
		name: "an outage that lasts one poll", tenant: "contoso4", feature: "reset",
		why: "Half an hour at 61%, then back to 35%: fires at the next poll, for an hour (while the\n" +
			"last hour holds it), and the six-hour window still shows it five hours later.",
		history: normal35,
		buckets: append(append(repeat(2, normal35), bucket{100, 61, 30}), repeat(12, normal35)...),
		silent:  []int{59, 180}, firing: []int{90, 149},
		exprs: []valueCheck{{expr: `tenant_feature_period:entra_authmethods_period_event_failures:sum{tenant="contoso4", period="h6"}`,
			minute: 390, value: 11*35 + 61}},
	}, {
		name: "an outage that reaches Graph two hours late", tenant: "contoso5", feature: "reset",
		why: "Graph lags (up to a few hours, Microsoft says): events reach it two hours after they happen,\n" +
			"so the last hour never holds them. From 1h, 95% of resets fail; the six-hour window fires\n" +
			"an hour after the outage reaches Graph (4h).",
		history: normal35, lag: 4,
		buckets: append(repeat(2, normal35), repeat(8, bucket{100, 95, 40})...),
		silent:  []int{59, 179, 209}, firing: []int{240, 299},
	}, {
		name: "no history", tenant: "newco", feature: "reset",
		why: "No events in the 7 days before (a baseline of 0); then 40 of 100 resets in half an hour\n" +
			"fail for 20 users: fires.",
		buckets: append(repeat(2, bucket{}), bucket{100, 40, 20}),
		silent:  []int{59}, firing: []int{90},
	}, {
		name: "registration outage", tenant: "contoso6", feature: "registration",
		why:     "Registrations spike as resets do; this alert is a warning.",
		history: at(100, 0.2, 1.4),
		buckets: append(repeat(2, at(100, 0.2, 1.4)), repeat(2, at(100, 0.6, 2))...),
		silent:  []int{59}, firing: []int{90},
		exprs: []valueCheck{{expr: `tenant_feature:entra_authmethods_registration_failure_spike:active{tenant="contoso6"}`, minute: 90, value: 1,
			labels: `tenant="contoso6", feature="registration"`}},
	}}
}

// spikeTests returns the promtool test file of the spike scenarios, and of
// the realistic ones of hours; trafficTests that of the realistic ones of
// days, sampled and evaluated every 10 minutes so that they run in a minute.
func spikeTests(p Params) string {
	return scenarioFile(p, "entra-authmethods.spikes.test.yml", 1,
		append(spikeScenarios(), slices.DeleteFunc(realisticScenarios(), func(s scenario) bool { return s.step > 1 })...))
}

func trafficTests(p Params) string {
	return scenarioFile(p, "entra-authmethods.traffic.test.yml", 10,
		slices.DeleteFunc(realisticScenarios(), func(s scenario) bool { return s.step <= 1 }))
}

func scenarioFile(p Params, name string, every int, scenarios []scenario) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Unit tests of the failure alerts of entra-authmethods.rules.yml, on
# scenarios: a tenant's activity, turned into the window gauges the exporter
# would expose, stepping every 30 minutes (one poll). Generated by package
# rules (go generate ./rules/) from rules/spikes_test.go; run with
#   promtool test rules deploy/prometheus/%s
# Each case checks, at the minutes given, that the alert fires or is silent.
rule_files:
  - entra-authmethods.rules.yml

evaluation_interval: %dm

group_eval_order:
  - entra-authmethods.rules
  - entra-authmethods.alerts
  - entra-authmethods-exporter.alerts

tests:
`, name, every)
	for _, s := range scenarios {
		alert, severity := "EntraAuthMethodsSSPRResetFailureSpike", p.ResetSpike.Severity
		if s.feature == "registration" {
			alert, severity = "EntraAuthMethodsRegistrationFailureSpike", p.RegistrationSpike.Severity
		}
		s.testYAML(&b, alert, p, severity)
	}
	return b.String()
}

// traffic simulates a feature's activity in n buckets, the first starting
// at bucket from of the week (test time 0 is a Thursday, 00:00 UTC): at
// most perHour events an hour, fewer at night, in the evening and at the
// weekend, with Poisson-like noise; ratio(j) of bucket j's events fail, with
// binomial-like noise, usersPer failures to a failing user (retries).
func traffic(seed uint64, from, n int, perHour float64, ratio func(j int) float64, usersPer float64) []bucket {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]bucket, n)
	for j := range out {
		t := from + j
		hour, day := t/2%24, t/48%7
		shape := 1.0
		switch {
		case hour < 6 || hour >= 22:
			shape = 0.1
		case hour < 8 || hour >= 18:
			shape = 0.5
		}
		if day == 2 || day == 3 { // Saturday, Sunday
			shape *= 0.35
		}
		mean := perHour / 2 * shape
		events := max(0, math.Round(mean+math.Sqrt(mean)*rng.NormFloat64()))
		r := ratio(j)
		failures := min(events, max(0, math.Round(events*r+math.Sqrt(events*r*(1-r))*rng.NormFloat64())))
		out[j] = bucket{events, failures, math.Round(failures / usersPer)}
	}
	return out
}

// steady is a constant failure ratio.
func steady(r float64) func(int) float64 { return func(int) float64 { return r } }

// during is ratio r in buckets [from, to), else normal.
func during(normal, r float64, ranges ...[2]int) func(int) float64 {
	return func(j int) float64 {
		for _, g := range ranges {
			if j >= g[0] && j < g[1] {
				return r
			}
		}
		return normal
	}
}

// minute is the test minute of day d (from 0) at hh:mm.
func minute(d, hh, mm int) int { return d*1440 + hh*60 + mm }

// realisticScenarios run simulated traffic (a day's and a week's shape,
// noise, users who retry) through what an on-call engineer meets: outages
// that end, crashes and failing reports mid-outage, slow degradation,
// vanishing events, and Graph running late.
func realisticScenarios() []scenario {
	const spike = "EntraAuthMethodsSSPRResetFailureSpike"
	busy := func(seed uint64, ratio func(int) float64) []bucket { return traffic(seed, 16, 24, 600, ratio, 1.4) }
	outage := during(0.6, 0.9, [2]int{4, 10}, [2]int{18, 20})
	daily := func(seed uint64, days int, perHour float64, ratio func(int) float64) []bucket {
		return traffic(seed, 0, days*48, perHour, ratio, 1.4)
	}
	ramp := func(j int) float64 { // 30% until day 3, 70% from day 6, a straight line between
		return 0.3 + 0.4*min(1, max(0, float64(j-3*48)/(3*48)))
	}
	vanished := func(b []bucket, from int, to ...int) []bucket { // no events from bucket from (to to)
		b = slices.Clone(b)
		for j := from; j < len(b) && (len(to) == 0 || j < to[0]); j++ {
			b[j] = bucket{}
		}
		return b
	}
	registrations := &activity{history: at(25, 0.2, 1.4), buckets: daily(91, 9, 100, steady(0.2))}
	resets9 := daily(92, 9, 300, steady(0.3))
	degrading := daily(21, 10, 400, ramp)
	// Passkey registrations, 40% failing as always; ten times as many from 10:00.
	passkeys := activity{at(5, 0.4, 1.4), append(traffic(56, 16, 4, 10, steady(0.4), 1.4), traffic(57, 20, 20, 100, steady(0.4), 1.4)...)}
	// SMS resets, failing from 10:00 to 13:00, and what the per-method rules
	// make of them at 12:00 (poll 8).
	sms := activity{at(24, 0.3, 1.4), traffic(52, 16, 24, 48, during(0.3, 1, [2]int{4, 10}), 1.4)}
	h1, h6, d7 := window(sms, 8, 2), window(sms, 8, 12), window(sms, 8, 336)
	smsBaseline := (d7.failures - h6.failures) / (d7.events - h6.events)
	smsLabels := `tenant="m-sms", feature="reset", method="sms"`
	smsChecks := []valueCheck{
		{expr: `tenant_feature_method_period:entra_authmethods_period_events:max{tenant="m-sms", method="sms", period="h1"}`, minute: 240, value: h1.events, labels: smsLabels + `, period="h1"`},
		{expr: `tenant_feature_method_period:entra_authmethods_period_event_failures:max{tenant="m-sms", method="sms", period="h1"}`, minute: 240, value: h1.failures, labels: smsLabels + `, period="h1"`},
		{expr: `tenant_feature_method_period:entra_authmethods_event_failure_ratio:ratio{tenant="m-sms", method="sms", period="h1"}`, minute: 240, value: h1.failures / h1.events, labels: smsLabels + `, period="h1"`},
		{expr: `tenant_feature_method:entra_authmethods_event_failure_ratio:baseline7d{tenant="m-sms", method="sms"}`, minute: 240, value: smsBaseline, labels: smsLabels},
		{expr: `tenant_feature_method_period:entra_authmethods_event_failures:excess{tenant="m-sms", method="sms", period="h1"}`, minute: 240, value: h1.failures - h1.events*smsBaseline, labels: smsLabels + `, period="h1"`},
		{expr: `tenant_feature_method_period:entra_authmethods_event_failures:zscore{tenant="m-sms", method="sms", period="h1"}`, minute: 240,
			value: (h1.failures - h1.events*smsBaseline) / math.Sqrt(h1.events*(smsBaseline*(1-smsBaseline))+1), labels: smsLabels + `, period="h1"`},
	}
	return []scenario{{
		name: "an outage that ends resolves within 1.5 hours, and a new one pages again", tenant: "r-recovers", feature: "reset",
		why: "A busy weekday (up to 600 resets an hour, 60% failing as usual, with noise); from 10:00 90% fail for\n" +
			"3 hours, then 60% again; a second outage at 17:00. Fires at the first poll of the outage,\n" +
			"resolves once an hour of normal resets has reached Graph (the six-hour window alone no\n" +
			"longer holds it), and fires again for the second outage.",
		history: at(300, 0.6, 1.4), buckets: busy(11, outage),
		silent: []int{119, 390, 420, 480}, firing: []int{150, 240, 299, 575},
		exprs: []valueCheck{
			{expr: `tenant:entra_authmethods_events_data_fresh:bool{tenant="r-recovers"}`, minute: 150, value: 1, labels: `tenant="r-recovers"`},
			{expr: `tenant_feature:entra_authmethods_reset_failure_spike:active{tenant="r-recovers"}`, minute: 150, value: 1, labels: `tenant="r-recovers", feature="reset"`},
		},
	}, {
		name: "an exporter crash mid-outage: the spike alert stops, DataLost takes over", tenant: "r-crash", feature: "reset",
		why: "The outage above; the exporter crashes at 3h20 and stays down. The spike alert keeps firing\n" +
			"15 minutes on its last data; DataLost fires 10 minutes after the data went away, so the\n" +
			"page never resolves in silence.",
		history: at(300, 0.6, 1.4), buckets: busy(11, outage), down: [][2]int{{200, 721}},
		alert: spike + "DataLost", silent: []int{150, 199, 205}, firing: []int{212, 300, 540},
	}, {
		name: "the spike alert during an exporter crash", tenant: "r-crash2", feature: "reset",
		why:     "The same crash, seen from the spike alert: firing before, and 15 minutes after (keep_firing_for), then silent.",
		history: at(300, 0.6, 1.4), buckets: busy(11, outage), down: [][2]int{{200, 721}},
		silent: []int{216, 300}, firing: []int{150, 199, 214},
	}, {
		name: "the events report fails mid-outage: no alert quotes frozen numbers", tenant: "r-report-fails", feature: "reset",
		why: "From the poll at 3h30 the events report fails (its gauges keep the last values) until 7h.\n" +
			"The data is stale once two poll intervals have passed since the last success (4h): the\n" +
			"spike alert stops 15 minutes later, DataLost fires after 10; both end when the report is back\n" +
			"and the last hour is normal.",
		history: at(300, 0.6, 1.4), buckets: busy(11, during(0.6, 0.9, [2]int{4, 12})), reportFails: [2]int{7, 14},
		alert: spike + "DataLost", silent: []int{150, 235, 430}, firing: []int{252, 300, 419},
		exprs: []valueCheck{{expr: `tenant:entra_authmethods_events_data_fresh:bool{tenant="r-report-fails"}`, minute: 300, value: 0, labels: `tenant="r-report-fails"`}},
	}, {
		name: "the spike alert while the events report fails", tenant: "r-report-fails2", feature: "reset",
		why:     "The same failing report, seen from the spike alert: firing on fresh data only.",
		history: at(300, 0.6, 1.4), buckets: busy(11, during(0.6, 0.9, [2]int{4, 12})), reportFails: [2]int{7, 14},
		silent: []int{260, 400}, firing: []int{150, 239},
	}, {
		name: "a registration outage, then a crash", tenant: "r-reg-crash", feature: "registration",
		why: "Registrations (up to 600 an hour, 20% failing) fail 60% from 10:00; the exporter crashes at\n" +
			"3h20: the registration alert's DataLost warns 10 minutes later.",
		history: at(300, 0.2, 1.4), buckets: busy(13, during(0.2, 0.6, [2]int{4, 10})), down: [][2]int{{200, 721}},
		alert: "EntraAuthMethodsRegistrationFailureSpikeDataLost", silent: []int{150, 199}, firing: []int{212, 300},
	}, {
		name: "SMS fails for everyone while it carries 8% of resets", tenant: "m-sms", feature: "reset",
		why: "A busy weekday: up to 552 resets an hour by email (30% failing) and 48 by SMS (30%); from\n" +
			"10:00 to 13:00 every SMS reset fails. The feature's ratio moves 30% to 36%: the SSPR spike alert\n" +
			"stays silent (next scenario), but the method alert warns within an hour, and resolves within\n" +
			"1.5 hours of SMS working again.",
		history: at(276, 0.3, 1.4), buckets: busy(51, steady(0.3)),
		methods: map[string]activity{"sms": sms},
		alert:   "EntraAuthMethodsMethodFailureSpike", alertMethod: "sms",
		silent: []int{119, 390, 420}, firing: []int{185, 240, 300},
		exprs: smsChecks,
	}, {
		name: "SMS failing pages once it is significant for the feature", tenant: "m-sms2", feature: "reset",
		why: "The same SMS outage, seen from the SSPR spike alert: some 34 users an hour beyond the usual,\n" +
			"the feature's ratio 6 points up: it pages once the excess is significant (by noon), and\n" +
			"resolves once SMS works again.",
		history: at(276, 0.3, 1.4), buckets: busy(51, steady(0.3)),
		methods: map[string]activity{"sms": sms},
		silent:  []int{185, 420}, firing: []int{240, 300},
	}, {
		name: "two SMS resets an hour failing is no method outage", tenant: "m-sms-few", feature: "reset",
		why: "Up to 600 resets an hour by email and 2 by SMS; from 10:00 every SMS reset fails: far above\n" +
			"its baseline, but 2 failures an hour are not enough to tell: silent.",
		history: at(300, 0.3, 1.4), buckets: busy(53, steady(0.3)),
		methods: map[string]activity{"sms": {at(1, 0.3, 1.4), traffic(54, 16, 24, 2, during(0.3, 1, [2]int{4, 24}), 1.4)}},
		alert:   "EntraAuthMethodsMethodFailureSpike", alertMethod: "sms",
		silent: []int{185, 300, 420, 600},
	}, {
		name: "a passkey campaign at the usual passkey failure ratio", tenant: "m-passkey", feature: "registration",
		why: "Registrations: up to 100 an hour by email (10% failing) and 10 passkeys (40% failing, as\n" +
			"always); from 10:00 a campaign brings ten times the passkeys, failing 40% as usual: no\n" +
			"method fails more than it does, so the method alert stays silent.",
		history: at(50, 0.1, 1.4), buckets: traffic(55, 16, 24, 100, steady(0.1), 1.4),
		methods: map[string]activity{"passkey": passkeys},
		alert:   "EntraAuthMethodsMethodFailureSpike", alertMethod: "passkey",
		silent: []int{185, 300, 420, 600},
	}, {
		name: "a passkey campaign does not fire the registration alert", tenant: "m-passkey2", feature: "registration",
		why: "The same campaign, seen from the registration spike alert: registrations fail 25% instead of 13%,\n" +
			"but each method at its usual ratio, which is what the expected failures are made of: silent.\n" +
			"(Against the feature's own ratio it fired for hours.)",
		history: at(50, 0.1, 1.4), buckets: traffic(55, 16, 24, 100, steady(0.1), 1.4),
		methods: map[string]activity{"passkey": passkeys},
		silent:  []int{185, 300, 420, 600},
	}, {
		name: "a large tenant 9 points up for six hours", tenant: "big-up", feature: "reset",
		why: "50,000 resets a day (up to 3,850 an hour), 30% failing; from 10:00 to 16:00 39% fail: some 340\n" +
			"users an hour beyond the usual, 12 standard deviations, though under 10 points. Fires within the\n" +
			"hour, all along, and resolves within 1.5 hours of the end.",
		history: at(1040, 0.3, 1.4), buckets: traffic(61, 16, 24, 3850, during(0.3, 0.39, [2]int{4, 16}), 1.4),
		silent: []int{119, 575}, firing: []int{185, 300, 479},
	}, {
		name: "a large tenant's ordinary day", tenant: "big-calm", feature: "reset",
		why:     "The same tenant on an ordinary day: noise on 3,850 resets an hour is a fraction of a point: silent.",
		history: at(1040, 0.3, 1.4), buckets: traffic(62, 16, 24, 3850, steady(0.3), 1.4),
		silent: []int{150, 240, 390, 600, 719},
	}, {
		name: "a large tenant drifting 3 points", tenant: "big-drift", feature: "reset",
		why: "The same tenant's ratio drifts from 30% to 33% for two hours, as a busy tenant's does: 4\n" +
			"standard deviations of binomial noise, but under the 5 points a drift must exceed: silent.",
		history: at(1040, 0.3, 1.4), buckets: traffic(63, 16, 24, 3850, during(0.3, 0.33, [2]int{4, 8}), 1.4),
		silent: []int{185, 210, 240, 270},
	}, {
		name: "a crash without a spike is no DataLost", tenant: "r-quiet-crash", feature: "reset",
		why:     "Normal resets; the exporter is down from 1h40 to 6h40: the exporter alerts say so, DataLost does not.",
		history: at(300, 0.6, 1.4), buckets: busy(12, steady(0.6)), down: [][2]int{{100, 400}},
		alert: spike + "DataLost", silent: []int{115, 200, 399, 420},
	}, {
		name: "a restart with a slow first poll mid-outage", tenant: "r-restart", feature: "reset",
		why: "The exporter restarts at 3h20 and its first poll of the events takes 25 minutes: the spike\n" +
			"alert keeps firing 15 minutes, DataLost fires from 3h30 until the data is back; then the spike\n" +
			"alert speaks again.",
		history: at(300, 0.6, 1.4), buckets: busy(11, outage), down: [][2]int{{200, 225}},
		alert: spike + "DataLost", silent: []int{199, 230}, firing: []int{212, 224},
	}, {
		step: 10, name: "a slow degradation keeps a warning firing", tenant: "r-degrading", feature: "reset",
		why: "Ten days of resets (up to 400 an hour, quieter nights and weekend); 30% fail until day 3,\n" +
			"then more each hour, 70% from day 6 on. EntraAuthMethodsFailureRatioDegraded warns from\n" +
			"day 5, through nights and weekends, while the 30 days before the last stay far lower.",
		history: at(100, 0.3, 1.4), buckets: degrading,
		alert: "EntraAuthMethodsFailureRatioDegraded",
		exprs: []valueCheck{{expr: `tenant_feature:entra_authmethods_event_failure_ratio:baseline30d{tenant="r-degrading"}`, minute: minute(9, 12, 0),
			value: func() float64 {
				a := activity{at(100, 0.3, 1.4), degrading}
				d30, d1 := window(a, 9*48+24, 1440), window(a, 9*48+24, 48)
				return (d30.failures - d1.failures) / (d30.events - d1.events)
			}(), labels: `tenant="r-degrading", feature="reset"`}},
		silent: []int{minute(2, 12, 0), minute(3, 12, 0)}, firing: []int{minute(5, 12, 0), minute(6, 3, 0), minute(7, 15, 0), minute(9, 12, 0), minute(9, 23, 0)},
	}, {
		step: 10, name: "a steady tenant with a short outage does not degrade", tenant: "r-steady", feature: "reset",
		why: "Ten days at 30% with noise, and an hour at 90% on day 8 (the spike alert's business): the\n" +
			"day's ratio rises a few points, not 15.",
		history: at(100, 0.3, 1.4), buckets: daily(22, 10, 400, during(0.3, 0.9, [2]int{8*48 + 20, 8*48 + 22})),
		alert:  "EntraAuthMethodsFailureRatioDegraded",
		silent: []int{minute(2, 12, 0), minute(8, 11, 30), minute(8, 18, 0), minute(9, 12, 0)},
	}, {
		step: 10, name: "resets vanish: the SSPR page is broken", tenant: "r-vanished", feature: "reset",
		why: "Nine days of resets and registrations; on day 8 (a Friday) from 10:00 no reset is recorded\n" +
			"at all, while registrations go on. Warns within 2 hours; silent the nights and weekend before,\n" +
			"when fewer resets are usual.",
		history: at(40, 0.3, 1.4), buckets: vanished(resets9, 8*48+20), other: registrations,
		alert: "EntraAuthMethodsEventsVanished",
		exprs: []valueCheck{{expr: `tenant_feature:entra_authmethods_period_events:usual_h1{tenant="r-vanished", feature="reset"}`, minute: minute(8, 11, 40),
			value:  min(window(activity{at(40, 0.3, 1.4), resets9}, 7*48+23, 2).events, window(activity{at(40, 0.3, 1.4), resets9}, 1*48+23, 2).events),
			labels: `tenant="r-vanished", feature="reset"`}},
		silent: []int{minute(5, 3, 0), minute(2, 12, 0), minute(3, 9, 0), minute(8, 9, 50)}, firing: []int{minute(8, 11, 40), minute(8, 12, 0)},
	}, {
		step: 10, name: "Graph three hours late is not vanished resets", tenant: "r-late", feature: "reset",
		why: "The same tenant, but from day 8 10:00 every event reaches Graph 3 hours late: the last\n" +
			"hour is empty for both features, the newest event over an hour old: not vanished resets.",
		history: at(40, 0.3, 1.4), buckets: resets9, other: registrations, late: lateFrom{8*48 + 20, 6},
		alert:  "EntraAuthMethodsEventsVanished",
		silent: []int{minute(8, 10, 40), minute(8, 11, 40), minute(8, 12, 30)},
	}, {
		step: 10, name: "Graph three hours late at a busy hour", tenant: "r-late2", feature: "reset",
		why: "The same lag, seen from EntraAuthMethodsGraphEventsLate: the newest event more than 2 hours old,\n" +
			"twice what a day and a week before showed, at an hour that usually has events: warns by 12:40.",
		history: at(40, 0.3, 1.4), buckets: resets9, other: registrations, late: lateFrom{8*48 + 20, 6},
		alert:  "EntraAuthMethodsGraphEventsLate",
		silent: []int{minute(8, 11, 50), minute(7, 12, 40)}, firing: []int{minute(8, 12, 40), minute(8, 13, 30)},
		// The newest event Graph has is from 09:59 (a minute before the lag began).
		exprs: []valueCheck{{expr: `tenant:entra_authmethods_newest_event_age_seconds:min{tenant="r-late2"}`, minute: minute(8, 12, 40),
			value: (2*3600 + 41*60), labels: `tenant="r-late2"`}},
	}, {
		step: 10, name: "no resets for hours on a quiet tenant's night is no lag", tenant: "r-quiet-night", feature: "reset",
		why: "A small tenant (at most 10 resets and 4 registrations an hour): at night hours pass without an\n" +
			"event, and on day 8 none at all until 06:00, far longer than the nights before; but that hour\n" +
			"usually has too few events to tell: silent.",
		history: at(2, 0.3, 1.4), buckets: vanished(daily(31, 9, 10, steady(0.3)), 8*48, 8*48+12),
		other: &activity{history: at(1, 0.2, 1.4), buckets: vanished(daily(32, 9, 4, steady(0.2)), 8*48, 8*48+12)},
		alert: "EntraAuthMethodsGraphEventsLate", silent: []int{minute(8, 4, 0), minute(8, 5, 30), minute(7, 23, 30)},
	}, {
		step: 10, name: "a Monday surge is no outage and no lag", tenant: "r-monday", feature: "reset",
		why: "Nine days from a Thursday; on Monday (day 4) from 08:00 three times the usual resets, 30%\n" +
			"failing as usual: the resets are not vanished, Graph is not late, and the spike alert is silent\n" +
			"(checked in the next scenario).",
		history: at(40, 0.3, 1.4), buckets: surge(daily(41, 9, 300, steady(0.3)), 4*48+16, 4*48+24, 3), other: registrations,
		alert: "EntraAuthMethodsEventsVanished", silent: []int{minute(4, 9, 0), minute(4, 11, 0), minute(5, 9, 0)},
	}, {
		step: 10, name: "a Monday surge does not page", tenant: "r-monday2", feature: "reset",
		why:     "The same surge, seen from the spike alert.",
		history: at(40, 0.3, 1.4), buckets: surge(daily(41, 9, 300, steady(0.3)), 4*48+16, 4*48+24, 3), other: registrations,
		silent: []int{minute(4, 8, 40), minute(4, 9, 0), minute(4, 11, 0), minute(4, 12, 30)},
	}}
}

// window sums a's n buckets before poll k (the history before bucket 0),
// rounded as the exporter's gauges are.
func window(a activity, k, n int) bucket {
	var sum bucket
	for j := k - n; j < k; j++ {
		b := a.history
		if j >= 0 {
			b = a.buckets[j]
		}
		sum = bucket{sum.events + b.events, sum.failures + b.failures, sum.newFailingUsers + b.newFailingUsers}
	}
	return bucket{math.Round(sum.events), math.Round(sum.failures), math.Round(sum.newFailingUsers)}
}

// surge multiplies the events (and failures) of buckets [from, to) by f.
func surge(b []bucket, from, to int, f float64) []bucket {
	b = slices.Clone(b)
	for j := from; j < to; j++ {
		b[j] = bucket{b[j].events * f, b[j].failures * f, b[j].newFailingUsers * f}
	}
	return b
}
