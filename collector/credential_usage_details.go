package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
)

var (
	credentialUsageEventsDesc = desc("credential_usage_events_total",
		"Distinct registration and reset events seen in userCredentialUsageDetails (deprecated) since the exporter started."+polledNote,
		"feature", "method")
	credentialUsageEventFailuresDesc = desc("credential_usage_event_failures_total",
		"Distinct failed registration and reset events seen in userCredentialUsageDetails (deprecated) since the exporter started."+polledNote,
		"feature", "method", "reason")
)

func init() {
	registerReport(config.CredentialUsageDetails, reportKind{
		new:    func() report { return credentialUsageDetails{newDistinctEvents()} },
		labels: []string{"feature", "method", "reason"},
		descs:  []*prometheus.Desc{credentialUsageEventsDesc, credentialUsageEventFailuresDesc, eventKeysEvictedDesc},
	})
}

// credentialUsageDetails exposes userCredentialUsageDetails as distinct-event counters.
type credentialUsageDetails struct{ events *distinctEvents }

func (r credentialUsageDetails) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	return r.events.poll(ctx, env, env.client.CredentialUsageDetailsList, credentialUsageEventsDesc, credentialUsageEventFailuresDesc, nil)
}
