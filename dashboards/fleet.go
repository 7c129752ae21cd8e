package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

// worst is how many tenants the fleet's rankings show: enough to act on,
// few enough to read with hundreds of tenants.
const worst = 10

func fleet(p Params) *board {
	d := newDashboard(p, "fleet", "Entra ID authentication methods / Fleet",
		"Many tenants at a glance: how many have failing reports, stale data or unprotected admins, and the ten worst by MFA coverage, admins' phishing-resistant coverage, failure ratio and data age.",
		"now-24h", "15m")

	staleIntervals := fmt.Sprintf("max by (tenant) (%s)", dataAgeIntervals)
	failingReports := sumBy("tenant", "1 - "+one(reportUp))
	adminsWithout := sumBy("tenant", tenantWide.without(mfaCapable, "tenant, user_type", `admin="true"`))

	d.WithRow(dashboard.NewRowBuilder("Fleet"))
	d.WithPanel(statPanel("Tenants",
		"Tenants the exporter's targets expose.",
		units.Short, neutral(), instant(fmt.Sprintf("count(%s)", one(tenantInfo)), "tenants")))
	// Each counts the tenants for which expr (one series per tenant) returns
	// a series; 0 while none does, but nothing at all (no data) while the
	// exporter exposes no tenant, so a stopped exporter never shows 0.
	for _, c := range []struct{ title, description, expr string }{
		{"Tenants with failing reports", "Tenants with at least one report whose last poll failed.", failingReports + " > 0"},
		{"Tenants with stale data", "Tenants with a report whose data is older than 1.5 of its poll intervals: polls are late or fail.", staleIntervals + " > 1.5"},
		{"Tenants with admins not MFA-capable", "Tenants with at least one admin (member or guest) who is not MFA-capable.", adminsWithout + " > 0"},
	} {
		count := fmt.Sprintf("count(%s) or on () (0 * count(%s))", c.expr, one(tenantInfo))
		d.WithPanel(statPanel(c.title, c.description, units.Short, zeroIsGood(), instant(count, "tenants")))
	}
	for _, u := range []struct{ users, others string }{{"member", "guests"}, {"guest", "members"}} {
		d.WithPanel(ratioStat("MFA-capable "+u.users+"s, all tenants",
			"Share of all "+u.users+" users of the selected tenants who are MFA-capable ("+u.others+" apart).",
			coverage(), instant(tenantWide.share(mfaCapable, "", `user_type="`+u.users+`"`), u.users+"s")))
	}

	d.WithRow(dashboard.NewRowBuilder(fmt.Sprintf("The %d worst tenants", worst)))
	d.WithPanel(barGaugePanel("Lowest MFA-capable coverage of members",
		fmt.Sprintf("The %d tenants with the smallest share of member users who are MFA-capable.", worst),
		units.PercentUnit,
		instant(fmt.Sprintf("sort(bottomk(%d, %s))", worst, tenantWide.share(mfaCapable, "tenant", `user_type="member"`)), "{{tenant}}")).
		Max(1).Thresholds(coverage()).Span(6))
	d.WithPanel(barGaugePanel("Lowest phishing-resistant coverage of admins",
		fmt.Sprintf("The %d tenants with the smallest share of admins (members and guests with an admin role) who have a phishing-resistant method registered; every admin should. Tenants without admins are left out.", worst),
		units.PercentUnit,
		instant(fmt.Sprintf("sort(bottomk(%d, %s))", worst, tenantWide.strengthShare(phishingResistant, "tenant", `admin="true"`)), "{{tenant}}")).
		Max(1).Thresholds(adminsPhishingResistant()).Span(6))
	d.WithPanel(barGaugePanel("Most admins not MFA-capable",
		fmt.Sprintf("The %d tenants with the most admins who are not MFA-capable; tenants with none are left out.", worst),
		units.Short, instant(fmt.Sprintf("sort_desc(topk(%d, %s > 0))", worst, adminsWithout), "{{tenant}}")).
		Thresholds(zeroIsGood()).Span(6))
	d.WithPanel(barGaugePanel("Oldest data, in poll intervals",
		fmt.Sprintf("The %d tenants with the oldest data, in each report's poll intervals: about 1 just before a poll, 1.5 and more when polls are late or fail.", worst),
		timesPollInterval, instant(fmt.Sprintf("sort_desc(topk(%d, %s))", worst, staleIntervals), "{{tenant}}")).
		Thresholds(staleness()).Decimals(1).Span(6))
	for _, a := range []eventFeature{reset, registration} {
		f, byFeature := a.matcher(), "tenant, feature"
		// Ranked by failures beyond those expected (each method at its own
		// 7-day baseline, as the spike alerts count them), not by the raw
		// ratio, which tenants that always fail often would fill.
		x := newSpike(a, rules.Spike{}, p.Rules.MethodSpike.MinBaselineEvents, h6.matcher())
		top := fmt.Sprintf("topk(%d, %s > 0)", worst, sumBy(byFeature, "clamp_min("+x.excess+", 0)"))
		among := func(expr string) string { return fmt.Sprintf("%s and on (%s) %s", expr, byFeature, top) }
		last6h := func(metric string) string { return among(sumBy(byFeature, one(metric, f, h6.matcher()))) }
		d.WithPanel(tablePanel(fmt.Sprintf("Most %s failures beyond the usual, last 6 hours", strings.ToLower(a.noun)),
			fmt.Sprintf("The %d tenants with the most failed %s beyond those expected (each method at its own failure ratio of the 7 days before), in the 6 hours before the last poll, as the spike alerts count them: the tenant in an outage tops it whatever its usual level. With the ratio, the feature's baseline and the volume behind them; tenants without excess failures are left out.", worst, a.events),
			units.Short,
			column{name: "Excess failures", expr: top},
			column{name: "Failure ratio", unit: units.PercentUnit, expr: among(windowRatio(byFeature, f, h6.matcher())), th: failureRatio()},
			column{name: "Baseline", unit: units.PercentUnit, expr: among(x.baselineOrZero)},
			column{name: "Events", expr: last6h(periodEvents)},
			column{name: "Failures", expr: last6h(periodEventFailures)},
			column{name: "Failing users", expr: last6h(periodFailedUsers)}).
			NoValue("no excess failures"))
	}
	d.WithPanel(tablePanel("Failing reports by tenant",
		fmt.Sprintf("The %d tenants with the most reports whose last poll failed; no rows while every poll succeeds.", worst),
		units.Short,
		column{name: "Reports failing", expr: fmt.Sprintf("topk(%d, %s > 0)", worst, failingReports), th: zeroIsGood()}).
		NoValue("None: every report's last poll succeeded").Span(24).Height(5))
	return d
}
