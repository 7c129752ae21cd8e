package graphapi

import "context"

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
