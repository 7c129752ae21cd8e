package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFill(t *testing.T) {
	installed := &debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.time", Value: "2026-11-28T10:00:00Z"}}}
	for _, c := range []struct {
		name                 string
		info                 *debug.BuildInfo
		stamped, date        string
		wantVersion, wantDay string
	}{
		{"release build", installed, "0.2.0", "20261128-10:00:00", "0.2.0", "20261128-10:00:00"},
		{"go install @v0.1.0", installed, "", "", "0.1.0", "2026-11-28T10:00:00Z (commit)"},
		{"a checkout between tags", &debug.BuildInfo{Main: debug.Module{Version: "v0.1.1-0.20261128100000-abcdef123456+dirty"}}, "", "",
			"0.1.1-0.20261128100000-abcdef123456+dirty", ""},
		{"no version known", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "", "", "dev", ""},
		{"no build info", nil, "", "", "dev", ""},
	} {
		v, d := fill(c.info, c.stamped, c.date)
		if v != c.wantVersion || d != c.wantDay {
			t.Errorf("%s: got %q, %q; want %q, %q", c.name, v, d, c.wantVersion, c.wantDay)
		}
	}
}
