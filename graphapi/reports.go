package graphapi

import (
	"cmp"
	"context"
)

// CredentialRegistrationCount is one credentialUserRegistrationCount (beta).
type CredentialRegistrationCount struct {
	TotalUserCount         Count               `json:"totalUserCount"`
	UserRegistrationCounts []RegistrationCount `json:"userRegistrationCounts"`
}

// RegistrationCount is a userRegistrationCount. The resource definition says
// registrationStatus/registrationCount; the documented example sends
// userRegistrationStatus/userRegistationCount (sic). Both are accepted.
type RegistrationCount struct {
	RegistrationStatus     string `json:"registrationStatus"`
	RegistrationCount      Count  `json:"registrationCount"`
	UserRegistrationStatus string `json:"userRegistrationStatus"`
	UserRegistationCount   Count  `json:"userRegistationCount"`
}

// Status returns the status under whichever key Graph used.
func (r RegistrationCount) Status() string {
	return cmp.Or(r.RegistrationStatus, r.UserRegistrationStatus)
}

// Count returns the count under whichever key Graph used.
func (r RegistrationCount) Count() Count { return cmp.Or(r.RegistrationCount, r.UserRegistationCount) }

// CredentialRegistrationCounts reads getCredentialUserRegistrationCount (normally one element).
func (c *Client) CredentialRegistrationCounts(ctx context.Context, each func(*CredentialRegistrationCount) error) (int, error) {
	return list(ctx, c, "/beta/reports/getCredentialUserRegistrationCount", "", each)
}

// CredentialRegistrationDetails is a credentialUserRegistrationDetails row
// (beta, deprecated: stopped returning data on 2024-06-30). User names are
// not decoded: the exporter never uses them.
type CredentialRegistrationDetails struct {
	ID              string `json:"id"` // the user's: to read each user once, never a label
	AuthMethods     Values `json:"authMethods"`
	IsRegistered    bool   `json:"isRegistered"`
	IsEnabled       bool   `json:"isEnabled"`
	IsCapable       bool   `json:"isCapable"`
	IsMfaRegistered bool   `json:"isMfaRegistered"`
}

// CredentialRegistrationDetailsList pages through credentialUserRegistrationDetails.
func (c *Client) CredentialRegistrationDetailsList(ctx context.Context, each func(*CredentialRegistrationDetails) error) (int, error) {
	return list(ctx, c, "/beta/reports/credentialUserRegistrationDetails", "", each)
}

// CredentialUsageDetailsList pages through userCredentialUsageDetails (beta,
// deprecated: stopped returning data on 2025-08-01). Its rows have the same
// fields as userEventsSummary's, which replaced it.
func (c *Client) CredentialUsageDetailsList(ctx context.Context, each func(*Event) error) (int, error) {
	return list(ctx, c, "/beta/reports/userCredentialUsageDetails", "", each)
}

// CredentialUsageSummary is a credentialUsageSummary (beta, deprecated:
// stopped returning data on 2025-08-01).
type CredentialUsageSummary struct {
	Feature                 string `json:"feature"`
	AuthMethod              string `json:"authMethod"`
	SuccessfulActivityCount Count  `json:"successfulActivityCount"`
	FailureActivityCount    Count  `json:"failureActivityCount"`
}

// CredentialUsageSummaries reads getCredentialUsageSummary for one period (D1, D7 or D30).
func (c *Client) CredentialUsageSummaries(ctx context.Context, period string, each func(*CredentialUsageSummary) error) (int, error) {
	return list(ctx, c, "/beta/reports/getCredentialUsageSummary(period='"+period+"')", "", each)
}

