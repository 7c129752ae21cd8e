package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// userPasswordResetsSummary exposes the newest day of userPasswordResetsAndChangesSummary.
type userPasswordResetsSummary struct{}

func (userPasswordResetsSummary) poll(ctx context.Context, env *pollEnv) ([]prometheus.Metric, int, error) {
	var newest *graphapi.UserPasswordResetsSummary
	n, err := env.client.UserPasswordResetsSummaries(ctx, func(r *graphapi.UserPasswordResetsSummary) error {
		if newest == nil || r.AggregatedDateTime.After(newest.AggregatedDateTime.Time) {
			c := *r
			newest = &c
		}
		return nil
	})
	if err != nil {
		return nil, n, err
	}
	m := env.metrics()
	if newest != nil {
		m.gauge(dailyPasswordOperationsDesc, float64(newest.PasswordResetsByAdminCount), "admin_reset")
		m.gauge(dailyPasswordOperationsDesc, float64(newest.PasswordResetsSelfServiceCount), "self_service_reset")
		m.gauge(dailyPasswordOperationsDesc, float64(newest.ChangePasswordSelfServiceCount), "self_service_change")
		m.gauge(dailyPasswordOperationsTimestampDesc, unixSeconds(newest.AggregatedDateTime))
	}
	return m.metrics, n, nil
}
