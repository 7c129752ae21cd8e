package dashboards

import (
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// Metrics of user_registration_details and credential_registration_*.
var (
	users             = metric("entra_authmethods_users", "user_type", "admin")
	usersByFeature    = metric("entra_authmethods_users_registered_by_feature", "user_type", "admin", "feature")
	usersByMethod     = metric("entra_authmethods_users_registered_by_method", "user_type", "admin", "method")
	usersByPreference = metric("entra_authmethods_users_by_preferred_method", "user_type", "admin", "method")

	credentialUsers              = metric("entra_authmethods_credential_users")
	credentialRegistrationUsers  = metric("entra_authmethods_credential_registration_users", "status")
	credentialDetailsUsers       = metric("entra_authmethods_credential_details_users")
	credentialDetailsStatusUsers = metric("entra_authmethods_credential_details_status_users", "status")
	credentialDetailsMethodUsers = metric("entra_authmethods_credential_details_method_users", "method")
)

// feature is a flag of userRegistrationDetails, as the feature label spells it.
type feature struct {
	name  string // label value
	title string // in panel titles and legends
	about string // what the flag means, for descriptions
}

var (
	mfaCapable          = feature{"mfaCapable", "MFA-capable", "have a strong method registered and allowed by policy (isMfaCapable)"}
	mfaRegistered       = feature{"mfaRegistered", "MFA-registered", "have registered a method usable for MFA (isMfaRegistered)"}
	ssprRegistered      = feature{"ssprRegistered", "SSPR-registered", "have registered methods for self-service password reset (isSsprRegistered)"}
	ssprEnabled         = feature{"ssprEnabled", "SSPR-enabled", "are allowed self-service password reset by policy (isSsprEnabled)"}
	ssprCapable         = feature{"ssprCapable", "SSPR-capable", "are enabled and registered for self-service password reset (isSsprCapable)"}
	passwordlessCapable = feature{"passwordlessCapable", "Passwordless-capable", "have a passwordless method registered and allowed by policy (isPasswordlessCapable)"}
	systemPreferred     = feature{"systemPreferredAuthenticationMethodEnabled", "System-preferred MFA", "have system-preferred MFA enabled (isSystemPreferredAuthenticationMethodEnabled)"}
)

// Metrics of the configured groups (groups: of a tenant), and the users by
// authentication strength, tenant-wide and per group.
var (
	usersByStrength = metric("entra_authmethods_users_by_strength", "user_type", "admin", "strength")

	groupUp              = metric("entra_authmethods_group_up", "group")
	groupMembers         = metric("entra_authmethods_group_members", "group")
	groupUsers           = metric("entra_authmethods_group_users", "group", "user_type", "admin")
	groupUsersByFeature  = metric("entra_authmethods_group_users_registered_by_feature", "group", "user_type", "admin", "feature")
	groupUsersByStrength = metric("entra_authmethods_group_users_by_strength", "group", "user_type", "admin", "strength")
)

// perGroup maps the tenant-wide metrics that have a per-group counterpart
// (the same counts, members of one group only) to it.
var perGroup = map[string]string{
	users:           groupUsers,
	usersByFeature:  groupUsersByFeature,
	usersByStrength: groupUsersByStrength,
}

// scope is whose users a query counts.
type scope struct {
	// of is a metric's series merged over targets, as one would.
	of func(metric string, matchers ...string) string
	// label is kept by every sum besides the query's own labels ("" for none).
	label string
}

// tenantWide counts every user of the tenant (the fleet dashboard).
var tenantWide = scope{of: one}

// chosenGroup counts the users the group variable chooses (the adoption
// dashboard). Sums keep the group label, so a result says which group it is about.
var chosenGroup = scope{of: inChosenGroup, label: "group"}

// inChosenGroup is a metric's tenant-wide series or its per-group
// counterpart's: both selectors carry the group matcher, and All ($group is
// ^$) matches only the tenant-wide series, which have no group label, so one
// side of the or is always empty.
func inChosenGroup(metric string, matchers ...string) string {
	group, ok := perGroup[metric]
	if !ok {
		panic("dashboards: " + metric + " has no per-group counterpart")
	}
	m := append(slices.Clone(matchers), groupMatcher)
	return fmt.Sprintf("(%s or %s)", one(metric, m...), one(group, m...))
}

// sum is a metric's series in the scope, summed by the given labels and the scope's.
func (s scope) sum(by, metric string, matchers ...string) string {
	if by != "" && s.label != "" {
		by += ", "
	}
	return sumBy(by+s.label, s.of(metric, matchers...))
}

// withAndAll are the users with the feature and all users, by the given labels.
func (s scope) withAndAll(f feature, by string, matchers ...string) (with, all string) {
	return s.sum(by, usersByFeature, append([]string{`feature="` + f.name + `"`}, matchers...)...),
		s.sum(by, users, matchers...)
}

// share is the fraction of users with the feature, by the given labels
// (which include user_type wherever it is a headline: members and guests
// differ too much to be averaged).
func (s scope) share(f feature, by string, matchers ...string) string {
	return ratio(s.withAndAll(f, by, matchers...))
}

// without is the number of users without the feature, by the given labels:
// each group of users less those of them that have it.
func (s scope) without(f feature, by string, matchers ...string) string {
	with, all := s.withAndAll(f, by, matchers...)
	return all + " - " + with
}

// strength is a class of users_by_strength: the strongest among a user's
// registered methods.
type strength struct {
	name  string // label value
	title string // in legends and column headers
	color string // in stacked panels
}

var (
	phishingResistant = strength{"phishing_resistant", "Phishing-resistant", "dark-green"}
	// strengths are the classes, strongest first.
	strengths = []strength{
		phishingResistant,
		{"passwordless", "Passwordless", "green"},
		{"app", "Authenticator app or OTP", "yellow"},
		{"phone", "Phone", "orange"},
		{"none", "None", "red"},
	}
)

func (c strength) matcher() string { return `strength="` + c.name + `"` }

// strengthShare is the fraction of users in the class, by the given labels:
// of all users of users_by_strength (every user once, in one class).
func (s scope) strengthShare(c strength, by string, matchers ...string) string {
	return ratio(s.sum(by, usersByStrength, append([]string{c.matcher()}, matchers...)...),
		s.sum(by, usersByStrength, matchers...))
}

// slowAdoption is for shares of users that grow slowly (phishing-resistant,
// passwordless); adminsPhishingResistant for admins' share, which should be all.
func slowAdoption() *dashboard.ThresholdsConfigBuilder {
	return thresholds("red", step{0.2, "orange"}, step{0.5, "green"})
}

func adminsPhishingResistant() *dashboard.ThresholdsConfigBuilder {
	return thresholds("red", step{0.8, "orange"}, step{1, "green"})
}

func adoption(p Params) *board {
	d := newDashboard(p, "adoption", "Entra ID authentication methods / Adoption",
		"How many users are registered and capable for MFA, self-service password reset and passwordless sign-in, how strong their methods are, and with which methods; members and guests apart; for the whole tenant or one configured group.",
		"now-7d", "15m")
	d.WithVariable(queryVariable(userTypeVariable, "User type",
		"userType of userRegistrationDetails: member or guest. Shares are per user type, never members and guests together.",
		`label_values(entra_authmethods_users{job=~"$job", instance=~"$instance", tenant=~"$tenant"}, user_type)`, ".*"))
	d.WithVariable(queryVariable(groupVariable, "Group",
		"All: every user of the tenant. A group (groups: in the tenant's configuration): only its members, in every panel but those on methods and the legacy reports, which stay tenant-wide. All is not the groups added up.",
		`label_values(entra_authmethods_group_up{job=~"$job", instance=~"$instance", tenant=~"$tenant"}, group)`, groupAllValue).
		Multi(false).
		AllowCustomValue(false).
		// As Grafana saves a single-select variable: text and value, not lists.
		Current(dashboard.VariableOption{
			Selected: cog.ToPtr(true),
			Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr("All")},
			Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")},
		}))
	ut := userTypeMatcher
	g := chosenGroup
	headline := []feature{mfaCapable, mfaRegistered, ssprCapable, passwordlessCapable}
	notCapable := g.without(mfaCapable, "tenant, user_type", ut)
	adminsNotCapable := g.without(mfaCapable, "tenant, user_type", `admin="true"`, ut)

	d.WithRow(dashboard.NewRowBuilder("Coverage, per user type"))
	d.WithPanel(statPanel("Users",
		"Users listed by userRegistrationDetails, per tenant and user type.",
		units.Short, neutral(), instant(g.sum("tenant, user_type", users, ut), "{{tenant}} {{user_type}}s")))
	var overTime []*query
	for _, f := range headline {
		th := coverage()
		if f == passwordlessCapable {
			th = slowAdoption()
		}
		share := g.share(f, "tenant, user_type", ut)
		d.WithPanel(ratioStat(f.title+" users", "Share of users who "+f.about+", per tenant and user type.",
			th, instant(share, "{{tenant}} {{user_type}}s")).Span(5))
		overTime = append(overTime, series(share, "{{tenant}} {{user_type}}s "+f.title))
	}
	d.WithPanel(statPanel("Users not MFA-capable",
		"Users without an MFA-capable method, per tenant and user type: the accounts a password alone protects.",
		units.Short, thresholds("green", step{1, "orange"}), instant(notCapable, "{{tenant}} {{user_type}}s")).Span(12).Height(4))
	d.WithPanel(statPanel("Admins not MFA-capable",
		"Admins (users with an admin role) who are not MFA-capable, per tenant and user type; anything but 0 needs attention.",
		units.Short, zeroIsGood(), instant(adminsNotCapable, "{{tenant}} {{user_type}} admins")).Span(12).Height(4))

	coverageColumns := []column{{name: "Users", unit: units.Short,
		expr: g.sum("tenant, user_type, admin", users, ut)}}
	all := []feature{mfaCapable, mfaRegistered, ssprRegistered, ssprEnabled, ssprCapable, passwordlessCapable, systemPreferred}
	for _, f := range all {
		coverageColumns = append(coverageColumns, column{name: f.title, expr: g.share(f, "tenant, user_type, admin", ut), th: coverage()})
	}
	d.WithPanel(tablePanel("Coverage by user type and role",
		"Share of users with each flag of userRegistrationDetails, for members and guests, admins and others.",
		units.PercentUnit, coverageColumns...).Span(24).Height(6))

	d.WithPanel(timeseriesPanel("Coverage over time",
		"Share of users who are MFA-capable, MFA-registered, SSPR-capable and passwordless-capable, per user type.",
		units.PercentUnit, overTime...).Max(1))
	d.WithPanel(timeseriesPanel("Members, guests and admins",
		"Users by userType (member or guest), and how many of them hold an admin role.",
		units.Short,
		series(g.sum("tenant, user_type", users, ut), "{{tenant}} {{user_type}}s"),
		series(g.sum("tenant, user_type", users, `admin="true"`, ut), "{{tenant}} {{user_type}} admins")))

	strengthRow(d)
	groupsRow(d)

	d.WithRow(dashboard.NewRowBuilder("Methods"))
	for _, m := range []struct{ metric, title, now, overTime string }{
		{usersByMethod, "Users by registered method",
			"Users who have registered each authentication method (methodsRegistered); a user counts once per method.",
			"Users who have registered each authentication method, over time: the progress of a rollout."},
		{usersByPreference, "Preferred second-factor method",
			"Users by the method they chose as preferred for the second factor; none when they chose none.",
			"Users by preferred second-factor method, over time: whether users move away from SMS and voice."},
	} {
		const tenantOnly = " Tenant-wide: the group variable does not apply, the exporter counts methods for the whole tenant only."
		byMethod := sumBy("tenant, method", one(m.metric, ut))
		d.WithPanel(barGaugePanel(m.title, m.now+tenantOnly, units.Short, bars(byMethod, "{{method}} ({{tenant}})")))
		d.WithPanel(tableLegend(timeseriesPanel(m.title+" over time", m.overTime+tenantOnly, units.Short,
			series(byMethod, "{{method}} ({{tenant}})"))))
	}

	d.WithRow(dashboard.NewRowBuilder("Users without MFA"))
	d.WithPanel(tablePanel("Admins who are not MFA-capable",
		"Admins without an MFA-capable method, by tenant and user type; no rows when every admin is MFA-capable.",
		units.Short,
		column{name: "Admins not MFA-capable", expr: adminsNotCapable + " > 0", th: zeroIsGood()}).
		NoValue("None: every admin is MFA-capable"))
	d.WithPanel(timeseriesPanel("Users and admins not MFA-capable over time",
		"Users and admins without an MFA-capable method, per user type; the admins' line should stay at 0.",
		units.Short,
		series(notCapable, "{{tenant}} {{user_type}}s"),
		series(adminsNotCapable, "{{tenant}} {{user_type}} admins")))

	statusUsers := sumBy("tenant, status", one(credentialRegistrationUsers))
	allUsers := sumBy("tenant", one(credentialUsers))
	legacy := dashboard.NewRowBuilder("Legacy credential reports (getCredentialUserRegistrationCount, credentialUserRegistrationDetails)")
	const tenantOnly = " Tenant-wide: the group variable does not apply."
	legacy.WithPanel(timeseriesPanel("Registration status (getCredentialUserRegistrationCount)",
		"Users per registration status from the beta registration-count report, and all users it counts (members and guests)."+tenantOnly,
		units.Short,
		series(statusUsers, "{{tenant}} {{status}}"),
		series(allUsers, "{{tenant}} all users")))
	legacy.WithPanel(barGaugePanel("Registration status share (getCredentialUserRegistrationCount)",
		"Share of all users (members and guests) per registration status in the beta registration-count report."+tenantOnly,
		units.PercentUnit,
		instant(fmt.Sprintf("sort_desc(%s / on (tenant) group_left () (%s > 0))", statusUsers, allUsers), "{{status}} ({{tenant}})")).
		Max(1).Thresholds(coverage()))
	legacy.WithPanel(timeseriesPanel("Registration details by status (credentialUserRegistrationDetails, stopped 2024-06-30)",
		"Users per status from the deprecated registration-details report, and the users it listed."+tenantOnly,
		units.Short,
		series(sumBy("tenant, status", one(credentialDetailsStatusUsers)), "{{tenant}} {{status}}"),
		series(sumBy("tenant", one(credentialDetailsUsers)), "{{tenant}} all users")))
	legacy.WithPanel(barGaugePanel("Registration details by method (credentialUserRegistrationDetails, stopped 2024-06-30)",
		"Users per registered method from the deprecated registration-details report."+tenantOnly,
		units.Short, bars(sumBy("tenant, method", one(credentialDetailsMethodUsers)), "{{method}} ({{tenant}})")))
	d.WithRow(legacy)
	return d
}

