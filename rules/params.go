// Package rules generates the Prometheus recording and alerting rules
// shipped in deploy/prometheus and deploy/kubernetes from parameters, so a
// site can tune thresholds, severities and the job selector and get rules
// (and dashboards, which read the same parameters) that agree. The shipped
// files are what Defaults gives; a test keeps them identical.
package rules

// Params are what a site may tune.
type Params struct {
	// Job is the job label of the exporter's targets in Prometheus: the
	// exporter-down alerts watch up{job="<Job>"}, and every rule and
	// dashboard query reads only series of this job.
	Job string

	// Selector, when set, replaces job="<Job>": the label matchers of the
	// exporter's series, as PromQL writes them inside braces, e.g.
	// job="entra-authmethods-exporter", cluster="eu1" for a central Mimir or
	// Thanos that holds many clusters' series. Every rule reads only series
	// that match it, and every dashboard query carries it besides the
	// dashboards' variables. ParseSelector says what it takes; the files
	// carry it as FormatSelector writes it.
	Selector string

	// The failure-spike alerts, per feature.
	ResetSpike, RegistrationSpike Spike

	// Severity of the alerts that mean users are affected or nothing is
	// watched any more (the exporter down for long), and of all others.
	PageSeverity, WarnSeverity string

	// One method failing far above its own baseline (EntraAuthMethodsMethodFailureSpike).
	MethodSpike MethodSpike

	// The warnings the spike alerts cannot give: a slow degradation, events
	// that vanish, and Graph running late.
	Degradation Degradation
	Vanished    Vanished
	Lag         Lag

	// Covered users lost within a day, per tenant and per configured group
	// (EntraAuthMethodsPhishingResistantCoverageDrop,
	// EntraAuthMethodsMFACapableCoverageDrop).
	CoverageDrop CoverageDrop

	// Severity of EntraAuthMethodsAdminsWithoutPhishingResistant: admins
	// whose strongest method is not phishing-resistant.
	AdminsWithoutPhishingResistantSeverity string
}

// CoverageDrop is when covered users count as lost: phishing-resistant
// ones (their strongest method is phishing-resistant) or MFA-capable ones.
// Per tenant, and per configured group while its member read succeeds, the
// covered users are compared with their highest of the last day, less
// however many users the tenant or group lost meanwhile (users who leave
// take their coverage with them, which is no loss): the alerts fire when
// that net loss is at least MinLostUsers and at least MinLostFraction of
// the day's highest covered users (0.05 = 5%). The share of covered users
// then always falls too; an onboarding wave (more users, the same covered
// ones) loses nobody.
type CoverageDrop struct {
	MinLostFraction float64
	MinLostUsers    int
}

// MethodSpike is when one method's failures count as a spike: as Spike,
// against the method's own baseline (which needs MinBaselineEvents events
// in the 7 days before the last six hours), with the feature's distinct
// failing users.
type MethodSpike struct {
	Spike
	MinBaselineEvents int
}

// Degradation is when a feature's failure ratio over the last day counts
// as degraded (EntraAuthMethodsFailureRatioDegraded): at least MinPoints
// above the 30 days before it, or at least Ceiling whatever those days
// were, with at least MinEvents events in the day.
type Degradation struct {
	MinPoints, Ceiling float64
	MinEvents          int
}

// Vanished is when a feature's events count as vanished
// (EntraAuthMethodsEventsVanished): the last hour holds at most 1/Factor of
// what the same hour usually holds, and that is at least MinUsualEvents.
type Vanished struct {
	Factor         float64
	MinUsualEvents int
}

// Lag is when Graph's event report counts as late
// (EntraAuthMethodsGraphEventsLate): the tenant's newest event is more than
// MaxEventAge seconds old, and twice as old as a day or a week before, at an
// hour that usually holds at least MinUsualEvents events.
type Lag struct {
	MaxEventAge    int
	MinUsualEvents int
}

// Spike is when a feature's failures count as a spike. Over a window of
// the last hour (h1) or six hours (h6), the failures are compared with
// those expected: each method's events at the share of that method's events
// that failed in the 7 days before the window (its baseline; the feature's
// for a method without enough events then), so a shift of volume toward a
// method that always fails more is no outage. It fires when, in the last
// hour, or in the six hours while the last hour is still above the expected
// ratio by half the points, all four hold:
//   - at least MinExcessFailures more failures than expected;
//   - the excess at least MinZ standard deviations of the expected failures
//     (binomial), so a small tenant's noise does not, and a large tenant's
//     few points up, which are many users, does;
//   - a failure ratio at least MinPoints above the expected ratio (0.05 = 5
//     percentage points), so a busy tenant's ordinary hour-to-hour drift,
//     which the binomial variance does not model, does not;
//   - at least MinFailingUsers distinct users with a failure, so one user
//     retrying on a quiet tenant does not.
type Spike struct {
	MinExcessFailures int
	MinZ              float64
	MinPoints         float64
	MinFailingUsers   int
	Severity          string
}

// Defaults are the parameters of the shipped rules and dashboards.
func Defaults() Params {
	return Params{
		Job:               "entra-authmethods-exporter",
		ResetSpike:        Spike{MinExcessFailures: 20, MinZ: 3.5, MinPoints: 0.05, MinFailingUsers: 10, Severity: "critical"},
		RegistrationSpike: Spike{MinExcessFailures: 20, MinZ: 3.5, MinPoints: 0.05, MinFailingUsers: 10, Severity: "warning"},
		PageSeverity:      "critical",
		WarnSeverity:      "warning",
		MethodSpike:       MethodSpike{Spike{MinExcessFailures: 20, MinZ: 4, MinPoints: 0.25, MinFailingUsers: 10, Severity: "warning"}, 20},
		Degradation:       Degradation{MinPoints: 0.15, Ceiling: 0.9, MinEvents: 50},
		Vanished:          Vanished{Factor: 5, MinUsualEvents: 20},
		Lag:               Lag{MaxEventAge: 2 * 3600, MinUsualEvents: 20},
		CoverageDrop:      CoverageDrop{MinLostFraction: 0.05, MinLostUsers: 10},

		AdminsWithoutPhishingResistantSeverity: "warning",
	}
}
