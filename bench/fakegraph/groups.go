package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
)

// Besides its members drawn from the tenant's users, each bench group
// lists strangersPerGroup users that are not in the report (created after
// it was computed, as Graph's are), and a device and a service principal,
// which the exporter's microsoft.graph.user cast leaves out.
const strangersPerGroup = 2

// benchGroups makes n groups named g01, g02, ... of members users each,
// drawn at random (seeded by seed and the group's index, so runs compare)
// from users: groups overlap as real ones do. Each group also lists
// strangersPerGroup users not in users and two non-user members, at random
// places. tenant numbers the tenant (from 0) in the groups' ids.
func benchGroups(seed int64, tenant, n, members int, users []fakegraph.User) []fakegraph.Group {
	groups := make([]fakegraph.Group, n)
	idx := make([]int, len(users))
	for g := range groups {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(g)+1))
		// A partial Fisher-Yates shuffle: the first members indexes are a
		// uniform sample without repeats.
		for i := range idx {
			idx[i] = i
		}
		ms := make([]fakegraph.Member, 0, members+strangersPerGroup+2)
		for i := range members {
			j := i + rng.IntN(len(idx)-i)
			idx[i], idx[j] = idx[j], idx[i]
			ms = append(ms, fakegraph.Member{ID: users[idx[i]].ID, Type: fakegraph.MemberUser})
		}
		others := []fakegraph.Member{
			{ID: fmt.Sprintf("de1ce000-%04d-4000-8000-%012d", g+1, tenant+1), Type: fakegraph.MemberDevice},
			{ID: fmt.Sprintf("5e1ce000-%04d-4000-8000-%012d", g+1, tenant+1), Type: fakegraph.MemberServicePrincipal},
		}
		for s := range strangersPerGroup {
			others = append(others, fakegraph.Member{ID: fmt.Sprintf("0e5e0000-%04d-4%03d-8000-%012d", g+1, s, tenant+1), Type: fakegraph.MemberUser})
		}
		for _, o := range others {
			ms = slices.Insert(ms, rng.IntN(len(ms)+1), o)
		}
		groups[g] = fakegraph.Group{
			ID:      fmt.Sprintf("6a0b0000-%04d-4000-8000-%012d", g+1, tenant+1),
			Name:    fmt.Sprintf("g%02d", g+1),
			Members: ms,
		}
	}
	return groups
}

// groupsTSV lists each tenant's groups, one a line: tenant name, group
// name, object id, user members as Graph lists them (group_members), and
// those of them in the report (the sum of group_users).
func groupsTSV(ts []fakegraph.Tenant) string {
	var b strings.Builder
	b.WriteString("tenant\tgroup\tid\tuser_members\tin_report\n")
	for i, t := range ts {
		inReport := make(map[string]bool, len(t.Data.Users))
		for _, u := range t.Data.Users {
			inReport[u.ID] = true
		}
		for _, g := range t.Data.Groups {
			users, known := 0, 0
			for _, m := range g.Members {
				if m.Type == fakegraph.MemberUser {
					users++
					if inReport[m.ID] {
						known++
					}
				}
			}
			fmt.Fprintf(&b, "t%03d\t%s\t%s\t%d\t%d\n", i+1, g.Name, g.ID, users, known)
		}
	}
	return b.String()
}
