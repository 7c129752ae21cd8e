package fakegraph

import (
	"math/rand/v2"
	"slices"
)

// The names of Synthetic's groups (Group.Name; see Data.GroupID).
const (
	GroupAllStaff  = "all-staff"  // every member (no guests), 3 users not (yet) in the report, emea and emea-sales, 4 devices, a service principal
	GroupEMEA      = "emea"       // about 12% of the members, and emea-sales: the group itself and its users
	GroupEMEASales = "emea-sales" // about 6% of the members
	GroupFinance   = "finance"    // about 10% of the members and an external accountant (an org contact)
	GroupAdmins    = "admins"     // every admin
	GroupPilot     = "pilot"      // about 5% of the members and one user not (yet) in the report
)

// SyntheticGroups lists the names of Synthetic's groups, in Data.Groups' order.
func SyntheticGroups() []string {
	return []string{GroupAllStaff, GroupEMEA, GroupEMEASales, GroupFinance, GroupAdmins, GroupPilot}
}

// syntheticGroups draws Synthetic's groups from rng, their users from
// users. Users are listed in users' order, other members at random places
// among them, each transitive member once.
func syntheticGroups(rng *rand.Rand, users []User) []Group {
	g := &synth{rng: rng}
	ids := map[string]string{}
	for _, name := range SyntheticGroups() {
		ids[name] = g.uuid()
	}
	// Users created after the report was computed: in all-staff already.
	strangers := []string{g.uuid(), g.uuid(), g.uuid()}

	in := map[string]map[string]bool{} // group name -> user ids
	for _, name := range SyntheticGroups() {
		in[name] = map[string]bool{}
	}
	for _, u := range users {
		if u.UserType != "member" {
			continue
		}
		in[GroupAllStaff][u.ID] = true
		in[GroupAdmins][u.ID] = u.IsAdmin
		// One draw per user and group, whether or not it is used.
		sales, emea, finance, pilot := g.chance(0.06), g.chance(0.12), g.chance(0.10), g.chance(0.05)
		in[GroupEMEASales][u.ID] = sales
		in[GroupEMEA][u.ID] = emea || sales
		in[GroupFinance][u.ID] = finance
		in[GroupPilot][u.ID] = pilot
	}

	usersOf := func(name string) []Member {
		out := []Member{}
		for _, u := range users {
			if in[name][u.ID] {
				out = append(out, Member{u.ID, MemberUser})
			}
		}
		return out
	}
	// scatter inserts each of others at a random place in ms.
	scatter := func(ms []Member, others ...Member) []Member {
		for _, o := range others {
			ms = slices.Insert(ms, g.rng.IntN(len(ms)+1), o)
		}
		return ms
	}
	uuids := func(n int, typ string) []Member {
		out := make([]Member, n)
		for i := range out {
			out[i] = Member{g.uuid(), typ}
		}
		return out
	}

	var newcomers []Member
	for _, id := range strangers {
		newcomers = append(newcomers, Member{id, MemberUser})
	}
	others := append(uuids(4, MemberDevice), uuids(1, MemberServicePrincipal)...)
	others = append(others, Member{ids[GroupEMEA], MemberGroup}, Member{ids[GroupEMEASales], MemberGroup})
	allStaff := scatter(usersOf(GroupAllStaff), others...)
	return []Group{
		{ID: ids[GroupAllStaff], Name: GroupAllStaff, Members: append(allStaff, newcomers...)},
		{ID: ids[GroupEMEA], Name: GroupEMEA, Members: scatter(usersOf(GroupEMEA), Member{ids[GroupEMEASales], MemberGroup})},
		{ID: ids[GroupEMEASales], Name: GroupEMEASales, Members: usersOf(GroupEMEASales)},
		{ID: ids[GroupFinance], Name: GroupFinance, Members: scatter(usersOf(GroupFinance), uuids(1, MemberOrgContact)...)},
		{ID: ids[GroupAdmins], Name: GroupAdmins, Members: usersOf(GroupAdmins)},
		{ID: ids[GroupPilot], Name: GroupPilot, Members: append(usersOf(GroupPilot), newcomers[0])},
	}
}
