package collector

import (
	"context"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// userMFASignInSummary exposes the newest day of userMfaSignInSummary.
type userMFASignInSummary struct{}

func (userMFASignInSummary) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	day, n, err := newest(ctx, env.client.UserMFASignInSummaries, func(r *graphapi.UserMFASignInSummary) time.Time { return r.CreatedDateTime.Time })
	if err != nil {
		return nil, n, err
	}
	m := env.metrics()
	if day != nil {
		m.gauge(dailySigninsDesc, float64(day.SingleFactorSignIns), "single")
		m.gauge(dailySigninsDesc, float64(day.MultiFactorSignIns), "multi")
		m.gauge(dailySigninsTimestampDesc, unixSeconds(day.CreatedDateTime.Time))
	}
	return m.metrics, n, nil
}
