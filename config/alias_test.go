package config

import (
	"fmt"
	"maps"
	"runtime"
	"strings"
	"testing"
	"time"
)

// aliasedTenant returns a file of one anchored tenant, whose keys after its
// name are those given, followed by n aliases of it: a few kilobytes that,
// expanded, used to make millions of problems (or tenants).
func aliasedTenant(keys []string, n int) string {
	var b strings.Builder
	b.WriteString("tenants:\n  - &tenant\n    name: contoso\n")
	for _, k := range keys {
		b.WriteString("    " + k + "\n")
	}
	b.WriteString(strings.Repeat("  - *tenant\n", n))
	return b.String()
}

// parseCost parses data, returning the time and bytes allocated it took,
// and its error. (No test of the package runs in parallel with it.)
func parseCost(t *testing.T, data string) (time.Duration, uint64, error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	c, err := Parse([]byte(data), "alias.yaml")
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatalf("accepted: %d tenants", len(c.Tenants))
	}
	return took, after.TotalAlloc - before.TotalAlloc, err
}

// A small file whose aliases expand past the budget is refused with one
// problem naming the alias, at once and in little memory, whatever the
// aliased nodes are: unknown keys (once 300,000 problems), valid ones
// (once 1,500 tenants to build), or values of keys only decoded to be
// refused, which checkShape does not look into but the decoder expands.
func TestAliasBudget(t *testing.T) {
	var unknown, labels []string
	for i := range 200 {
		unknown = append(unknown, fmt.Sprintf("unknown_setting_number_%03d: x", i))
		labels = append(labels, fmt.Sprintf("  label_number_%03d: value", i))
	}
	// Ten anchors, each a list of ten aliases of the one before: 10^10
	// nodes under a key (defaults: name) that is decoded to an interface.
	var laughs strings.Builder
	laughs.WriteString("defaults:\n  name:\n    - &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&laughs, "    - &l%d [%s]\n", i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	laughs.WriteString("tenants: [{name: a}]\n")

	for _, c := range []struct {
		name, data string
		line       int // of the alias that goes over the budget
	}{
		// 200 unknown keys: an alias stands for 403 nodes (the mapping, the
		// name's key and value, 400 keys and values); alias number
		// maxAliasNodes/403+1 goes over.
		{"unknown keys", aliasedTenant(unknown, 1500), 203 + maxAliasNodes/403 + 1},
		// 200 labels: 405 nodes (the labels key and mapping besides).
		{"labels", aliasedTenant(append([]string{"labels:"}, labels...), 1500), 204 + maxAliasNodes/405 + 1},
		// l1 to l3 add 12,330 nodes, l4 111,110: it goes over, on line 7.
		{"billion laughs", laughs.String(), 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			took, alloc, err := parseCost(t, c.data)
			want := fmt.Sprintf("alias.yaml: line %d: aliases expand to more than %d nodes; write what tenants share under defaults: instead", c.line, maxAliasNodes)
			if err.Error() != want {
				t.Errorf("got %.500q\nwant %q", err, want)
			}
			if took > 2*time.Second || alloc > 50<<20 {
				t.Errorf("a %d-byte file took %s and %d MB to refuse", len(c.data), took, alloc>>20)
			}
		})
	}
}

// Within the budget, the decoder may still refuse a document made mostly
// of aliases (yaml.v3 allows 99%): that is reported, not ignored with half
// the file decoded.
func TestDecoderAliasRatio(t *testing.T) {
	_, err := Parse([]byte(`tenants: [{name: a, auth: azure_cli}]
defaults:
  name:
    - &l0 [x, x, x, x, x, x, x, x, x, x]
    - &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]
    - &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]
    - [*l2, *l2, *l2, *l2, *l2]
`), "ratio.yaml")
	if want := "ratio.yaml: document contains excessive aliasing"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// Just within the budget, the decoder and build are bounded by it too; and
// anchors used as intended still work.
func TestAliasesWithinBudget(t *testing.T) {
	t.Run("shared labels", func(t *testing.T) {
		c, err := Parse([]byte(`tenants:
  - name: a
    labels: &common {customer: contoso, tier: gold}
  - {name: b, labels: *common}
  - {name: c, labels: *common}
  - {name: d, labels: *common, auth: azure_cli}
`), "anchors.yaml")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"customer": "contoso", "tier": "gold"}
		for _, tn := range c.Tenants {
			if !maps.Equal(tn.Labels, want) {
				t.Errorf("tenant %s: labels %v", tn.Name, tn.Labels)
			}
		}
		c.Tenants[0].Labels["tier"] = "silver"
		if c.Tenants[1].Labels["tier"] != "gold" {
			t.Error("tenants share one labels map")
		}
	})

	t.Run("near the budget", func(t *testing.T) {
		// 32 labels are 65 nodes: n aliases of them are just within.
		n := maxAliasNodes / 65
		var b strings.Builder
		b.WriteString("tenants:\n  - name: t0\n    labels: &l {")
		for i := range 32 {
			fmt.Fprintf(&b, "l%d: v, ", i)
		}
		b.WriteString("}\n")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "  - {name: t%d, labels: *l}\n", i)
		}
		start := time.Now()
		c, err := Parse([]byte(b.String()), "near.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Tenants) != n+1 || len(c.Tenants[n].Labels) != 32 {
			t.Errorf("got %d tenants, the last with %d labels", len(c.Tenants), len(c.Tenants[len(c.Tenants)-1].Labels))
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("took %s", took)
		}
		// One alias more goes over.
		_, err = Parse([]byte(b.String()+fmt.Sprintf("  - {name: t%d, labels: *l}\n", n+1)), "over.yaml")
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("over.yaml: line %d: aliases expand to more than %d nodes", n+4, maxAliasNodes)) {
			t.Errorf("one alias more: got %v", err)
		}
	})
}

// At most 100 problems are listed, and a last line says there are more,
// from every stage that reports them: the shape check, the globals and the
// tenants.
func TestProblemsCapped(t *testing.T) {
	var unknownKeys, badMetrics, badTenants strings.Builder
	for i := range 300 {
		fmt.Fprintf(&unknownKeys, "unknown_%d: x\n", i)
		fmt.Fprintf(&badMetrics, "  - bad_%d\n", i)
		fmt.Fprintf(&badTenants, "  - {name: 'bad name %d'}\n", i)
	}
	for name, data := range map[string]string{
		"shape":   unknownKeys.String() + "tenants: [{name: a}]\n",
		"globals": "exclude_metrics:\n" + badMetrics.String() + "tenants: [{name: a}]\n",
		"tenants": "tenants:\n" + badTenants.String(),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(data), "many.yaml")
			if err == nil {
				t.Fatal("accepted")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 101 || lines[100] != "many.yaml: ... and more problems; fix these first" {
				t.Errorf("%d lines, the last %q", len(lines), lines[len(lines)-1])
			}
			for _, l := range lines[:100] {
				if !strings.HasPrefix(l, "many.yaml: ") || strings.Contains(l, "more problems") {
					t.Errorf("line %q", l)
				}
			}
		})
	}
}
