package graphapi

import "context"

// CredentialUsageSummary is a credentialUsageSummary (beta, deprecated:
// stopped returning data on 2025-08-01).
type CredentialUsageSummary struct {
	Feature                 string `json:"feature"`
	AuthMethod              string `json:"authMethod"`
	SuccessfulActivityCount Count  `json:"successfulActivityCount"`
	FailureActivityCount    Count  `json:"failureActivityCount"`
}

// CredentialUsageSummaries reads getCredentialUsageSummary for one period
// (D1, D7 or D30).
func (c *Client) CredentialUsageSummaries(ctx context.Context, period string, each func(*CredentialUsageSummary) error) (int, error) {
	return list(ctx, c, "/beta/reports/getCredentialUsageSummary(period='"+period+"')", "", each)
}
