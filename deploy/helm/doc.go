// Package helm holds the Helm chart of entra-authmethods-exporter
// (entra-authmethods-exporter/, a chart, not Go code). Its tests render the
// chart with helm, for the defaults, for ci/all-values.yaml and for single
// options, decode every object and check it against the exporter's needs and
// against the rule file and dashboards it ships through symbolic links.
package helm
