package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// Metrics of user_registration_details.
const (
	users             = "entra_authmethods_users"
	usersByFeature    = "entra_authmethods_users_registered_by_feature"
	usersByMethod     = "entra_authmethods_users_registered_by_method"
	usersByPreference = "entra_authmethods_users_by_preferred_method"
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

// share is the fraction of users with the feature, per tenant and the given labels.
func share(f feature, by string) string {
	return fmt.Sprintf("sum by (%s) (%s) / sum by (%s) (%s)",
		by, sel(usersByFeature, `feature="`+f.name+`"`), by, sel(users))
}

// adminsNotMFACapable is the number of admins without MFA, by tenant and user
// type: each group of admins less those of them that are MFA-capable.
func adminsNotMFACapable() string {
	return fmt.Sprintf("sum by (tenant, user_type) (%s) - sum by (tenant, user_type) (%s)",
		sel(users, `admin="true"`), sel(usersByFeature, `admin="true"`, `feature="mfaCapable"`))
}

func adoption() *board {
	d := newDashboard("entra-authmethods-adoption", "Entra ID authentication methods / Adoption",
		"How many users are registered and capable for MFA, self-service password reset and passwordless sign-in, and with which methods.",
		"now-7d", "15m")

	d.WithRow(dashboard.NewRowBuilder("Coverage"))
	d.WithPanel(statPanel("Users",
		"Users listed by userRegistrationDetails, members and guests.",
		units.Short, neutral(),
		series(fmt.Sprintf("sum by (tenant) (%s)", sel(users)), "{{tenant}}")))
	for _, f := range []feature{mfaCapable, mfaRegistered, ssprCapable} {
		d.WithPanel(statPanel(f.title+" users", "Share of users who "+f.about+".",
			units.PercentUnit, coverage(),
			series(share(f, "tenant"), "{{tenant}}")).Min(0).Max(1))
	}
	d.WithPanel(statPanel(passwordlessCapable.title+" users", "Share of users who "+passwordlessCapable.about+".",
		units.PercentUnit, thresholds("red", step{0.2, "orange"}, step{0.5, "green"}),
		series(share(passwordlessCapable, "tenant"), "{{tenant}}")).Min(0).Max(1))
	d.WithPanel(statPanel("Admins not MFA-capable",
		"Admins (users with an admin role) who are not MFA-capable; anything but 0 needs attention.",
		units.Short, zeroIsGood(),
		series(fmt.Sprintf("sum by (tenant) (%s)", adminsNotMFACapable()), "{{tenant}}")))

	coverageColumns := []column{{name: "Users", unit: units.Short,
		expr: fmt.Sprintf("sum by (tenant, user_type, admin) (%s)", sel(users))}}
	all := []feature{mfaCapable, mfaRegistered, ssprRegistered, ssprEnabled, ssprCapable, passwordlessCapable, systemPreferred}
	for _, f := range all {
		coverageColumns = append(coverageColumns, column{name: f.title, expr: share(f, "tenant, user_type, admin")})
	}
	coverageTable := tablePanel("Coverage by user type and role",
		"Share of users with each flag of userRegistrationDetails, for members and guests, admins and others.",
		units.PercentUnit, coverageColumns...).Span(24).Height(6)
	for _, f := range all {
		colorCells(coverageTable, f.title, coverage())
	}
	d.WithPanel(coverageTable)

	var overTime []*query
	for _, f := range []feature{mfaCapable, mfaRegistered, ssprCapable, passwordlessCapable} {
		overTime = append(overTime, series(share(f, "tenant"), "{{tenant}} "+f.title))
	}
	d.WithPanel(timeseriesPanel("Coverage over time",
		"Share of users who are MFA-capable, MFA-registered, SSPR-capable and passwordless-capable.",
		units.PercentUnit, overTime...).Max(1))
	d.WithPanel(timeseriesPanel("Members, guests and admins",
		"Users by userType (member or guest), and how many of them hold an admin role.",
		units.Short,
		series(fmt.Sprintf("sum by (tenant, user_type) (%s)", sel(users)), "{{tenant}} {{user_type}}s"),
		series(fmt.Sprintf("sum by (tenant) (%s)", sel(users, `admin="true"`)), "{{tenant}} admins")))

	d.WithRow(dashboard.NewRowBuilder("Methods"))
	d.WithPanel(barGaugePanel("Users by registered method",
		"Users who have registered each authentication method (methodsRegistered); a user counts once per method.",
		units.Short,
		instant(fmt.Sprintf("sort_desc(sum by (tenant, method) (%s))", sel(usersByMethod)), "{{method}} ({{tenant}})")))
	d.WithPanel(tableLegend(timeseriesPanel("Users by registered method over time",
		"Users who have registered each authentication method, over time: the progress of a rollout.",
		units.Short,
		series(fmt.Sprintf("sum by (tenant, method) (%s)", sel(usersByMethod)), "{{method}} ({{tenant}})"))))
	d.WithPanel(barGaugePanel("Preferred second-factor method",
		"Users by the method they chose as preferred for the second factor; none when they chose none.",
		units.Short,
		instant(fmt.Sprintf("sort_desc(sum by (tenant, method) (%s))", sel(usersByPreference)), "{{method}} ({{tenant}})")))
	d.WithPanel(tableLegend(timeseriesPanel("Preferred second-factor method over time",
		"Users by preferred second-factor method, over time: whether users move away from SMS and voice.",
		units.Short,
		series(fmt.Sprintf("sum by (tenant, method) (%s)", sel(usersByPreference)), "{{method}} ({{tenant}})"))))

	d.WithRow(dashboard.NewRowBuilder("Admins"))
	d.WithPanel(colorCells(tablePanel("Admins who are not MFA-capable",
		"Admins without an MFA-capable method, by tenant and user type; no rows when every admin is MFA-capable.",
		units.Short,
		column{name: "Admins not MFA-capable", expr: adminsNotMFACapable() + " > 0"}).
		NoValue("None: every admin is MFA-capable"),
		"Admins not MFA-capable", zeroIsGood()))
	d.WithPanel(timeseriesPanel("Admins not MFA-capable over time",
		"Admins without an MFA-capable method; the line should stay at 0.",
		units.Short,
		series(adminsNotMFACapable(), "{{tenant}} {{user_type}}s")))

	legacy := dashboard.NewRowBuilder("Legacy credential reports (getCredentialUserRegistrationCount, credentialUserRegistrationDetails)")
	legacy.WithPanel(timeseriesPanel("Registration status (getCredentialUserRegistrationCount)",
		"Users per registration status from the beta registration-count report, and all users it counts.",
		units.Short,
		series(fmt.Sprintf("sum by (tenant, status) (%s)", sel("entra_authmethods_credential_registration_users")), "{{tenant}} {{status}}"),
		series(fmt.Sprintf("sum by (tenant) (%s)", sel("entra_authmethods_credential_users")), "{{tenant}} all users")))
	legacy.WithPanel(barGaugePanel("Registration status share (getCredentialUserRegistrationCount)",
		"Share of users per registration status in the beta registration-count report.",
		units.PercentUnit,
		instant(fmt.Sprintf("sort_desc(sum by (tenant, status) (%s) / on (tenant) group_left () sum by (tenant) (%s))",
			sel("entra_authmethods_credential_registration_users"), sel("entra_authmethods_credential_users")), "{{status}} ({{tenant}})")).
		Max(1).Thresholds(coverage()))
	legacy.WithPanel(timeseriesPanel("Registration details by status (credentialUserRegistrationDetails, stopped 2024-06-30)",
		"Users per status from the deprecated registration-details report, and the users it listed.",
		units.Short,
		series(fmt.Sprintf("sum by (tenant, status) (%s)", sel("entra_authmethods_credential_details_status_users")), "{{tenant}} {{status}}"),
		series(fmt.Sprintf("sum by (tenant) (%s)", sel("entra_authmethods_credential_details_users")), "{{tenant}} all users")))
	legacy.WithPanel(barGaugePanel("Registration details by method (credentialUserRegistrationDetails, stopped 2024-06-30)",
		"Users per registered method from the deprecated registration-details report.",
		units.Short,
		instant(fmt.Sprintf("sort_desc(sum by (tenant, method) (%s))", sel("entra_authmethods_credential_details_method_users")), "{{method}} ({{tenant}})")))
	d.WithRow(legacy)
	return d
}
