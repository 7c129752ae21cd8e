package graphapi

import "context"

// UserEvent is a userEventsSummary row (beta): one registration or reset
// attempt. ID is the user's object id, not the event's.
type UserEvent struct {
	ID                string `json:"id"`
	Feature           string `json:"feature"`
	UserPrincipalName string `json:"userPrincipalName"` // part of the event's identity only; never a label
	IsSuccess         bool   `json:"isSuccess"`
	AuthMethod        string `json:"authMethod"`
	FailureReason     string `json:"failureReason"`
	EventDateTime     Time   `json:"eventDateTime"`
}

// userEventsPageSize is the documented default and maximum $top.
const userEventsPageSize = "1000"

// UserEvents pages through userEventsSummary, asking for the largest page.
func (c *Client) UserEvents(ctx context.Context, each func(*UserEvent) error) (int, error) {
	return list(ctx, c, "/beta/reports/authenticationMethods/userEventsSummary", "$top="+userEventsPageSize, each)
}
