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
	credentialUsersDesc = desc("credential_users",
		"Users with accountEnabled true, from getCredentialUserRegistrationCount (totalUserCount)."+polledNote)
	credentialRegistrationUsersDesc = desc("credential_registration_users",
		"Users per registration status, from getCredentialUserRegistrationCount."+polledNote, "status")
)

func init() {
	registerReport(config.CredentialRegistrationCount, reportKind{
		new:    func() report { return credentialRegistrationCount{} },
		labels: []string{"status"},
		descs:  []*prometheus.Desc{credentialUsersDesc, credentialRegistrationUsersDesc},
	})
}

// credentialRegistrationCount exposes getCredentialUserRegistrationCount.
type credentialRegistrationCount struct{}

func (credentialRegistrationCount) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	var total int64
	byStatus := map[string]int64{}
	n, err := env.client.CredentialRegistrationCounts(ctx, func(r *graphapi.CredentialRegistrationCount) error {
		total += int64(r.TotalUserCount)
		for _, c := range r.UserRegistrationCounts {
			byStatus[env.labels.value("status", c.Status())] += int64(c.Count())
		}
		return nil
	})
	if err != nil || n == 0 { // no record is no data, not zero users
		return nil, n, err
	}
	var m snapshot
	m.gauge(credentialUsersDesc, float64(total))
	for _, s := range slices.Sorted(maps.Keys(byStatus)) {
		m.gauge(credentialRegistrationUsersDesc, float64(byStatus[s]), s)
	}
	env.labels.emitDropped(&m, env.report)
	return m, n, nil
}
