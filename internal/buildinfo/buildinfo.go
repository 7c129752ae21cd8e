// Package buildinfo fills in the fields of prometheus/common/version that a
// release build stamps with -ldflags (see .goreleaser.yaml), from what the
// Go toolchain records in every binary, when they were not stamped: the
// module version of a `go install ...@v0.1.0` build (or the version Go
// derives from the checkout's tags and commit), and the commit's time. So
// every build can say what it is.
package buildinfo

import (
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
	if v == "" {
		v = "dev"
	}
	if date == "" && info != nil {
		for _, s := range info.Settings {
			if s.Key == "vcs.time" {
				date = s.Value + " (commit)"
			}
		}
	}
	return v, date
}
