package dashboards

import (
	"fmt"

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

// withAndAll are the users with the feature and all users, by the given labels.
func withAndAll(f feature, by string, matchers ...string) (with, all string) {
	return sumBy(by, one(usersByFeature, append([]string{`feature="` + f.name + `"`}, matchers...)...)),
		sumBy(by, one(users, matchers...))
}

// share is the fraction of users with the feature, by the given labels
// (which include user_type wherever it is a headline: members and guests
// differ too much to be averaged).
func share(f feature, by string, matchers ...string) string {
	return ratio(withAndAll(f, by, matchers...))
}

// without is the number of users without the feature, by the given labels:
// each group of users less those of them that have it.
func without(f feature, by string, matchers ...string) string {
	with, all := withAndAll(f, by, matchers...)
	return all + " - " + with
}

func adoption(p Params) *board {
	d := newDashboard(p, "adoption", "Entra ID authentication methods / Adoption",
		"How many users are registered and capable for MFA, self-service password reset and passwordless sign-in, and with which methods; members and guests apart.",
		"now-7d", "15m")
	d.WithVariable(queryVariable(userTypeVariable, "User type",
		"userType of userRegistrationDetails: member or guest. Shares are per user type, never members and guests together.",
		`label_values(entra_authmethods_users{job=~"$job", instance=~"$instance", tenant=~"$tenant"}, user_type)`, ".*"))
	ut := userTypeMatcher
	headline := []feature{mfaCapable, mfaRegistered, ssprCapable, passwordlessCapable}
	notCapable := without(mfaCapable, "tenant, user_type", ut)
	adminsNotCapable := without(mfaCapable, "tenant, user_type", `admin="true"`, ut)

	d.WithRow(dashboard.NewRowBuilder("Coverage, per user type"))
	d.WithPanel(statPanel("Users",
		"Users listed by userRegistrationDetails, per tenant and user type.",
		units.Short, neutral(), instant(sumBy("tenant, user_type", one(users, ut)), "{{tenant}} {{user_type}}s")))
	for _, f := range headline {
		th := coverage()
		if f == passwordlessCapable {
			th = thresholds("red", step{0.2, "orange"}, step{0.5, "green"})
		}
		d.WithPanel(ratioStat(f.title+" users", "Share of users who "+f.about+", per tenant and user type.",
			th,
			instant(share(f, "tenant, user_type", ut), "{{tenant}} {{user_type}}s")).Span(5))
	}
	d.WithPanel(statPanel("Users not MFA-capable",
		"Users without an MFA-capable method, per tenant and user type: the accounts a password alone protects.",
		units.Short, thresholds("green", step{1, "orange"}), instant(notCapable, "{{tenant}} {{user_type}}s")).Span(12).Height(4))
	d.WithPanel(statPanel("Admins not MFA-capable",
		"Admins (users with an admin role) who are not MFA-capable, per tenant and user type; anything but 0 needs attention.",
		units.Short, zeroIsGood(), instant(adminsNotCapable, "{{tenant}} {{user_type}} admins")).Span(12).Height(4))

	coverageColumns := []column{{name: "Users", unit: units.Short,
		expr: sumBy("tenant, user_type, admin", one(users, ut))}}
	all := []feature{mfaCapable, mfaRegistered, ssprRegistered, ssprEnabled, ssprCapable, passwordlessCapable, systemPreferred}
	for _, f := range all {
		coverageColumns = append(coverageColumns, column{name: f.title, expr: share(f, "tenant, user_type, admin", ut)})
	}
	coverageTable := tablePanel("Coverage by user type and role",
		"Share of users with each flag of userRegistrationDetails, for members and guests, admins and others.",
		units.PercentUnit, coverageColumns...).Span(24).Height(6)
	for _, f := range all {
		colorCells(coverageTable, f.title, coverage())
	}
	d.WithPanel(coverageTable)

	var overTime []*query
	for _, f := range headline {
		overTime = append(overTime, series(share(f, "tenant, user_type", ut), "{{tenant}} {{user_type}}s "+f.title))
	}
	d.WithPanel(timeseriesPanel("Coverage over time",
		"Share of users who are MFA-capable, MFA-registered, SSPR-capable and passwordless-capable, per user type.",
		units.PercentUnit, overTime...).Max(1))
	d.WithPanel(timeseriesPanel("Members, guests and admins",
		"Users by userType (member or guest), and how many of them hold an admin role.",
		units.Short,
		series(sumBy("tenant, user_type", one(users, ut)), "{{tenant}} {{user_type}}s"),
		series(sumBy("tenant, user_type", one(users, `admin="true"`, ut)), "{{tenant}} {{user_type}} admins")))

	d.WithRow(dashboard.NewRowBuilder("Methods"))
	for _, m := range []struct{ metric, title, now, overTime string }{
		{usersByMethod, "Users by registered method",
			"Users who have registered each authentication method (methodsRegistered); a user counts once per method.",
			"Users who have registered each authentication method, over time: the progress of a rollout."},
		{usersByPreference, "Preferred second-factor method",
			"Users by the method they chose as preferred for the second factor; none when they chose none.",
			"Users by preferred second-factor method, over time: whether users move away from SMS and voice."},
	} {
		byMethod := sumBy("tenant, method", one(m.metric, ut))
		d.WithPanel(barGaugePanel(m.title, m.now, units.Short, bars(byMethod, "{{method}} ({{tenant}})")))
		d.WithPanel(tableLegend(timeseriesPanel(m.title+" over time", m.overTime, units.Short,
			series(byMethod, "{{method}} ({{tenant}})"))))
	}

	d.WithRow(dashboard.NewRowBuilder("Users without MFA"))
	d.WithPanel(colorCells(tablePanel("Admins who are not MFA-capable",
		"Admins without an MFA-capable method, by tenant and user type; no rows when every admin is MFA-capable.",
		units.Short,
		column{name: "Admins not MFA-capable", expr: adminsNotCapable + " > 0"}).
		NoValue("None: every admin is MFA-capable"),
		"Admins not MFA-capable", zeroIsGood()))
	d.WithPanel(timeseriesPanel("Users and admins not MFA-capable over time",
		"Users and admins without an MFA-capable method, per user type; the admins' line should stay at 0.",
		units.Short,
		series(notCapable, "{{tenant}} {{user_type}}s"),
		series(adminsNotCapable, "{{tenant}} {{user_type}} admins")))

	statusUsers := sumBy("tenant, status", one(credentialRegistrationUsers))
	allUsers := sumBy("tenant", one(credentialUsers))
	legacy := dashboard.NewRowBuilder("Legacy credential reports (getCredentialUserRegistrationCount, credentialUserRegistrationDetails)")
	legacy.WithPanel(timeseriesPanel("Registration status (getCredentialUserRegistrationCount)",
		"Users per registration status from the beta registration-count report, and all users it counts (members and guests).",
		units.Short,
		series(statusUsers, "{{tenant}} {{status}}"),
		series(allUsers, "{{tenant}} all users")))
	legacy.WithPanel(barGaugePanel("Registration status share (getCredentialUserRegistrationCount)",
		"Share of all users (members and guests) per registration status in the beta registration-count report.",
		units.PercentUnit,
		instant(fmt.Sprintf("sort_desc(%s / on (tenant) group_left () (%s > 0))", statusUsers, allUsers), "{{status}} ({{tenant}})")).
		Max(1).Thresholds(coverage()))
	legacy.WithPanel(timeseriesPanel("Registration details by status (credentialUserRegistrationDetails, stopped 2024-06-30)",
		"Users per status from the deprecated registration-details report, and the users it listed.",
		units.Short,
		series(sumBy("tenant, status", one(credentialDetailsStatusUsers)), "{{tenant}} {{status}}"),
		series(sumBy("tenant", one(credentialDetailsUsers)), "{{tenant}} all users")))
	legacy.WithPanel(barGaugePanel("Registration details by method (credentialUserRegistrationDetails, stopped 2024-06-30)",
		"Users per registered method from the deprecated registration-details report.",
		units.Short, bars(sumBy("tenant, method", one(credentialDetailsMethodUsers)), "{{method}} ({{tenant}})")))
	d.WithRow(legacy)
	return d
}
