package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// The report's metrics.
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
		new:    func() report { return newCredentialUsageDetails() },
		labels: []string{"feature", "method", "reason"},
		descs:  []*prometheus.Desc{credentialUsageEventsDesc, credentialUsageEventFailuresDesc, eventKeysEvictedDesc},
	})
}

// credentialUsageDetails exposes userCredentialUsageDetails as distinct-event counters.
type credentialUsageDetails struct{ events *distinctEvents }

func newCredentialUsageDetails() *credentialUsageDetails {
	return &credentialUsageDetails{events: newDistinctEvents()}
}

func (r *credentialUsageDetails) poll(ctx context.Context, env *pollEnv) (snapshot, int, error) {
	p := r.events.begin(env.labels)
	n, err := env.client.CredentialUsageDetailsList(ctx, func(e *graphapi.Event) error {
		p.add(e)
		return nil
	})
	if err != nil {
		return nil, n, err
	}
	p.commit(env.now, env.retention)
	m := env.metrics()
	r.events.emit(m, credentialUsageEventsDesc, credentialUsageEventFailuresDesc)
	m.counter(eventKeysEvictedDesc, r.events.evicted, config.CredentialUsageDetails)
	m.gauge(reportDuplicatesDesc, float64(p.duplicates), env.report)
	env.labels.emitDropped(m, env.report)
	return m.metrics, n, nil
}
