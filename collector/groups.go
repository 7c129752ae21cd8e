package collector

import (
	"context"
	"hash/maphash"
	"maps"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/status"
)

var (
	groupUpDesc = desc("group_up",
		"1 if the last read of the group's transitive user members succeeded; the group's other series hold the values of the last read that did."+polledNote, "group")
	groupMembersDesc = desc("group_members",
		"User members Graph lists for the group (transitive, each once), whether or not userRegistrationDetails has them."+polledNote, "group")
	groupUsersDesc = desc("group_users",
		"Members of the group found in userRegistrationDetails, by user type and admin role."+polledNote, "group", "user_type", "admin")
	groupUsersByFeatureDesc = desc("group_users_registered_by_feature",
		"As users_registered_by_feature, members of the group only."+polledNote, "group", "user_type", "admin", "feature")
	groupUsersByStrengthDesc = desc("group_users_by_strength",
		"As users_by_strength, members of the group only."+polledNote, "group", "user_type", "admin", "strength")
	groupErrorsDesc = desc("group_errors_total",
		"Failed reads of the group's members, by reason (not_found: the group was deleted or never existed), since the exporter started; a reason appears once it occurs.",
		"group", "reason")
)

// groupDescs are the families the groups add to userRegistrationDetails.
var groupDescs = []*prometheus.Desc{groupUpDesc, groupMembersDesc, groupUsersDesc, groupUsersByFeatureDesc, groupUsersByStrengthDesc, groupErrorsDesc}

// A tenant's groups are read a few at a time, while the report's pages are
// read, so that they add little to the poll's time; through a client of
// their own, paced apart from the reports' budget: Graph throttles directory
// reads separately, and far more generously.
const (
	groupReadsAtOnce = 4
	groupRequests    = 10 // per groupPer, per tenant
	groupPer         = time.Second
)

// reasonNotFound is a group's failure reason when Graph answers 404.
const reasonNotFound graphapi.Reason = "not_found"

// memberships is what the group reads found: for each user (its id hashed),
// the groups it is a member of, as bits. A set of ids per group would hold
// a user once for each of its groups.
type memberships struct {
	of      map[uint64]uint64
	members []int64 // distinct user members per group
	err     []error // per group: nil once read whole
}

