package graphapi

import "context"

// CredentialUsageDetails is a userCredentialUsageDetails event (beta,
// deprecated: stopped returning data on 2025-08-01).
type CredentialUsageDetails struct {
	ID                string `json:"id"`
	Feature           string `json:"feature"`
	UserPrincipalName string `json:"userPrincipalName"` // part of the event's identity only; never a label
	IsSuccess         bool   `json:"isSuccess"`
	AuthMethod        string `json:"authMethod"`
	FailureReason     string `json:"failureReason"`
	EventDateTime     Time   `json:"eventDateTime"`
}

// CredentialUsageDetailsList pages through userCredentialUsageDetails.
func (c *Client) CredentialUsageDetailsList(ctx context.Context, each func(*CredentialUsageDetails) error) (int, error) {
	return list(ctx, c, "/beta/reports/userCredentialUsageDetails", "", each)
}
