package graphapi

import "context"

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
