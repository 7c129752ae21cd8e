package graphapi

import "context"

// Event is one registration or reset attempt: a userEventsSummary row
// (beta), or a userCredentialUsageDetails row. ID is the user's object id,
// not the event's. IsSuccess is nil when Graph sends null or leaves it out:
// such an event happened, but whether it failed is not known.
type Event struct {
	ID                string `json:"id"`
	Feature           string `json:"feature"`
	UserPrincipalName string `json:"userPrincipalName"` // part of the event's identity only; never a label
	IsSuccess         *bool  `json:"isSuccess"`
	AuthMethod        string `json:"authMethod"`
	FailureReason     string `json:"failureReason"`
	EventDateTime     Time   `json:"eventDateTime"`
}

// Failed reports whether the event is known to have failed: isSuccess is
// false. An event whose isSuccess is null or absent is not counted as a failure.
func (e *Event) Failed() bool { return e.IsSuccess != nil && !*e.IsSuccess }

// userEventsPageSize is the documented default and maximum $top.
const userEventsPageSize = "1000"

// UserEvents pages through userEventsSummary, asking for the largest page.
func (c *Client) UserEvents(ctx context.Context, each func(*Event) error) (int, error) {
	return list(ctx, c, "/beta/reports/authenticationMethods/userEventsSummary", "$top="+userEventsPageSize, each)
}
