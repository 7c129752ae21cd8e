package graphapi

import "context"

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
