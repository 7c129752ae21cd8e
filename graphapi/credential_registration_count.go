package graphapi

import "context"

// CredentialRegistrationCount is one credentialUserRegistrationCount
// (beta, GET /reports/getCredentialUserRegistrationCount).
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
	if r.RegistrationStatus != "" {
		return r.RegistrationStatus
	}
	return r.UserRegistrationStatus
}

// Count returns the count under whichever key Graph used.
func (r RegistrationCount) Count() Count {
	if r.RegistrationCount != 0 {
		return r.RegistrationCount
	}
	return r.UserRegistationCount
}

// CredentialRegistrationCounts calls each for every element of the
// getCredentialUserRegistrationCount collection (normally one).
func (c *Client) CredentialRegistrationCounts(ctx context.Context, each func(*CredentialRegistrationCount) error) (int, error) {
	return list(ctx, c, "/beta/reports/getCredentialUserRegistrationCount", "", each)
}
