// Package shard splits a configuration's tenants among processes: with
// --total-shards N, process --shard i polls only the tenants whose name
// hashes to i, so N replicas with one configuration poll every tenant
// exactly once between them. It knows tenants by their names only.
package shard

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Of returns the shard of the tenant with the given name among total: FNV-1a
// of the name, which never changes between versions or processes.
func Of(tenant string, total int) int {
	h := fnv.New64a()
	h.Write([]byte(tenant))
	return int(h.Sum64() % uint64(total))
}

// Check validates a shard number against the number of shards.
func Check(shard, total int) error {
	switch {
	case total < 1:
		return fmt.Errorf("--total-shards must be at least 1, got %d", total)
	case shard < 0 || shard >= total:
		return fmt.Errorf("--shard must be between 0 and %d (--total-shards %d), got %d", total-1, total, shard)
	}
	return nil
}

// ordinalRE matches a StatefulSet pod's name, <statefulset>-<ordinal>.
var ordinalRE = regexp.MustCompile(`-(0|[1-9][0-9]{0,8})$`)

// FromHostname returns the ordinal of a StatefulSet pod from its host name.
func FromHostname(hostname string) (int, error) {
	m := ordinalRE.FindStringSubmatch(hostname)
	if m == nil {
		return 0, fmt.Errorf("host name %q does not end in -<number>, as a StatefulSet pod's does", hostname)
	}
	return strconv.Atoi(m[1])
}

// Mine returns, in order, the items (tenants) whose name hashes to shard
// among total. items itself is not changed.
func Mine[T any](items []T, name func(T) string, shard, total int) []T {
	return slices.DeleteFunc(slices.Clone(items), func(it T) bool { return Of(name(it), total) != shard })
}

// Share divides a budget each shard spends (graph_app_rate_limit) among
// total shards: an even share, at least 1; a single shard has it whole.
func Share(budget, total int) int {
	if total <= 1 {
		return budget
	}
	return max(1, budget/total)
}

var (
	infoDesc = prometheus.NewDesc("entra_authmethods_shard_info",
		"Constant 1, with the shard of the tenants this process polls and the number of shards.", []string{"shard", "total_shards"}, nil)
	configuredDesc = prometheus.NewDesc("entra_authmethods_shards_configured",
		"The number of shards (--total-shards) the tenants are split into; each shard is one exporter process.", nil, nil)
)

// Collector returns the shard's metrics: shard_info and shards_configured.
func Collector(shard, total int) prometheus.Collector {
	return collector{
		prometheus.MustNewConstMetric(infoDesc, prometheus.GaugeValue, 1, strconv.Itoa(shard), strconv.Itoa(total)),
		prometheus.MustNewConstMetric(configuredDesc, prometheus.GaugeValue, float64(total)),
	}
}

type collector []prometheus.Metric

func (c collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}
