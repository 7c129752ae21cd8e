package shard

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
)

// parseConfig parses fmt.Sprintf(format, args...) as the exporter parses its
// configuration file, with the file's defaults and validation.
func parseConfig(t testing.TB, format string, args ...any) *config.Config {
	t.Helper()
	cfg, err := config.Parse(fmt.Appendf(nil, format, args...), "test config")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

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

func TestSelectSplitsEveryTenantOnce(t *testing.T) {
	var tenants strings.Builder
	for i := range 30 {
		fmt.Fprintf(&tenants, "  - name: customer-%02d\n", i)
	}
	cfg := parseConfig(t, `graph_app_rate_limit: {requests: 122}
tenants:
%s`, tenants.String())
	seen := map[string]int{}
	for s := range 3 {
		part := Select(cfg, s, 3)
		if part.GraphAppRateLimit.Requests != 40 {
			t.Errorf("shard %d: app budget %d, want 122/3 = 40", s, part.GraphAppRateLimit.Requests)
		}
		if len(part.Tenants) < 5 {
			t.Errorf("shard %d has %d of 30 tenants: the hash spreads them badly", s, len(part.Tenants))
		}
		for _, tn := range part.Tenants {
			seen[tn.Name]++
		}
	}
	for _, tn := range cfg.Tenants {
		if seen[tn.Name] != 1 {
			t.Errorf("%s in %d shards, want 1", tn.Name, seen[tn.Name])
		}
	}
	if len(cfg.Tenants) != 30 || cfg.GraphAppRateLimit.Requests != 122 {
		t.Error("Select changed its input")
	}
	if Select(cfg, 0, 1) != cfg {
		t.Error("one shard: the configuration as it is")
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
