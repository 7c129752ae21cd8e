package collector

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

var (
	dailySigninsDesc = desc("daily_signins",
		"Single-factor and multi-factor sign-ins on the newest day of userMfaSignInSummary."+polledNote, "factor")
	dailySigninsTimestampDesc = desc("daily_signins_timestamp_seconds",
		"The day (createdDateTime) entra_authmethods_daily_signins describes, in Unix seconds."+polledNote)
)

func init() {
	registerReport(config.UserMFASignInSummary, reportKind{
		new:   func() report { return userMFASignInSummary{} },
		descs: []*prometheus.Desc{dailySigninsDesc, dailySigninsTimestampDesc},
	})
}

// userMFASignInSummary exposes the newest day of userMfaSignInSummary.
type userMFASignInSummary struct{}

func (userMFASignInSummary) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	return newestDay(ctx, env.client.UserMFASignInSummaries,
		func(r *graphapi.UserMFASignInSummary) time.Time { return r.CreatedDateTime.Time }, dailySigninsTimestampDesc,
		func(m *snapshot, day *graphapi.UserMFASignInSummary) {
			m.gauge(dailySigninsDesc, float64(day.SingleFactorSignIns), "single")
			m.gauge(dailySigninsDesc, float64(day.MultiFactorSignIns), "multi")
		})
}