// strengthRow shows users by the strongest class of their registered
// methods (users_by_strength, every user once), for the group variable's
// choice: shares and counts, members and guests apart, admins apart.
func strengthRow(d *board) {
	ut, g := userTypeMatcher, chosenGroup
	admin := `admin="true"`
	d.WithRow(dashboard.NewRowBuilder("Authentication strength"))
	d.WithPanel(ratioStat("Phishing-resistant users",
		"Share of users whose strongest registered method is phishing-resistant (FIDO2 security key, passkey, Windows Hello for Business, platform credential), per tenant and user type.",
		slowAdoption(), instant(g.strengthShare(phishingResistant, "tenant, user_type", ut), "{{tenant}} {{user_type}}s")).Span(8))
	d.WithPanel(ratioStat("Admins with phishing-resistant",
		"Share of admins (users with an admin role) who have a phishing-resistant method registered, per tenant and user type; every admin should.",
		adminsPhishingResistant(), instant(g.strengthShare(phishingResistant, "tenant, user_type", admin, ut), "{{tenant}} {{user_type}} admins")).Span(8))
	d.WithPanel(statPanel("Admins without phishing-resistant",
		"Admins without a phishing-resistant method registered, per tenant and user type; anything but 0 needs attention.",
		units.Short, zeroIsGood(),
		instant(g.sum("tenant, user_type", usersByStrength, `strength!="`+phishingResistant.name+`"`, admin, ut), "{{tenant}} {{user_type}} admins")).Span(8))

	columns := []column{{name: "Users", unit: units.Short, expr: g.sum("tenant, user_type, admin", usersByStrength, ut)}}
	for _, c := range strengths {
		columns = append(columns, column{name: c.title, expr: g.strengthShare(c, "tenant, user_type, admin", ut)})
	}
	columns[1].th = slowAdoption() // phishing-resistant, the strongest
	d.WithPanel(tablePanel("Authentication strength by user type and role",
		"Share of users in each class, by the strongest method they have registered (each user once), for members and guests, admins and others.",
		units.PercentUnit, columns...).Span(24).Height(6))

	// Stacked, so one panel per user type and tenant: each stack adds up to 100%.
	for _, u := range []struct{ userType, title string }{{"member", "Members"}, {"guest", "Guests"}} {
		var queries []*query
		for _, c := range strengths {
			queries = append(queries, series(g.strengthShare(c, "tenant, user_type", `user_type="`+u.userType+`"`, ut), c.title))
		}
		p := timeseriesPanel(u.title+" by authentication strength, $tenant",
			"Share of "+strings.ToLower(u.title)+" in each class, by the strongest method they have registered, stacked to 100%: phishing-resistant at the bottom, none at the top. One panel per selected tenant.",
			units.PercentUnit, queries...).
			Max(1).
			FillOpacity(70).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderNone)).
			Repeat(tenantVariable).
			RepeatDirection(dashboard.PanelRepeatDirectionV)
		for i, c := range strengths {
			p.OverrideByQuery(refID(i), []dashboard.DynamicConfigValue{{Id: "color", Value: map[string]string{"mode": "fixed", "fixedColor": c.color}}})
		}
		d.WithPanel(p)
	}

	d.WithPanel(tableLegend(timeseriesPanel("Users by authentication strength",
		"Users in each class, by the strongest method they have registered, per tenant and user type: how many move up a class.",
		units.Short,
		series(g.sum("tenant, user_type, strength", usersByStrength, ut), "{{tenant}} {{user_type}}s {{strength}}"))))
	d.WithPanel(tableLegend(timeseriesPanel("Admins by authentication strength",
		"Admins in each class, by the strongest method they have registered, per tenant and user type: all of them belong in phishing_resistant.",
		units.Short,
		series(g.sum("tenant, user_type, strength", usersByStrength, admin, ut), "{{tenant}} {{user_type}} admins {{strength}}"))))
}

