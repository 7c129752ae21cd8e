package collector

import (
	"context"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

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

func (userRegistrationDetails) poll(ctx context.Context, env *pollEnv) ([]prometheus.Metric, int, error) {
	groups := map[userGroup]*groupCounts{}
	n, err := env.client.UserRegistrationDetailsList(ctx, func(r *graphapi.UserRegistrationDetails) error {
		g := groups[userGroup{r.UserType, r.IsAdmin}]
		if g == nil {
			g = &groupCounts{methods: map[string]int64{}, preferred: map[string]int64{}}
			groups[userGroup{r.UserType, r.IsAdmin}] = g
		}
		g.users++
		for i, on := range [7]bool{r.IsMfaRegistered, r.IsMfaCapable, r.IsSsprRegistered, r.IsSsprEnabled,
			r.IsSsprCapable, r.IsPasswordlessCapable, r.IsSystemPreferredAuthenticationMethodEnabled} {
			g.features[i] += b2i(on)
		}
		for i, method := range r.MethodsRegistered {
			if !slices.Contains(r.MethodsRegistered[:i], method) {
				g.methods[method]++
			}
		}
		preferred := r.UserPreferredMethodForSecondaryAuthentication
		if preferred == "" {
			preferred = "none"
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
	return m.metrics, n, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
