// Package helm holds the Helm chart of entra-authmethods-exporter
// (entra-authmethods-exporter/, a chart, not Go code). Its tests render the
// chart with helm, for the defaults, for the ci/ values files and for single
// options, with and without the Prometheus Operator's API, decode every
// object and check it against the exporter's needs and against the rule file
// and dashboards it ships, copies under files/ kept identical to
// deploy/prometheus and deploy/grafana-dashboards (go generate rewrites
// them); and validate every rendering with kubeconform against schemas that
// kubeschema/ makes offline.
package helm

//go:generate go test . -run TestChartFilesAreCopies -update
