// Package memlimit sets the Go runtime's memory limit (GOMEMLIMIT) below
// the memory limit of the container the process runs in, so the garbage
// collector works harder before the kernel's OOM killer steps in.
package memlimit

import (
	"fmt"
	"math"
	"runtime/debug"
)

// noLimit and above is no limit: cgroup v1 writes 2^63 rounded down to a
// page for "unlimited", and no machine has an exbibyte of memory.
const noLimit = 1 << 60

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