// groupReads are a poll's reads of its tenant's groups, made while the
// report's pages are read, and the users' classes they are joined with.
type groupReads struct {
	users  *classes
	got    memberships
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// startGroupReads starts reading every group's transitive user members. A
// group that fails leaves nothing behind: its bit is set only from a whole
// read.
func startGroupReads(ctx context.Context, client *graphapi.Client, groups []config.Group) *groupReads {
	ctx, cancel := context.WithCancel(ctx)
	seed := maphash.MakeSeed()
	r := &groupReads{cancel: cancel,
		users: &classes{seed: seed, index: map[userClass]uint32{}, users: map[uint64]uint32{}},
		got:   memberships{of: map[uint64]uint64{}, members: make([]int64, len(groups)), err: make([]error, len(groups))}}
	m := &r.got
	var mu sync.Mutex
	slots := make(chan struct{}, groupReadsAtOnce)
	for i, g := range groups {
		r.wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			var ids []uint64
			_, err := client.GroupUserMembers(ctx, g.ID, func(u *graphapi.GroupMember) error {
				ids = append(ids, userKey(seed, u.ID))
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			if m.err[i] = err; err != nil {
				return
			}
			bit := uint64(1) << i
			for _, id := range ids {
				if m.of[id]&bit == 0 {
					m.of[id] |= bit
					m.members[i]++
				}
			}
		})
	}
	return r
}

func (r *groupReads) stop() {
	r.cancel()
	r.wg.Wait()
}

// userKey is a user's object id, hashed, to join the two lists: a GUID,
// matched in any case as Graph matches ids.
func userKey(seed maphash.Seed, id string) uint64 { return maphash.String(seed, strings.ToLower(id)) }

// userClass is what the groups' series say of a user: its user_type and
// admin labels, its feature flags (bit i: features[i]) and its strength
// (an index into config.Strengths()).
type userClass struct {
	kind     userKind
	features uint8
	strength uint8
}

// classes keeps each user's class while userRegistrationDetails is read,
// for the groups: per user an index into the few distinct classes.
type classes struct {
	seed  maphash.Seed
	index map[userClass]uint32
	list  []userClass
	users map[uint64]uint32
}

func (c *classes) add(id string, class userClass) {
	i, ok := c.index[class]
	if !ok {
		i = uint32(len(c.list))
		c.index[class] = i
		c.list = append(c.list, class)
	}
	c.users[userKey(c.seed, id)] = i
}

// count joins the memberships with the users' classes: each group's
// members found in userRegistrationDetails, by user_type and admin.
func count(groups int, m *memberships, c *classes) []map[userKind]*kindCounts {
	counts := make([]map[userKind]*kindCounts, groups)
	for i := range counts {
		counts[i] = map[userKind]*kindCounts{}
	}
	for id, of := range m.of {
		ci, ok := c.users[id]
		if !ok {
			continue // listed by the group, not in userRegistrationDetails
		}
		class := c.list[ci]
		for ; of != 0; of &= of - 1 {
			i := bits.TrailingZeros64(of)
			kc := counts[i][class.kind]
			if kc == nil {
				kc = &kindCounts{}
				counts[i][class.kind] = kc
			}
			kc.add(class)
		}
	}
	return counts
}

// groupSamples are a group's series from a whole read of its members.
func groupSamples(name string, members int64, counts map[userKind]*kindCounts) snapshot {
	var m snapshot
	m.gauge(groupMembersDesc, float64(members), name)
	for _, k := range sortedKinds(counts) {
		counts[k].samples(&m, groupUsersDesc, groupUsersByFeatureDesc, groupUsersByStrengthDesc, name, k.userType, k.admin)
	}
	return m
}

// groupState is what userRegistrationDetails keeps of its groups between
// polls, by group. Keyed by name and id: a name pointed at another group
// starts afresh.
type groupState struct {
	groups map[config.Group]*groupRecord
	status atomic.Pointer[[]status.Group] // read by the landing page while a poll runs
}

// groupRecord is one group's series from its last whole read, its failed
// reads by reason, and its status.
type groupRecord struct {
	last   snapshot
	errors map[graphapi.Reason]int64
	status status.Group
}

// samples records the reads of a poll whose report succeeded and returns
// the groups' series: of those read now, and the last good ones of those
// that failed.
func (s *groupState) samples(groups []config.Group, m *memberships, c *classes, now time.Time) snapshot {
	// Groups no longer configured are forgotten.
	maps.DeleteFunc(s.groups, func(g config.Group, _ *groupRecord) bool { return !slices.Contains(groups, g) })
	counts := count(len(groups), m, c)
	var out snapshot
	list := make([]status.Group, len(groups))
	for i, g := range groups {
		r := s.groups[g]
		if r == nil {
			r = &groupRecord{errors: map[graphapi.Reason]int64{}}
			s.groups[g] = r
		}
		st := &r.status
		st.Name, st.Polled, st.Up = g.Name, true, m.err[i] == nil
		if err := m.err[i]; err != nil {
			reason := graphapi.ReasonOf(err)
			if graphapi.IsNotFound(err) {
				reason = reasonNotFound
			}
			r.errors[reason]++
			st.LastError = err.Error()
		} else {
			r.last = groupSamples(g.Name, m.members[i], counts[i])
			st.LastSuccess, st.Members, st.LastError = now, m.members[i], ""
		}
		list[i] = *st
		out.gauge(groupUpDesc, float64(b2i(st.Up)), g.Name)
		out = append(out, r.last...)
		for _, reason := range slices.Sorted(maps.Keys(r.errors)) {
			out.counter(groupErrorsDesc, float64(r.errors[reason]), g.Name, string(reason))
		}
	}
	s.status.Store(&list)
	return out
}

// groupStatus is the groups' state as of the last poll, or each
// configured group as not yet read until a poll has read them.
func (s *groupState) groupStatus(groups []config.Group) []status.Group {
	if p := s.status.Load(); p != nil && slices.EqualFunc(*p, groups, func(st status.Group, g config.Group) bool { return st.Name == g.Name }) {
		return *p
	}
	out := make([]status.Group, len(groups))
	for i, g := range groups {
		out[i] = status.Group{Name: g.Name}
	}
	return out
}
