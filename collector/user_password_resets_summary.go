package collector

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

var (
	dailyPasswordOperationsDesc = desc("daily_password_operations",
		"Admin resets, self-service resets and self-service changes of passwords on the newest day of userPasswordResetsAndChangesSummary."+polledNote,
		"operation")
	dailyPasswordOperationsTimestampDesc = desc("daily_password_operations_timestamp_seconds",
		"The day (aggregatedDateTime) entra_authmethods_daily_password_operations describes, in Unix seconds."+polledNote)
)

func init() {
	registerReport(config.UserPasswordResetsSummary, reportKind{
		new:   func() report { return userPasswordResetsSummary{} },
		descs: []*prometheus.Desc{dailyPasswordOperationsDesc, dailyPasswordOperationsTimestampDesc},
	})
}

// userPasswordResetsSummary exposes the newest day of userPasswordResetsAndChangesSummary.
type userPasswordResetsSummary struct{}

func (userPasswordResetsSummary) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	return newestDay(ctx, env.client.UserPasswordResetsSummaries,
		func(r *graphapi.UserPasswordResetsSummary) time.Time { return r.AggregatedDateTime.Time }, dailyPasswordOperationsTimestampDesc,
		func(m *snapshot, day *graphapi.UserPasswordResetsSummary) {
			m.gauge(dailyPasswordOperationsDesc, float64(day.PasswordResetsByAdminCount), "admin_reset")
			m.gauge(dailyPasswordOperationsDesc, float64(day.PasswordResetsSelfServiceCount), "self_service_reset")
			m.gauge(dailyPasswordOperationsDesc, float64(day.ChangePasswordSelfServiceCount), "self_service_change")
		})
}
