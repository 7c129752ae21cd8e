// Command mixin writes the Prometheus rules and the Grafana dashboards for
// a site's parameters: the job the exporter is scraped as (or a whole label
// selector of its series, --selector), the failure-spike
// thresholds, the severities, the dashboards' UIDs and tags. With no flag
// but --out it writes the shipped files. This file only wires the packages
// rules and dashboards to flags.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/alecthomas/kingpin/v2"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/dashboards"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	p := dashboards.Defaults()
	app := kingpin.New("mixin", "Write the entra-authmethods-exporter rules and dashboards for a site's parameters.")
	out := app.Flag("out", "Directory to write entra-authmethods.rules.yml, prometheusrule.yaml and dashboards/*.json into.").Required().String()
	var jobSet bool
	app.Flag("job", "Job label the exporter is scraped as; the rules and dashboards read only its series. Short for --selector='job=\"<job>\"'.").
		Default(p.Rules.Job).IsSetByUser(&jobSet).StringVar(&p.Rules.Job)
	selector := app.Flag("selector", "Label selector of the exporter's series, instead of --job: PromQL matchers, e.g. "+
		`'job="entra-authmethods-exporter",cluster="eu1"' for a central Mimir or Thanos. Every rule and every dashboard query reads only series that match it; `+
		"the dashboards' job variable offers the jobs among them. Values are written back double-quoted, with # : { } $ [ ] as \\xNN.").String()
	spikeFlags(app, "reset", "SSPR reset", &p.Rules.ResetSpike)
	spikeFlags(app, "registration", "registration", &p.Rules.RegistrationSpike)
	spikeFlags(app, "method", "method", &p.Rules.MethodSpike.Spike)
	app.Flag("method.min-baseline-events", "... against the method's own baseline, which needs at least this many of its events in the 7 days before the last 6 hours.").
		Default(fmt.Sprint(p.Rules.MethodSpike.MinBaselineEvents)).IntVar(&p.Rules.MethodSpike.MinBaselineEvents)
	d, v, l := &p.Rules.Degradation, &p.Rules.Vanished, &p.Rules.Lag
	app.Flag("degradation.min-points", "EntraAuthMethodsFailureRatioDegraded: the day's failure ratio at least this far above the 30 days before it (0.15 = 15 points) ...").
		Default(fmt.Sprint(d.MinPoints)).Float64Var(&d.MinPoints)
	app.Flag("degradation.ceiling", "... or at least this high whatever the history ...").Default(fmt.Sprint(d.Ceiling)).Float64Var(&d.Ceiling)
	app.Flag("degradation.min-events", "... with at least this many events in the day.").Default(fmt.Sprint(d.MinEvents)).IntVar(&d.MinEvents)
	app.Flag("vanished.factor", "EntraAuthMethodsEventsVanished: the last hour holds at most 1/factor of the events the same hour usually holds ...").
		Default(fmt.Sprint(v.Factor)).Float64Var(&v.Factor)
	app.Flag("vanished.min-usual-events", "... and that hour usually holds at least this many.").Default(fmt.Sprint(v.MinUsualEvents)).IntVar(&v.MinUsualEvents)
	app.Flag("lag.max-event-age", "EntraAuthMethodsGraphEventsLate: the tenant's newest event is older than this many seconds ...").
		Default(fmt.Sprint(l.MaxEventAge)).IntVar(&l.MaxEventAge)
	app.Flag("lag.min-usual-events", "... at an hour that usually holds at least this many events.").Default(fmt.Sprint(l.MinUsualEvents)).IntVar(&l.MinUsualEvents)
	c := &p.Rules.CoverageDrop
	app.Flag("coverage-drop.min-lost-users", "EntraAuthMethodsPhishingResistantCoverageDrop and EntraAuthMethodsMFACapableCoverageDrop: at least this many covered users lost within a day, beyond the users who left (per tenant and per group) ...").
		Default(fmt.Sprint(c.MinLostUsers)).IntVar(&c.MinLostUsers)
	app.Flag("coverage-drop.min-lost-fraction", "... and at least this share of the day's highest covered users (0.05 = 5%).").
		Default(fmt.Sprint(c.MinLostFraction)).Float64Var(&c.MinLostFraction)
	app.Flag("admins-without-phishing-resistant.severity", "Severity of EntraAuthMethodsAdminsWithoutPhishingResistant: admins whose strongest method is not phishing-resistant.").
		Default(p.Rules.AdminsWithoutPhishingResistantSeverity).StringVar(&p.Rules.AdminsWithoutPhishingResistantSeverity)
	app.Flag("severity.page", "Severity of the alerts that page: nobody watching any more.").Default(p.Rules.PageSeverity).StringVar(&p.Rules.PageSeverity)
	app.Flag("severity.warn", "Severity of every other alert.").Default(p.Rules.WarnSeverity).StringVar(&p.Rules.WarnSeverity)
	app.Flag("dashboards.uid-prefix", "Start of every dashboard's UID and file name.").Default(p.UIDPrefix).StringVar(&p.UIDPrefix)
	tags := app.Flag("dashboards.tag", "A tag of every dashboard (repeatable; the dashboards link to each other by them).").Strings()
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "mixin: %v\n", err)
		return 2
	}
	if len(*tags) > 0 {
		p.Tags = *tags
	}
	if *selector != "" {
		if jobSet {
			fmt.Fprintln(os.Stderr, "mixin: --job and --selector: give one; put the job in the selector")
			return 2
		}
		ms, err := rules.ParseSelector(*selector)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mixin: --selector: %v\n", err)
			return 2
		}
		p.Rules.Selector = rules.FormatSelector(ms)
		if job := rules.JobOf(ms); job != "" {
			p.Rules.Job = job
		}
	}
	if err := write(*out, p); err != nil {
		fmt.Fprintf(os.Stderr, "mixin: %v\n", err)
		return 1
	}
	return 0
}

func spikeFlags(app *kingpin.Application, name, what string, s *rules.Spike) {
	app.Flag(name+".min-excess-failures", "The "+what+" spike alert needs at least this many failures beyond what the baseline leads one to expect.").
		Default(fmt.Sprint(s.MinExcessFailures)).IntVar(&s.MinExcessFailures)
	app.Flag(name+".min-z", "... that are at least this many standard deviations of the expected failures ...").
		Default(fmt.Sprint(s.MinZ)).Float64Var(&s.MinZ)
	app.Flag(name+".min-points", "... and a failure ratio at least this far above the expected (0.05 = 5 percentage points).").
		Default(fmt.Sprint(s.MinPoints)).Float64Var(&s.MinPoints)
	app.Flag(name+".min-failing-users", "... and at least this many distinct users with a failure.").
		Default(fmt.Sprint(s.MinFailingUsers)).IntVar(&s.MinFailingUsers)
	app.Flag(name+".severity", "Severity of the "+what+" spike alert.").Default(s.Severity).StringVar(&s.Severity)
}

// write renders everything for p into dir.
func write(dir string, p dashboards.Params) error {
	ruleFile, err := rules.RuleFile(p.Rules)
	if err != nil {
		return err
	}
	prometheusRule, err := rules.PrometheusRule(p.Rules)
	if err != nil {
		return err
	}
	boards, err := dashboards.All(p)
	if err != nil {
		return err
	}
	files := map[string][]byte{"entra-authmethods.rules.yml": ruleFile, "prometheusrule.yaml": prometheusRule}
	for name, b := range boards {
		files[filepath.Join("dashboards", name)] = b
	}
	if err := os.MkdirAll(filepath.Join(dir, "dashboards"), 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
