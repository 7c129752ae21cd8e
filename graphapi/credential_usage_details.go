package graphapi

import "context"

// CredentialUsageDetailsList pages through userCredentialUsageDetails (beta,
// deprecated: stopped returning data on 2025-08-01). Its rows have the same
// fields as userEventsSummary's, which replaced it.
func (c *Client) CredentialUsageDetailsList(ctx context.Context, each func(*Event) error) (int, error) {
	return list(ctx, c, "/beta/reports/userCredentialUsageDetails", "", each)
}
