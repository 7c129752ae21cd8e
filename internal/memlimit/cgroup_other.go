//go:build !linux

package memlimit

// FromCgroup returns 0: cgroups are Linux's.
func FromCgroup(root string) (uint64, error) { return 0, nil }