// Event is one registration or reset attempt: a userEventsSummary or
// userCredentialUsageDetails row (beta). ID is the user's object id. IsSuccess
// is nil when Graph sends null or leaves it out: whether it failed is unknown.
type Event struct {
	ID                string `json:"id"`
	Feature           string `json:"feature"`
	UserPrincipalName string `json:"userPrincipalName"` // part of the event's identity only; never a label
	IsSuccess         *bool  `json:"isSuccess"`
	AuthMethod        string `json:"authMethod"`
	FailureReason     string `json:"failureReason"`
	EventDateTime     Time   `json:"eventDateTime"`
}

// Failed reports whether isSuccess is false; a null or absent one is no failure.
func (e *Event) Failed() bool { return e.IsSuccess != nil && !*e.IsSuccess }

// UserEvents pages through userEventsSummary, 1000 a page (the documented maximum $top).
func (c *Client) UserEvents(ctx context.Context, each func(*Event) error) (int, error) {
	return list(ctx, c, "/beta/reports/authenticationMethods/userEventsSummary", "$top=1000", each)
}

// UserMFASignInSummary is one day of userMfaSignInSummary (beta).
type UserMFASignInSummary struct {
	CreatedDateTime     Time  `json:"createdDateTime"`
	TotalSignIns        Count `json:"totalSignIns"`
	SingleFactorSignIns Count `json:"singleFactorSignIns"`
	MultiFactorSignIns  Count `json:"multiFactorSignIns"`
}

// UserMFASignInSummaries pages through userMfaSignInSummary.
func (c *Client) UserMFASignInSummaries(ctx context.Context, each func(*UserMFASignInSummary) error) (int, error) {
	return list(ctx, c, "/beta/reports/authenticationMethods/userMfaSignInSummary", "", each)
}

// UserPasswordResetsSummary is one day of userPasswordResetsAndChangesSummary (beta).
type UserPasswordResetsSummary struct {
	AggregatedDateTime             Time  `json:"aggregatedDateTime"`
	PasswordResetsByAdminCount     Count `json:"passwordResetsByAdminCount"`
	PasswordResetsSelfServiceCount Count `json:"passwordResetsSelfServiceCount"`
	ChangePasswordSelfServiceCount Count `json:"changePasswordSelfServiceCount"`
}

// UserPasswordResetsSummaries pages through userPasswordResetsAndChangesSummary.
func (c *Client) UserPasswordResetsSummaries(ctx context.Context, each func(*UserPasswordResetsSummary) error) (int, error) {
	return list(ctx, c, "/beta/reports/authenticationMethods/userPasswordResetsAndChangesSummary", "", each)
}

// UserRegistrationDetails is a userRegistrationDetails row (v1.0): only the
// fields the exporter aggregates, never user names. IsAdmin is nil when Graph
// sends null or leaves it out (unknown, not false); UserType is "" for null.
type UserRegistrationDetails struct {
	ID                                            string `json:"id"` // the user's object id: to read each user once, never a label
	UserType                                      string `json:"userType"`
	IsAdmin                                       *bool  `json:"isAdmin"`
	IsMfaCapable                                  bool   `json:"isMfaCapable"`
	IsMfaRegistered                               bool   `json:"isMfaRegistered"`
	IsPasswordlessCapable                         bool   `json:"isPasswordlessCapable"`
	IsSsprCapable                                 bool   `json:"isSsprCapable"`
	IsSsprEnabled                                 bool   `json:"isSsprEnabled"`
	IsSsprRegistered                              bool   `json:"isSsprRegistered"`
	IsSystemPreferredAuthenticationMethodEnabled  bool   `json:"isSystemPreferredAuthenticationMethodEnabled"`
	MethodsRegistered                             Values `json:"methodsRegistered"`
	UserPreferredMethodForSecondaryAuthentication string `json:"userPreferredMethodForSecondaryAuthentication"`
}

// UserRegistrationDetailsList pages through userRegistrationDetails.
func (c *Client) UserRegistrationDetailsList(ctx context.Context, each func(*UserRegistrationDetails) error) (int, error) {
	return list(ctx, c, "/v1.0/reports/authenticationMethods/userRegistrationDetails", "", each)
}
