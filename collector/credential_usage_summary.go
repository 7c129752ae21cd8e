package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// The report's metrics.
var (
	credentialUsageActivitiesDesc = desc("credential_usage_activities",
		"Successful plus failed registration or reset activities in the period, from getCredentialUsageSummary (deprecated)."+polledNote,
		"period", "feature", "method")
	credentialUsageFailedActivitiesDesc = desc("credential_usage_failed_activities",
		"Failed registration or reset activities in the period, from getCredentialUsageSummary (deprecated)."+polledNote,
		"period", "feature", "method")
)

func init() {
	registerReport(config.CredentialUsageSummary, reportKind{
		new:    func() report { return credentialUsageSummary{} },
		labels: []string{"feature", "method"},
		descs:  []*prometheus.Desc{credentialUsageActivitiesDesc, credentialUsageFailedActivitiesDesc},
	})
}

// credentialUsageSummary exposes getCredentialUsageSummary, one request per
// configured period.
type credentialUsageSummary struct{}

func (credentialUsageSummary) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	m := env.metrics()
	records := 0
	for _, period := range env.tenant.UsageSummaryPeriods {
		type counts struct{ all, failed int64 }
		byKey := map[featureMethod]*counts{}
		var order []featureMethod
		n, err := env.client.CredentialUsageSummaries(ctx, period, func(r *graphapi.CredentialUsageSummary) error {
			k := featureMethod{env.labels.value("feature", r.Feature), env.labels.value("method", r.AuthMethod)}
			c := byKey[k]
			if c == nil {
				c = &counts{}
				byKey[k] = c
				order = append(order, k)
			}
			c.all += int64(r.SuccessfulActivityCount) + int64(r.FailureActivityCount)
			c.failed += int64(r.FailureActivityCount)
			return nil
		})
		records += n
		if err != nil {
			return nil, records, err
		}
		for _, k := range order {
			m.gauge(credentialUsageActivitiesDesc, float64(byKey[k].all), period, k.feature, k.method)
			m.gauge(credentialUsageFailedActivitiesDesc, float64(byKey[k].failed), period, k.feature, k.method)
		}
	}
	env.labels.emitDropped(m, env.report)
	return m.metrics, records, nil
}