// groupsRow compares the configured groups (groups: of each tenant), all of
// them whatever the group variable: the members Graph lists and those found
// in userRegistrationDetails, their coverage and its trend.
func groupsRow(d *board) {
	ut := userTypeMatcher
	const tg = "tenant, group"
	const everyGroup = " Every configured group, whatever the group variable; members and guests together (the user type variable narrows them)."
	mfa := ratio(sumBy(tg, one(groupUsersByFeature, `feature="`+mfaCapable.name+`"`, ut)), sumBy(tg, one(groupUsers, ut)))
	// The phishing-resistant share now (one) or 30 days before (monthAgo).
	pr := func(of func(string, ...string) string) string {
		return ratio(sumBy(tg, of(groupUsersByStrength, phishingResistant.matcher(), ut)), sumBy(tg, of(groupUsersByStrength, ut)))
	}

	d.WithRow(dashboard.NewRowBuilder("Groups"))
	groups := tablePanel("Groups",
		"Per tenant and group: the user members Graph lists, those found in userRegistrationDetails, the shares MFA-capable and phishing-resistant, admins without phishing-resistant, the change of the phishing-resistant share against 30 days before (empty until Prometheus holds 30 days of the group) and whether the last read of the group's members succeeded (down: its values are those of the last read that did)."+everyGroup,
		units.PercentUnit,
		column{name: "Members", unit: units.Short, expr: one(groupMembers)},
		column{name: "Users found", unit: units.Short, expr: sumBy(tg, one(groupUsers, ut))},
		column{name: "MFA-capable", expr: mfa, th: coverage()},
		column{name: "Phishing-resistant", expr: pr(one), th: slowAdoption()},
		column{name: "Admins without phishing-resistant", unit: units.Short, th: zeroIsGood(),
			expr: sumBy(tg, one(groupUsersByStrength, `admin="true"`, `strength!="`+phishingResistant.name+`"`, ut))},
		column{name: "Phishing-resistant, Δ 30 days", unit: percentagePoints,
			expr: fmt.Sprintf("100 * (%s - %s)", pr(one), pr(monthAgo))},
		column{name: "Read", unit: units.NoUnit, expr: one(groupUp), th: thresholds("red", step{1, "green"})}).
		Span(24).Height(8).
		NoValue("No groups: none configured (groups: in the tenant's configuration)")
	groups.OverrideByName("Read", []dashboard.DynamicConfigValue{
		{Id: "mappings", Value: []dashboard.ValueMapping{valueText(mapped{"0", "down", "red"}, mapped{"1", "up", "green"})}},
	})
	groups.OverrideByName("Phishing-resistant, Δ 30 days", []dashboard.DynamicConfigValue{{Id: "decimals", Value: 1}})
	d.WithPanel(groups)

	d.WithPanel(timeseriesPanel("Phishing-resistant share by group",
		"Share of each group's members whose strongest registered method is phishing-resistant, over time."+everyGroup,
		units.PercentUnit, series(pr(one), "{{tenant}} {{group}}")).Max(1))
	d.WithPanel(timeseriesPanel("MFA-capable share by group",
		"Share of each group's members who are MFA-capable, over time."+everyGroup,
		units.PercentUnit, series(mfa, "{{tenant}} {{group}}")).Max(1))
}

// percentagePoints is the unit of a change of a share, in points of 100.
const percentagePoints = "suffix: pts"
