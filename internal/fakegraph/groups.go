package fakegraph

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Directory reads page as Graph pages directory objects: 100 by default,
// $top up to 999.
const (
	directoryPageSize = 100
	directoryMaxTop   = 999
)

var objectID = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// memberRow is a directoryObject as transitiveMembers lists it.
type memberRow struct {
	Type        string `json:"@odata.type"`
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
	UPN         string `json:"userPrincipalName,omitempty"`
}

// groupMembers serves GET /v1.0/groups/{id}/transitiveMembers, or with
// usersOnly its /microsoft.graph.user cast: the group's Members (only those
// of type user for the cast), in order, paged like Graph's directory reads.
// Each member has its @odata.type and id; users known to Data.Users also
// have displayName and userPrincipalName unless $select leaves them out.
func (g *graphCtx) groupMembers(id string, usersOnly bool) {
	switch {
	case !objectID.MatchString(id):
		g.fail(http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier '"+id+"'.")
		return
	case g.t.NoGroupPermission:
		g.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	group := g.d.group(func(gr *Group) bool { return strings.EqualFold(gr.ID, id) })
	if group == nil {
		g.fail(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}

	size, ok := g.directoryTop()
	if !ok {
		return
	}

	sel, selected, names := g.memberSelect()
	members, context := group.Members, "/v1.0/$metadata#directoryObjects"
	if usersOnly {
		context = "/v1.0/$metadata#users"
		members = make([]Member, 0, len(group.Members))
		for _, m := range group.Members {
			if m.Type == MemberUser {
				members = append(members, m)
			}
		}
	}
	if sel != "" {
		context += "(" + sel + ")"
	}
	servePage(g, members, size, context, func(m Member) any {
		row := memberRow{Type: "#microsoft.graph." + m.Type, ID: m.ID}
		if u, ok := names[strings.ToLower(m.ID)]; ok && m.Type == MemberUser {
			if selected["displayname"] {
				row.DisplayName = u.DisplayName
			}
			if selected["userprincipalname"] {
				row.UPN = u.UPN
			}
		}
		return row
	})
}

// memberSelect reads $select: id is always sent; the names only when
// selected, or with no $select. names holds Data.Users by lower-case id
// when a name is to be sent.
func (g *graphCtx) memberSelect() (sel string, selected map[string]bool, names map[string]User) {
	sel = g.r.URL.Query().Get("$select")
	selected = map[string]bool{"displayname": sel == "", "userprincipalname": sel == ""}
	for _, f := range strings.Split(sel, ",") {
		selected[strings.ToLower(strings.TrimSpace(f))] = true
	}
	if selected["displayname"] || selected["userprincipalname"] {
		names = make(map[string]User, len(g.d.Users))
		for _, u := range g.d.Users {
			names[strings.ToLower(u.ID)] = u
		}
	}
	return sel, selected, names
}

// directoryTop is a directory read's page size, from $top; false when it
// answered 400 for a $top Graph refuses.
func (g *graphCtx) directoryTop() (int, bool) {
	v := g.r.URL.Query().Get("$top")
	if v == "" {
		return directoryPageSize, true
	}
	top, err := strconv.Atoi(v)
	if err != nil || top < 1 || top > directoryMaxTop {
		g.fail(http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '"+v+"'. Must be between 1 and 999 inclusive.")
		return 0, false
	}
	return top, true
}
