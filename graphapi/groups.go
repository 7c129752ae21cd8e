package graphapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// GroupMember is a user among a group's transitive members. Only the id is
// asked for ($select=id): the exporter matches it with the registration
// details and keeps nothing else.
type GroupMember struct {
	ID string `json:"id"`
}

// GroupUserMembers pages through a group's transitive user members (v1.0,
// GroupMember.Read.All), 999 at a time, Graph's largest page of directory
// objects. The cast to microsoft.graph.user leaves out devices, service
// principals, contacts and the nested groups themselves.
func (c *Client) GroupUserMembers(ctx context.Context, groupID string, each func(*GroupMember) error) (int, error) {
	return list(ctx, c, "/v1.0/groups/"+url.PathEscape(groupID)+"/transitiveMembers/microsoft.graph.user", "$select=id&$top=999", each)
}

// IsNotFound reports whether Graph answered 404: for a group, that it was
// deleted or never existed in this tenant.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}
