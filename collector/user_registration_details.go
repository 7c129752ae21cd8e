package collector

import (
	"context"
	"errors"
	"hash/maphash"
	"slices"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// userRegistrationDetails exposes userRegistrationDetails, aggregated per
// user type and admin flag. It stands in for usersRegisteredByFeature and
// usersRegisteredByMethod, which app-only callers cannot use.
type userRegistrationDetails struct{}

// features are the spec's feature label values, in order.
var features = []string{
	"mfaRegistered", "mfaCapable", "ssprRegistered", "ssprEnabled", "ssprCapable",
	"passwordlessCapable", "systemPreferredAuthenticationMethodEnabled",
}

type userGroup struct {
	userType string
	admin    bool
}

type groupCounts struct {
	users     int64
	features  [7]int64 // indexed like features
	methods   map[string]int64
	preferred map[string]int64
}

func (userRegistrationDetails) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	groups := map[userGroup]*groupCounts{}
	once := newOncePerUser()
	n, err := env.client.UserRegistrationDetailsList(ctx, func(r *graphapi.UserRegistrationDetails) error {
		if first, err := once.first(r.ID); !first {
			return err
		}
		key := userGroup{env.labels.value("user_type", r.UserType), r.IsAdmin}
		g := groups[key]
		if g == nil {
			g = &groupCounts{methods: map[string]int64{}, preferred: map[string]int64{}}
			groups[key] = g
		}
		g.users++
		for i, on := range [7]bool{r.IsMfaRegistered, r.IsMfaCapable, r.IsSsprRegistered, r.IsSsprEnabled,
			r.IsSsprCapable, r.IsPasswordlessCapable, r.IsSystemPreferredAuthenticationMethodEnabled} {
			g.features[i] += b2i(on)
		}
		countOnce(g.methods, r.MethodsRegistered, func(m string) string { return env.labels.value("method", m) })
		preferred := "none"
		if r.UserPreferredMethodForSecondaryAuthentication != "" {
			preferred = env.labels.value("method", r.UserPreferredMethodForSecondaryAuthentication)
		}
		g.preferred[preferred]++
		return nil
	})
	if err != nil {
		return nil, n, err
	}
	keys := make([]userGroup, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b userGroup) int {
		if a.userType != b.userType {
			if a.userType < b.userType {
				return -1
			}
			return 1
		}
		return int(b2i(a.admin) - b2i(b.admin))
	})
	m := env.metrics()
	for _, k := range keys {
		g, admin := groups[k], boolLabel(k.admin)
		m.gauge(usersDesc, float64(g.users), k.userType, admin)
		for i, f := range features {
			m.gauge(usersByFeatureDesc, float64(g.features[i]), k.userType, admin, f)
		}
		for _, method := range sortedKeys(g.methods) {
			m.gauge(usersByMethodDesc, float64(g.methods[method]), k.userType, admin, method)
		}
		for _, method := range sortedKeys(g.preferred) {
			m.gauge(usersByPreferredMethodDesc, float64(g.preferred[method]), k.userType, admin, method)
		}
	}
	m.gauge(reportDuplicatesDesc, float64(once.duplicates), env.report)
	env.labels.emitDropped(m, env.report)
	return m.metrics, n, nil
}

// oncePerUser tells each user's first row in a poll from repeats (a user
// Graph sends twice, on two pages), by a seeded 64-bit hash of the user's
// id: about 16 bytes per user for the length of a poll.
type oncePerUser struct {
	seed       maphash.Seed
	seen       map[uint64]struct{}
	duplicates int
}

func newOncePerUser() *oncePerUser {
	return &oncePerUser{seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}}
}

// first reports whether this is the user's first row. A row without an id
// is refused as decode: every user row of these reports has one.
func (o *oncePerUser) first(id string) (bool, error) {
	if id == "" {
		return false, &graphapi.Error{Reason: graphapi.ReasonDecode, Err: errors.New("a user row without an id")}
	}
	h := maphash.String(o.seed, id)
	if _, dup := o.seen[h]; dup {
		o.duplicates++
		return false, nil
	}
	o.seen[h] = struct{}{}
	return true, nil
}

// countOnce adds one to counts for each distinct value of values as label
// maps it (two values may both become "other", or cut to the same text).
func countOnce(counts map[string]int64, values []string, label func(string) string) {
	done := make([]string, 0, len(values))
	for _, v := range values {
		if l := label(v); !slices.Contains(done, l) {
			done = append(done, l)
			counts[l]++
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
