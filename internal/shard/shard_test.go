package shard

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestOfIsStable(t *testing.T) {
	// Fixed expectations: a change of hash would move tenants between
	// shards on upgrade, and their counters would restart.
	for name, want := range map[string]int{"contoso": 1, "fabrikam": 2, "tailspin": 2, "default": 0} {
		if got := Of(name, 3); got != want {
			t.Errorf("Of(%q, 3) = %d, want %d", name, got, want)
		}
	}
	if Of("anything", 1) != 0 {
		t.Error("one shard holds every tenant")
	}
}

type tenant struct{ name string }

func TestMineSplitsEveryTenantOnce(t *testing.T) {
	var tenants []tenant
	for i := range 30 {
		tenants = append(tenants, tenant{fmt.Sprintf("customer-%02d", i)})
	}
	input := slices.Clone(tenants)
	name := func(t tenant) string { return t.name }
	seen := map[string]int{}
	for s := range 3 {
		part := Mine(tenants, name, s, 3)
		if len(part) < 5 {
			t.Errorf("shard %d has %d of 30 tenants: the hash spreads them badly", s, len(part))
		}
		for _, tn := range part {
			seen[tn.name]++
		}
		if !slices.IsSortedFunc(part, func(a, b tenant) int { return strings.Compare(a.name, b.name) }) {
			t.Errorf("shard %d: tenants out of order: %v", s, part)
		}
	}
	for _, tn := range tenants {
		if seen[tn.name] != 1 {
			t.Errorf("%s in %d shards, want 1", tn.name, seen[tn.name])
		}
	}
	if !slices.Equal(tenants, input) {
		t.Error("Mine changed its input")
	}
	if got := Mine(tenants, name, 0, 1); !slices.Equal(got, tenants) {
		t.Error("one shard: every tenant")
	}
}

func TestShare(t *testing.T) {
	for _, c := range []struct{ budget, total, want int }{
		{122, 3, 40}, // 122/3
		{2, 3, 1},    // at least 1
		{122, 1, 122},
	} {
		if got := Share(c.budget, c.total); got != c.want {
			t.Errorf("Share(%d, %d) = %d, want %d", c.budget, c.total, got, c.want)
		}
	}
}

func TestCheckAndFromHostname(t *testing.T) {
	for _, c := range []struct {
		shard, total int
		err          string
	}{
		{0, 1, ""}, {2, 3, ""},
		{3, 3, "--shard must be between 0 and 2 (--total-shards 3), got 3"},
		{-1, 3, "--shard must be between 0 and 2"},
		{0, 0, "--total-shards must be at least 1, got 0"},
	} {
		err := Check(c.shard, c.total)
		if (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("Check(%d, %d) = %v, want %q", c.shard, c.total, err, c.err)
		}
	}
	for host, want := range map[string]int{"entra-authmethods-exporter-0": 0, "x-12": 12, "a-b-3": 3} {
		if got, err := FromHostname(host); err != nil || got != want {
			t.Errorf("FromHostname(%q) = %d, %v; want %d", host, got, err, want)
		}
	}
	for _, host := range []string{"exporter", "exporter-", "exporter-01", "web-abc", "x-12345678901"} {
		if _, err := FromHostname(host); err == nil {
			t.Errorf("FromHostname(%q): no error", host)
		}
	}
}

func TestCollector(t *testing.T) {
	want := `# HELP entra_authmethods_shard_info Constant 1, with the shard of the tenants this process polls and the number of shards.
# TYPE entra_authmethods_shard_info gauge
entra_authmethods_shard_info{shard="2",total_shards="3"} 1
# HELP entra_authmethods_shards_configured The number of shards (--total-shards) the tenants are split into; each shard is one exporter process.
# TYPE entra_authmethods_shards_configured gauge
entra_authmethods_shards_configured 3
`
	if err := testutil.CollectAndCompare(Collector(2, 3), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
