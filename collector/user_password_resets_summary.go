package collector

import (
	"context"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// userPasswordResetsSummary exposes the newest day of userPasswordResetsAndChangesSummary.
type userPasswordResetsSummary struct{}

func (userPasswordResetsSummary) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	day, n, err := newest(ctx, env.client.UserPasswordResetsSummaries, func(r *graphapi.UserPasswordResetsSummary) time.Time { return r.AggregatedDateTime.Time })
	if err != nil {
		return nil, n, err
	}
	m := env.metrics()
	if day != nil {
		m.gauge(dailyPasswordOperationsDesc, float64(day.PasswordResetsByAdminCount), "admin_reset")
		m.gauge(dailyPasswordOperationsDesc, float64(day.PasswordResetsSelfServiceCount), "self_service_reset")
		m.gauge(dailyPasswordOperationsDesc, float64(day.ChangePasswordSelfServiceCount), "self_service_change")
		m.gauge(dailyPasswordOperationsTimestampDesc, unixSeconds(day.AggregatedDateTime.Time))
	}
	return m.metrics, n, nil
}
