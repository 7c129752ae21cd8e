package collector

import (
	"maps"
	"slices"
	"testing"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
)

// TestEveryReportIsRegistered: the reports the configuration accepts are
// exactly those registered, each with a factory and its families; the
// families a report emits are described (the pedantic registry of the
// golden tests checks that for every report's output).
func TestEveryReportIsRegistered(t *testing.T) {
	if got, want := slices.Sorted(maps.Keys(reports)), slices.Sorted(slices.Values(config.AllReports())); !slices.Equal(got, want) {
		t.Fatalf("registered reports %v, configuration's %v", got, want)
	}
	described := allDescs()
	for name, k := range reports {
		if k.new == nil || k.new() == nil {
			t.Errorf("%s: no factory", name)
		}
		if len(k.descs) == 0 {
			t.Errorf("%s: no metric families", name)
		}
		for _, d := range k.descs {
			if !slices.Contains(described, d) {
				t.Errorf("%s: %v not described", name, d)
			}
			if families[d].Name == "" {
				t.Errorf("%s: %v not made by desc()", name, d)
			}
		}
	}
}
