package rules

import (
	"fmt"
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

// scenario is one tenant and feature over time.
type scenario struct {
	name, tenant, feature string
	history               bucket   // each 30 minutes of the 7 days before the test
	buckets               []bucket // from the test's start on
	lag                   int      // buckets before an event reaches Graph
	missing               []int    // minutes at which no series is scraped (a restart)
	duplicated            bool     // two targets expose the tenant
	firing, silent        []int    // minutes at which the alert must fire, or not
	exprs                 []valueCheck
	why                   string // what the scenario shows, for the file's comments
}

// valueCheck is a query's value at a minute.
type valueCheck struct {
	expr   string
	minute int
	value  float64
}

const (
	bucketMinutes = 30
	job           = `job="entra-authmethods-exporter"`
)

// windows are the exporter's windows the rules read, in buckets.
var windows = []struct {
	period  string
	buckets int
}{{"h1", 2}, {"h6", 12}, {"d1", 48}, {"d7", 336}}

// polls returns, for each poll k (at minute 30k), the window sums the
// exporter would expose: per window, events, failures and failing users.
func (s scenario) polls() [][]bucket {
	n := len(s.buckets)
	out := make([][]bucket, n+1)
	for k := 0; k <= n; k++ {
		for _, w := range windows {
			var sum bucket
			for j := k - w.buckets; j < k; j++ {
				if j >= k-s.lag { // happened, not yet in Graph
					continue
				}
				b := s.history
				if j >= 0 {
					b = s.buckets[j]
				}
				sum.events += b.events
				sum.failures += b.failures
				sum.newFailingUsers += b.newFailingUsers
			}
			out[k] = append(out[k], sum)
		}
	}
	return out
}

// values is a promtool values string: one sample a minute from minute 0 to
// the scenario's end, value(k) from poll k on, and a staleness marker where
// a scrape is missing (as Prometheus writes when a scrape fails).
func (s scenario) values(value func(k int) float64) string {
	var samples []string
	for m := 0; m <= len(s.buckets)*bucketMinutes; m++ {
		v := "stale"
		if !containsInt(s.missing, m) {
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

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// testYAML writes the scenario as a promtool test.
func (s scenario) testYAML(b *strings.Builder, alert string, p Params, severity string) {
	fmt.Fprintf(b, "  # %s\n", s.name)
	for _, line := range strings.Split(s.why, "\n") {
		fmt.Fprintf(b, "  #   %s\n", line)
	}
	fmt.Fprintf(b, "  - name: %q\n    interval: 1m\n    input_series:\n", s.name)
	polls := s.polls()
	instances := []string{`instance="exporter:9871"`}
	if s.duplicated {
		instances = append(instances, `instance="exporter-copy:9871"`)
	}
	for _, inst := range instances {
		for wi, w := range windows {
			labels := fmt.Sprintf(`%s, %s, tenant="%s", feature="%s", period="%s"`, job, inst, s.tenant, s.feature, w.period)
			for _, g := range []struct {
				metric string
				method bool
				value  func(bucket) float64
			}{
				{"entra_authmethods_period_events", true, func(b bucket) float64 { return b.events }},
				{"entra_authmethods_period_event_failures", true, func(b bucket) float64 { return b.failures }},
				{"entra_authmethods_period_failed_users", false, func(b bucket) float64 { return b.newFailingUsers }},
			} {
				l := labels
				if g.method {
					l += `, method="email"`
				}
				fmt.Fprintf(b, "      - series: '%s{%s}'\n        values: '%s'\n", g.metric, l,
					s.values(func(k int) float64 { return g.value(polls[k][wi]) }))
			}
		}
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
		fmt.Fprintf(b, "      - expr: '%s'\n        eval_time: %dm\n        exp_samples:\n          - labels: '%s'\n            value: %s\n",
			v.expr, v.minute, strings.SplitN(v.expr, "{", 2)[0]+`{tenant="`+s.tenant+`", feature="`+s.feature+`", period="h6"}`,
			strconv.FormatFloat(v.value, 'g', -1, 64))
	}
	for _, c := range checks {
		fmt.Fprintf(b, "      - expr: ALERTS{alertname=%q, alertstate=\"firing\", tenant=%q}\n        eval_time: %dm\n", alert, s.tenant, c.minute)
		if !c.fires {
			fmt.Fprintf(b, "        exp_samples: []\n")
			continue
		}
		fmt.Fprintf(b, "        exp_samples:\n          - labels: 'ALERTS{alertname=%q, alertstate=\"firing\", tenant=%q, feature=%q, severity=%q}'\n            value: 1\n",
			alert, s.tenant, s.feature, severity)
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
	}}
}

// spikeTests returns the promtool test file of the spike scenarios.
func spikeTests(p Params) string {
	var b strings.Builder
	b.WriteString(`# Unit tests of the failure-spike alerts of entra-authmethods.rules.yml, on
# scenarios: a tenant's activity, turned into the window gauges the exporter
# would expose, stepping every 30 minutes (one poll). Generated by package
# rules (go generate ./rules/) from rules/spikes_test.go; run with
#   promtool test rules deploy/prometheus/entra-authmethods.spikes.test.yml
# Each case checks, at the minutes given, that the alert fires or is silent.
rule_files:
  - entra-authmethods.rules.yml

evaluation_interval: 1m

group_eval_order:
  - entra-authmethods.rules
  - entra-authmethods.alerts
  - entra-authmethods-exporter.alerts

tests:
`)
	for _, s := range spikeScenarios() {
		alert, severity := "EntraAuthMethodsSSPRResetFailureSpike", p.ResetSpike.Severity
		if s.feature == "registration" {
			alert, severity = "EntraAuthMethodsRegistrationFailureSpike", p.RegistrationSpike.Severity
		}
		s.testYAML(&b, alert, p, severity)
	}
	return b.String()
}
