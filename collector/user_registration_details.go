package collector

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"

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
	usersByMethodDesc = desc("users_registered_by_method",
		"Users per registered authentication method, from userRegistrationDetails."+polledNote,
		"user_type", "admin", "method")
	usersByPreferredMethodDesc = desc("users_by_preferred_method",
		"Users per preferred second-factor method (none if unset), from userRegistrationDetails."+polledNote,
		"user_type", "admin", "method")
)

func init() {
	registerReport(config.UserRegistrationDetails, reportKind{
		new:    func() report { return userRegistrationDetails{} },
		labels: []string{"user_type", "method"},
		descs:  []*prometheus.Desc{usersDesc, usersByFeatureDesc, usersByMethodDesc, usersByPreferredMethodDesc},
	})
}

// userRegistrationDetails exposes userRegistrationDetails, aggregated per
// user type and admin flag. It stands in for usersRegisteredByFeature and
// usersRegisteredByMethod, which app-only callers cannot use.
type userRegistrationDetails struct{}

// features are the `feature` label values of users_registered_by_feature, in order.
var features = [...]string{
	"mfaRegistered", "mfaCapable", "ssprRegistered", "ssprEnabled", "ssprCapable",
	"passwordlessCapable", "systemPreferredAuthenticationMethodEnabled",
}

// unknownValue is the user_type or admin label when Graph sends null (or an
// empty userType): neither member nor guest, neither true nor false.
const unknownValue = "unknown"

// userGroup is a user's user_type and admin labels, emitted in text order.
type userGroup struct{ userType, admin string }

type groupCounts struct {
	users     int64
	features  [len(features)]int64 // indexed like features
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
		admin := unknownValue
		if r.IsAdmin != nil {
			admin = strconv.FormatBool(*r.IsAdmin)
		}
		key := userGroup{env.labels.value("user_type", cmp.Or(r.UserType, unknownValue)), admin}
		g := groups[key]
		if g == nil {
			g = &groupCounts{methods: map[string]int64{}, preferred: map[string]int64{}}
			groups[key] = g
		}
		g.users++
		for i, on := range [len(features)]bool{r.IsMfaRegistered, r.IsMfaCapable, r.IsSsprRegistered, r.IsSsprEnabled,
			r.IsSsprCapable, r.IsPasswordlessCapable, r.IsSystemPreferredAuthenticationMethodEnabled} {
			g.features[i] += b2i(on)
		}
		env.labels.countOnce(g.methods, "method", r.MethodsRegistered)
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
	keys := slices.SortedFunc(maps.Keys(groups), func(a, b userGroup) int {
		return cmp.Or(cmp.Compare(a.userType, b.userType), cmp.Compare(a.admin, b.admin))
	})
	var m snapshot
	for _, k := range keys {
		g := groups[k]
		m.gauge(usersDesc, float64(g.users), k.userType, k.admin)
		for i, f := range features {
			m.gauge(usersByFeatureDesc, float64(g.features[i]), k.userType, k.admin, f)
		}
		for _, method := range slices.Sorted(maps.Keys(g.methods)) {
			m.gauge(usersByMethodDesc, float64(g.methods[method]), k.userType, k.admin, method)
		}
		for _, method := range slices.Sorted(maps.Keys(g.preferred)) {
			m.gauge(usersByPreferredMethodDesc, float64(g.preferred[method]), k.userType, k.admin, method)
		}
	}
	m.gauge(reportDuplicatesDesc, float64(once.duplicates), env.report)
	env.labels.emitDropped(&m, env.report)
	return m, n, nil
}
