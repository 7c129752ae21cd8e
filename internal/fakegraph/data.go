package fakegraph

import (
	"crypto/x509"
	"time"
)

// Tenant is one directory known to the fake identity platform, with the app
// registration that may sign in to it and the report data Graph serves for it.
type Tenant struct {
	TenantID, ClientID, ClientSecret string

	// ClientCertificate, when set, also lets the app sign in with a client
	// assertion (certificate credential). The assertion's signature is checked
	// against this certificate's RSA key, as Entra checks it.
	ClientCertificate *x509.Certificate

	// Unlicensed makes every report answer 403
	// Authentication_RequestFromNonPremiumTenantOrB2CTenant, as for a tenant
	// without Entra ID P1/P2.
	Unlicensed bool

	// TypoKeys makes getCredentialUserRegistrationCount use the keys of the
	// documentation's example (userRegistrationStatus, userRegistationCount)
	// instead of the resource definition's.
	TypoKeys bool

	// Attack makes the tenant's Graph or token endpoint hostile (see Attack).
	Attack Attack

	// Data is what the reports return; nil serves empty reports. It must not
	// be modified after AddTenant: call AddTenant again with a new Tenant to
	// change it while serving.
	Data *Data
}

// Data is a tenant's report content, in the exporter's terms. The fake turns
// it into Graph's wire format.
type Data struct {
	TotalUserCount     int64
	RegistrationCounts []RegistrationCount
	UsageSummaries     map[string][]UsageSummary // key "D1", "D7", "D30"
	CredentialDetails  []CredentialDetail
	CredentialUsage    []CredentialUsageEvent
	Users              []User
	Events             []Event
	MFASignIns         []MFASignInDay
	PasswordResets     []PasswordResetDay
}

// RegistrationCount is a userRegistrationCount of getCredentialUserRegistrationCount.
type RegistrationCount struct {
	Status string // registered, enabled, capable, mfaRegistered
	Count  int64
}

// UsageSummary is a credentialUsageSummary row.
type UsageSummary struct {
	Feature, AuthMethod string
	Successful, Failed  int64
}

// CredentialDetail is a legacy credentialUserRegistrationDetails row.
type CredentialDetail struct {
	ID, UPN, DisplayName                                string
	AuthMethods                                         []string // registrationAuthMethod names
	IsRegistered, IsEnabled, IsCapable, IsMfaRegistered bool
}

// CredentialUsageEvent is a legacy userCredentialUsageDetails row.
type CredentialUsageEvent struct {
	ID, Feature, UPN, DisplayName, AuthMethod, FailureReason string
	IsSuccess                                                bool
	EventDateTime                                            time.Time
}

// User is a userRegistrationDetails row.
type User struct {
	ID, UPN, DisplayName, UserType string // UserType: member or guest

	IsAdmin, IsMfaCapable, IsMfaRegistered, IsPasswordlessCapable bool
	IsSsprCapable, IsSsprEnabled, IsSsprRegistered                bool
	IsSystemPreferredAuthenticationMethodEnabled                  bool

	MethodsRegistered                             []string
	SystemPreferredAuthenticationMethods          []string
	UserPreferredMethodForSecondaryAuthentication string // may be ""
	LastUpdatedDateTime                           time.Time
}

// Event is a userEventsSummary row. ID is the user's id, not the event's.
type Event struct {
	ID, Feature, UPN, DisplayName, AuthMethod, FailureReason string
	IsSuccess                                                bool
	EventDateTime                                            time.Time
}

// MFASignInDay is a userMfaSignInSummary row.
type MFASignInDay struct {
	ID                                                    string
	CreatedDateTime                                       time.Time
	TotalSignIns, SingleFactorSignIns, MultiFactorSignIns int64
}

// PasswordResetDay is a userPasswordResetsAndChangesSummary row.
type PasswordResetDay struct {
	ID                                                                                         string
	AggregatedDateTime                                                                         time.Time
	PasswordResetsByAdminCount, PasswordResetsSelfServiceCount, ChangePasswordSelfServiceCount int64
}
