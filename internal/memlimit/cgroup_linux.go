package memlimit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// FromCgroup returns the memory limit in bytes of the cgroup this process
// is in, reading /proc/self/cgroup and /sys/fs/cgroup under root, or 0 if
// there is none. cgroup v2 comes first; v1's memory controller is read when
// v2 has no memory.max for the process (v1 or a hybrid hierarchy).
func FromCgroup(root string) (uint64, error) {
	data, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	var v2, v1 *string
	for line := range strings.Lines(string(data)) {
		// hierarchy-ID:controller-list:cgroup-path
		id, rest, _ := strings.Cut(strings.TrimSpace(line), ":")
		controllers, path, ok := strings.Cut(rest, ":")
		switch {
		case !ok:
		case id == "0" && controllers == "":
			v2 = &path
		case slices.Contains(strings.Split(controllers, ","), "memory"):
			v1 = &path
		}
	}
	cgroup := filepath.Join(root, "sys/fs/cgroup")
	if v2 != nil {
		if limit, found, err := readLimit(cgroup, *v2, "memory.max"); found || err != nil {
			return limit, err
		}
	}
	if v1 != nil {
		if limit, found, err := readLimit(filepath.Join(cgroup, "memory"), *v1, "memory.limit_in_bytes"); found || err != nil {
			return limit, err
		}
	}
	return 0, nil
}

// readLimit reads file in dir/path or, if that does not exist, in dir: a
// container often sees its own cgroup mounted at the top.
func readLimit(dir, path, file string) (limit uint64, found bool, err error) {
	for _, name := range []string{filepath.Join(dir, path, file), filepath.Join(dir, file)} {
		data, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return 0, false, err
		}
		s := strings.TrimSpace(string(data))
		if s == "max" {
			return 0, true, nil
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", name, err)
		}
		if n >= noLimit {
			return 0, true, nil
		}
		return n, true, nil
	}
	return 0, false, nil
}
