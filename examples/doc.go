// Package examples holds example deployments of entra-authmethods-exporter,
// which are not Go code: a hardened systemd unit (systemd/), a
// docker-compose demo with Prometheus and Grafana (docker-compose/), and
// scrape configurations for Grafana Alloy (alloy/) and a Prometheus agent
// (prometheus-agent/). Its tests check them as far as a machine without a
// container engine or Grafana allows.
package examples
