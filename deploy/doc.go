// Package deploy holds the deployment artefacts of entra-authmethods-exporter,
// which are not Go code: the Prometheus alerting and recording rules with
// their promtool unit tests (prometheus/), the Kubernetes manifests
// (kubernetes/) and the Grafana dashboards. Its tests check that they are
// valid, consistent with each other and with the runbook in docs/.
package deploy
