package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

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

// credentialUsageSummary exposes getCredentialUsageSummary, one request per period.
type credentialUsageSummary struct{}

func (credentialUsageSummary) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	var m snapshot
	records := 0
	for _, period := range env.tenant.UsageSummaryPeriods {
		all, failed := map[featureMethod]int64{}, map[featureMethod]int64{}
		n, err := env.client.CredentialUsageSummaries(ctx, period, func(r *graphapi.CredentialUsageSummary) error {
			k := featureMethod{env.labels.value("feature", r.Feature), env.labels.value("method", r.AuthMethod)}
			all[k] += int64(r.SuccessfulActivityCount) + int64(r.FailureActivityCount)
			failed[k] += int64(r.FailureActivityCount)
			return nil
		})
		records += n
		if err != nil {
			return nil, records, err
		}
		for _, k := range sortedFeatureMethods(all) {
			m.gauge(credentialUsageActivitiesDesc, float64(all[k]), period, k.feature, k.method)
			m.gauge(credentialUsageFailedActivitiesDesc, float64(failed[k]), period, k.feature, k.method)
		}
	}
	env.labels.emitDropped(&m, env.report)
	return m, records, nil
}
