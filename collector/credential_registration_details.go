package collector

import (
	"context"
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

var (
	credentialDetailsUsersDesc = desc("credential_details_users",
		"Users listed by credentialUserRegistrationDetails (deprecated)."+polledNote)
	credentialDetailsStatusUsersDesc = desc("credential_details_status_users",
		"Users per registration status, from credentialUserRegistrationDetails (deprecated)."+polledNote, "status")
	credentialDetailsMethodUsersDesc = desc("credential_details_method_users",
		"Users per registered method, from credentialUserRegistrationDetails (deprecated)."+polledNote, "method")
)

func init() {
	registerReport(config.CredentialRegistrationDetails, reportKind{
		new:    func() report { return credentialRegistrationDetails{} },
		labels: []string{"method"},
		descs:  []*prometheus.Desc{credentialDetailsUsersDesc, credentialDetailsStatusUsersDesc, credentialDetailsMethodUsersDesc},
	})
}

// credentialRegistrationDetails exposes credentialUserRegistrationDetails.
type credentialRegistrationDetails struct{}

func (credentialRegistrationDetails) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	var users, registered, enabled, capable, mfaRegistered int64
	byMethod := map[string]int64{}
	once := newOncePerUser()
	n, err := env.client.CredentialRegistrationDetailsList(ctx, func(r *graphapi.CredentialRegistrationDetails) error {
		if first, err := once.first(r.ID); !first {
			return err
		}
		users++
		registered += b2i(r.IsRegistered)
		enabled += b2i(r.IsEnabled)
		capable += b2i(r.IsCapable)
		mfaRegistered += b2i(r.IsMfaRegistered)
		env.labels.countOnce(byMethod, "method", r.AuthMethods)
		return nil
	})
	if err != nil {
		return nil, n, err
	}
	var m snapshot
	m.gauge(credentialDetailsUsersDesc, float64(users))
	m.gauge(credentialDetailsStatusUsersDesc, float64(registered), "registered")
	m.gauge(credentialDetailsStatusUsersDesc, float64(enabled), "enabled")
	m.gauge(credentialDetailsStatusUsersDesc, float64(capable), "capable")
	m.gauge(credentialDetailsStatusUsersDesc, float64(mfaRegistered), "mfaRegistered")
	for _, method := range slices.Sorted(maps.Keys(byMethod)) {
		m.gauge(credentialDetailsMethodUsersDesc, float64(byMethod[method]), method)
	}
	m.gauge(reportDuplicatesDesc, float64(once.duplicates), env.report)
	env.labels.emitDropped(&m, env.report)
	return m, n, nil
}
