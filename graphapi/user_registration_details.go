package graphapi

import "context"

// UserRegistrationDetails is a userRegistrationDetails row (v1.0). Only the
// fields the exporter aggregates are decoded; user names never are.
// IsAdmin is nil when Graph sends null or leaves it out: not known, which
// is not the same as false. UserType is "" for null.
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
