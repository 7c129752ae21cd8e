// Package memlimit sets the Go runtime's memory limit (GOMEMLIMIT) below
// the memory limit of the container the process runs in, so the garbage
// collector works harder before the kernel's OOM killer steps in.
package memlimit

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
)

// Apply sets the Go memory limit to ratio (0 < ratio <= 1) of the cgroup
// memory limit found under root ("/" but in tests). It returns that limit
// and the one set; both are 0, and nothing is changed, when there is none.
func Apply(root string, ratio float64) (cgroupLimit uint64, set int64, err error) {
	if !(ratio > 0 && ratio <= 1) {
		return 0, 0, fmt.Errorf("ratio %v is not in (0, 1]", ratio)
	}
	cgroupLimit, err = FromCgroup(root)
	if err != nil || cgroupLimit == 0 {
		return 0, 0, err
	}
	set = int64(min(float64(cgroupLimit)*ratio, math.MaxInt64))
	debug.SetMemoryLimit(set)
	return cgroupLimit, set, nil
}

// noLimit and above is no limit: cgroup v1 writes 2^63 rounded down to a
// page for "unlimited", and no machine has an exbibyte of memory.
const noLimit = 1 << 60

// FromCgroup returns the memory limit in bytes of the cgroup this process
// is in, reading /proc/self/cgroup and /sys/fs/cgroup under root, or 0 if
// there is none. cgroup v2 comes first; v1's memory controller is read when
// v2 has no memory.max for the process (v1 or a hybrid hierarchy). Off
// Linux, which alone has cgroups, it returns 0.
func FromCgroup(root string) (uint64, error) {
	if runtime.GOOS != "linux" {
		return 0, nil
	}
	data, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	// A limit file is read in the process's cgroup or, if it is not there,
	// at the top: a container often sees its own cgroup mounted there.
	inCgroupOrTop := func(dir, path, file string) []string {
		return []string{filepath.Join(dir, path, file), filepath.Join(dir, file)}
	}
	cgroup := filepath.Join(root, "sys/fs/cgroup")
	var v2, v1 []string
	for line := range strings.Lines(string(data)) {
		// hierarchy-ID:controller-list:cgroup-path
		id, rest, _ := strings.Cut(strings.TrimSpace(line), ":")
		controllers, path, ok := strings.Cut(rest, ":")
		switch {
		case !ok:
		case id == "0" && controllers == "":
			v2 = inCgroupOrTop(cgroup, path, "memory.max")
		case slices.Contains(strings.Split(controllers, ","), "memory"):
			v1 = inCgroupOrTop(filepath.Join(cgroup, "memory"), path, "memory.limit_in_bytes")
		}
	}
	for _, name := range append(v2, v1...) {
		data, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return 0, err
		}
		s := strings.TrimSpace(string(data))
		if s == "max" {
			return 0, nil
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if n >= noLimit {
			return 0, nil
		}
		return n, nil
	}
	return 0, nil
}
