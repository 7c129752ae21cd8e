package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// userMFASignInSummary exposes the newest day of userMfaSignInSummary.
type userMFASignInSummary struct{}

func (userMFASignInSummary) poll(ctx context.Context, env *pollEnv) ([]prometheus.Metric, int, error) {
	var newest *graphapi.UserMFASignInSummary
	n, err := env.client.UserMFASignInSummaries(ctx, func(r *graphapi.UserMFASignInSummary) error {
		if newest == nil || r.CreatedDateTime.After(newest.CreatedDateTime.Time) {
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
		m.gauge(dailySigninsDesc, float64(newest.SingleFactorSignIns), "single")
		m.gauge(dailySigninsDesc, float64(newest.MultiFactorSignIns), "multi")
		m.gauge(dailySigninsTimestampDesc, unixSeconds(newest.CreatedDateTime))
	}
	return m.metrics, n, nil
}

func unixSeconds(t graphapi.Time) float64 { return float64(t.UnixNano()) / 1e9 }
