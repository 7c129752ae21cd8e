package collector

import (
	"context"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

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
