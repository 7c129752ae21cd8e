// Package buildinfo fills in the fields of prometheus/common/version that a
// release build stamps with -ldflags (.goreleaser.yaml), when they were not,
// from what Go records in every binary: the module version (of `go install
// ...@v0.1.0`, or derived from the checkout) and the commit's time.
package buildinfo

import (
	"cmp"
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

// Fill sets version.Version and version.BuildDate where they are empty;
// the revision needs nothing (version.GetRevision reads it from the build).
func Fill() {
	info, _ := debug.ReadBuildInfo()
	version.Version, version.BuildDate = fill(info, version.Version, version.BuildDate)
}

// fill returns the version and build date to use, given what was stamped.
func fill(info *debug.BuildInfo, v, date string) (string, string) {
	if v == "" && info != nil && info.Main.Version != "(devel)" {
		v = strings.TrimPrefix(info.Main.Version, "v")
	}
	v = cmp.Or(v, "dev")
	if date == "" && info != nil {
		for _, s := range info.Settings {
			if s.Key == "vcs.time" {
				date = s.Value + " (commit)"
			}
		}
	}
	return v, date
}
