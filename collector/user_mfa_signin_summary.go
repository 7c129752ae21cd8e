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

// newest reads a report of one row per day and keeps the newest row (nil
// when there is none), whatever order Graph sends the days in.
func newest[T any](ctx context.Context, list func(context.Context, func(*T) error) (int, error), day func(*T) time.Time) (*T, int, error) {
	var best *T
	n, err := list(ctx, func(r *T) error {
		if best == nil || day(r).After(day(best)) {
			c := *r // r is reused by the decoder
			best = &c
		}
		return nil
	})
	return best, n, err
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
