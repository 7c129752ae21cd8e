package collector

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

var (
	usersDesc = desc("users",
		"Users in userRegistrationDetails by user type and admin role."+polledNote, "user_type", "admin")
	usersByFeatureDesc = desc("users_registered_by_feature",
		"Users registered, enabled or capable per feature (mfaCapable, ssprRegistered, ...), from userRegistrationDetails."+polledNote,
		"user_type", "admin", "feature")
	usersByStrengthDesc = desc("users_by_strength",
		"Users by the strongest class among their registered methods (phishing_resistant, passwordless, app, phone, none), from userRegistrationDetails."+polledNote,
		"user_type", "admin", "strength")
	usersByMethodDesc = desc("users_registered_by_method",
		"Users per registered authentication method, from userRegistrationDetails."+polledNote,
		"user_type", "admin", "method")
	usersByPreferredMethodDesc = desc("users_by_preferred_method",
		"Users per preferred second-factor method (none if unset), from userRegistrationDetails."+polledNote,
		"user_type", "admin", "method")
)

func init() {
	registerReport(config.UserRegistrationDetails, reportKind{
		new:    func() report { return &userRegistrationDetails{groupState{groups: map[config.Group]*groupRecord{}}} },
		labels: []string{"user_type", "method"},
		descs: append([]*prometheus.Desc{usersDesc, usersByFeatureDesc, usersByStrengthDesc, usersByMethodDesc, usersByPreferredMethodDesc},
			groupDescs...),
	})
}

// userRegistrationDetails exposes userRegistrationDetails, aggregated per
// user type and admin flag, and per configured group. It stands in for
// usersRegisteredByFeature and usersRegisteredByMethod, which app-only
// callers cannot use.
type userRegistrationDetails struct{ groupState }

// features are the `feature` label values of users_registered_by_feature, in order.
var features = [...]string{
	"mfaRegistered", "mfaCapable", "ssprRegistered", "ssprEnabled", "ssprCapable",
	"passwordlessCapable", "systemPreferredAuthenticationMethodEnabled",
}

// unknownValue is the user_type or admin label when Graph sends null (or an
// empty userType): neither member nor guest, neither true nor false.
const unknownValue = "unknown"

// userKind is a user's user_type and admin labels, emitted in text order.
type userKind struct{ userType, admin string }

func sortedKinds[V any](m map[userKind]V) []userKind {
	return slices.SortedFunc(maps.Keys(m), func(a, b userKind) int {
		return cmp.Or(cmp.Compare(a.userType, b.userType), cmp.Compare(a.admin, b.admin))
	})
}

// kindCounts are users of one kind: in all, per feature and per strength.
type kindCounts struct {
	users     int64
	features  [len(features)]int64 // indexed like features
	strengths [5]int64             // indexed like config.Strengths()
}

func (c *kindCounts) add(class userClass) {
	c.users++
	for f := range features {
		c.features[f] += int64(class.features >> f & 1)
	}
	c.strengths[class.strength]++
}

// samples appends the counts' series; labels precede feature or strength.
func (c *kindCounts) samples(m *snapshot, users, byFeature, byStrength *prometheus.Desc, labels ...string) {
	m.gauge(users, float64(c.users), labels...)
	for i, f := range features {
		m.gauge(byFeature, float64(c.features[i]), slices.Concat(labels, []string{f})...)
	}
	for i, s := range config.Strengths() {
		m.gauge(byStrength, float64(c.strengths[i]), slices.Concat(labels, []string{s})...)
	}
}

type tally struct {
	kindCounts
	methods   map[string]int64
	preferred map[string]int64
}

func (r *userRegistrationDetails) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	var reads *groupReads
	if len(env.tenant.Groups) > 0 && env.groups != nil {
		reads = startGroupReads(ctx, env.groups, env.tenant.Groups)
		defer reads.stop() // nothing outlives the poll
	}
	strongest := strengthOf(env.tenant.StrengthTable())
	tallies := map[userKind]*tally{}
	once := newOncePerUser()
	n, err := env.client.UserRegistrationDetailsList(ctx, func(u *graphapi.UserRegistrationDetails) error {
		if first, err := once.first(u.ID); !first {
			return err
		}
		class := tallyUser(env.labels, tallies, u, strongest)
		if reads != nil {
			reads.users.add(u.ID, class)
		}
		return nil
	})
	if err != nil {
		return nil, n, err
	}
	m := tallySamples(tallies)
	if reads != nil {
		reads.wg.Wait()
		m = append(m, r.groupState.samples(env.tenant.Groups, &reads.got, reads.users, time.Now())...)
	}
	m.gauge(reportDuplicatesDesc, float64(once.duplicates), env.report)
	env.labels.emitDropped(&m, env.report)
	return m, n, nil
}

// tallyUser counts a user in its kind's tally and returns its class.
func tallyUser(labels *labelLimit, tallies map[userKind]*tally, u *graphapi.UserRegistrationDetails, strongest func([]string) uint8) userClass {
	admin := unknownValue
	if u.IsAdmin != nil {
		admin = strconv.FormatBool(*u.IsAdmin)
	}
	kind := userKind{labels.value("user_type", cmp.Or(u.UserType, unknownValue)), admin}
	t := tallies[kind]
	if t == nil {
		t = &tally{methods: map[string]int64{}, preferred: map[string]int64{}}
		tallies[kind] = t
	}
	class := userClass{kind: kind, strength: strongest(u.MethodsRegistered)}
	for i, on := range [len(features)]bool{u.IsMfaRegistered, u.IsMfaCapable, u.IsSsprRegistered, u.IsSsprEnabled,
		u.IsSsprCapable, u.IsPasswordlessCapable, u.IsSystemPreferredAuthenticationMethodEnabled} {
		class.features |= uint8(b2i(on)) << i
	}
	t.add(class)
	labels.countOnce(t.methods, "method", u.MethodsRegistered)
	preferred := "none"
	if u.UserPreferredMethodForSecondaryAuthentication != "" {
		preferred = labels.value("method", u.UserPreferredMethodForSecondaryAuthentication)
	}
	t.preferred[preferred]++
	return class
}

// tallySamples are the tallies' series, kind by kind.
func tallySamples(tallies map[userKind]*tally) snapshot {
	var m snapshot
	for _, k := range sortedKinds(tallies) {
		t := tallies[k]
		t.samples(&m, usersDesc, usersByFeatureDesc, usersByStrengthDesc, k.userType, k.admin)
		for _, method := range slices.Sorted(maps.Keys(t.methods)) {
			m.gauge(usersByMethodDesc, float64(t.methods[method]), k.userType, k.admin, method)
		}
		for _, method := range slices.Sorted(maps.Keys(t.preferred)) {
			m.gauge(usersByPreferredMethodDesc, float64(t.preferred[method]), k.userType, k.admin, method)
		}
	}
	return m
}

// strengthOf returns a function giving the strongest class, as an index
// into config.Strengths(), among a user's methods, by table.
func strengthOf(table map[string]string) func(methods []string) uint8 {
	rank := map[string]uint8{}
	for method, class := range table {
		if i := slices.Index(config.Strengths(), class); i >= 0 {
			rank[method] = uint8(i)
		}
	}
	none := uint8(len(config.Strengths()) - 1)
	return func(methods []string) uint8 {
		best := none
		for _, method := range methods {
			if r, ok := rank[method]; ok && r < best {
				best = r
			}
		}
		return best
	}
}
