package rules

//go:generate go test . -run TestShippedFilesAreGenerated -update
//go:generate go test ../deploy/helm/ -run TestChartFilesAreCopies -update

import (
	"bytes"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

//go:embed rules.yml.tmpl
var ruleFileTemplate string

// The template's own delimiters are [[ ]], since Prometheus' annotations
// use {{ }}.
var ruleFile = template.Must(template.New("rules").Delims("[[", "]]").Funcs(template.FuncMap{
	"lower":  strings.ToLower,
	"points": func(f float64) string { return strconv.FormatFloat(f*100, 'g', -1, 64) },
	"half":   func(f float64) string { return strconv.FormatFloat(f/2, 'g', -1, 64) },
}).Parse(ruleFileTemplate))

// spikeAlert is a Spike with what its alert says about its feature.
type spikeAlert struct {
	Spike
	Alert, Feature, Summary, Events, Impact string
}

// coverageAlert is a coverage-drop alert: its coverage label value and what
// its annotations say the covered users have.
type coverageAlert struct {
	Alert, Coverage, Covered, Summary, Impact string
}

// RuleFile returns the Prometheus rule file for p.
func RuleFile(p Params) ([]byte, error) { return render(p, "h1|h6") }

// coverageAlerts are the coverage-drop alerts, one per coverage label value.
var coverageAlerts = []coverageAlert{
	{Alert: "EntraAuthMethodsPhishingResistantCoverageDrop", Coverage: "phishing_resistant",
		Covered: "a phishing-resistant method as their strongest", Summary: "Users lost their phishing-resistant methods",
		Impact: "They sign in with methods a relayed sign-in page can phish, and Conditional Access that requires phishing-resistant strength blocks them."},
	{Alert: "EntraAuthMethodsMFACapableCoverageDrop", Coverage: "mfa_capable",
		Covered: "a usable second factor (MFA-capable)", Summary: "Users lost their last usable second factor",
		Impact: "They cannot complete multifactor authentication, and are protected by a password alone where it is not required."},
}

// render writes the rule file with the spike alerts watching the windows
// that the regular expression windows matches (tests weaken it). It refuses
// parameters that would make rules that never or always fire.
func render(p Params, windows string) ([]byte, error) {
	// The template writes the reset and registration spikes' alerts alike;
	// the method spike's alert, per method, is written out in it.
	spikes := []spikeAlert{
		{Spike: p.ResetSpike, Alert: "EntraAuthMethodsSSPRResetFailureSpike", Feature: "reset",
			Summary: "Self-service password resets are failing far more often than usual",
			Events:  "self-service password resets", Impact: " Users may be locked out of their accounts."},
		{Spike: p.RegistrationSpike, Alert: "EntraAuthMethodsRegistrationFailureSpike", Feature: "registration",
			Summary: "Authentication method registrations are failing far more often than usual",
			Events:  "authentication method registrations"},
	}
	if err := check(p, spikes); err != nil {
		return nil, err
	}
	matchers, err := p.Matchers()
	if err != nil {
		return nil, err
	}
	// Sel is in every selector of the exporter's series; Targets names them
	// in comments and annotations.
	sel, targets := FormatSelector(matchers), "job "+p.Job
	if p.Selector != "" {
		targets = "selector {" + sel + "}"
	}
	data := struct {
		Params
		Sel, Targets, Windows string
		Spikes                []spikeAlert
		Coverages             []coverageAlert
	}{Params: p, Sel: sel, Targets: targets, Windows: windows, Spikes: spikes, Coverages: coverageAlerts}
	var b bytes.Buffer
	if err := ruleFile.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// check returns the first problem found, in the order of the rule file.
func check(p Params, spikes []spikeAlert) error {
	switch {
	case p.Selector == "" && (p.Job == "" || strings.ContainsAny(p.Job, `"\`+"\n")):
		return fmt.Errorf("job %q: must be a plain, non-empty label value", p.Job)
	case p.PageSeverity == "" || p.WarnSeverity == "":
		return fmt.Errorf("severities must not be empty")
	case p.MethodSpike.MinBaselineEvents < 1:
		return fmt.Errorf("method spike: %+v: at least 1 baseline event", p.MethodSpike)
	}
	for _, s := range append(spikes, spikeAlert{Spike: p.MethodSpike.Spike, Feature: "method"}) {
		if s.MinExcessFailures < 1 || s.MinFailingUsers < 1 || s.MinZ < 0 || s.MinPoints < 0 || s.MinPoints >= 1 || s.Severity == "" {
			return fmt.Errorf("%s spike: %+v: the minimums must be at least 1 (deviations at least 0, points between 0 and 1) and the severity set", s.Feature, s.Spike)
		}
	}
	switch d, v, l, c := p.Degradation, p.Vanished, p.Lag, p.CoverageDrop; {
	case !(d.MinPoints > 0 && d.MinPoints < 1) || !(d.Ceiling > 0 && d.Ceiling <= 1) || d.MinEvents < 1:
		return fmt.Errorf("degradation: %+v: points between 0 and 1, a ceiling above 0 and at most 1, and at least 1 event", d)
	case !(v.Factor > 1) || v.MinUsualEvents < 1:
		return fmt.Errorf("vanished: %+v: the factor must be above 1 and the usual events at least 1", v)
	case l.MaxEventAge < 1 || l.MinUsualEvents < 1:
		return fmt.Errorf("lag: %+v: the age and the usual events must be at least 1", l)
	case !(c.MinLostFraction > 0 && c.MinLostFraction < 1) || c.MinLostUsers < 1:
		return fmt.Errorf("coverage drop: %+v: a fraction between 0 and 1, and at least 1 user", c)
	case p.AdminsWithoutPhishingResistantSeverity == "":
		return fmt.Errorf("admins without phishing-resistant methods: the severity must not be empty")
	}
	return nil
}

// PrometheusRule returns the Prometheus Operator's PrometheusRule with the
// rule file's groups.
func PrometheusRule(p Params) ([]byte, error) {
	file, err := RuleFile(p)
	if err != nil {
		return nil, err
	}
	_, groups, _ := bytes.Cut(file, []byte("\ngroups:\n")) // the template's header ends there
	var b bytes.Buffer
	b.WriteString(`# The alerting and recording rules for the Prometheus Operator: the groups of
# deploy/prometheus/entra-authmethods.rules.yml, generated with them by
# package rules (go generate ./rules/). Do not edit it; regenerate.
# Its Prometheus must select it: check the ruleSelector and
# ruleNamespaceSelector (kube-prometheus-stack, by default: the label
# release: <helm release name>).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: entra-authmethods-exporter
  labels:
    app.kubernetes.io/name: entra-authmethods-exporter
    # release: kube-prometheus-stack
spec:
  groups:
`)
	for line := range strings.Lines(string(groups)) {
		if strings.TrimSpace(line) != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return b.Bytes(), nil
}
