package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// fakeRoot writes files (path under root: content) into a new directory.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	v2Self     = "0::/kubepods.slice/pod1/cri-abc\n"
	v1Self     = "12:pids:/docker/abc\n4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n"
	hybridSelf = "4:memory:/user.slice\n1:name=systemd:/user.slice\n0::/user.slice\n"
)

func TestFromCgroup(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  uint64
	}{
		{"v2", map[string]string{"proc/self/cgroup": v2Self,
			"sys/fs/cgroup/kubepods.slice/pod1/cri-abc/memory.max": "536870912\n", "sys/fs/cgroup/memory.max": "1"}, 512 << 20},
		{"v2 own cgroup at the top", map[string]string{"proc/self/cgroup": v2Self, "sys/fs/cgroup/memory.max": "268435456\n"}, 256 << 20},
		{"v2 max", map[string]string{"proc/self/cgroup": v2Self, "sys/fs/cgroup/kubepods.slice/pod1/cri-abc/memory.max": "max\n"}, 0},
		{"v2 without memory.max", map[string]string{"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cgroup.controllers": "cpu\n"}, 0},
		{"v1", map[string]string{"proc/self/cgroup": v1Self,
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "1073741824\n"}, 1 << 30},
		{"v1 own cgroup at the top", map[string]string{"proc/self/cgroup": v1Self,
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "134217728\n"}, 128 << 20},
		{"v1 unlimited", map[string]string{"proc/self/cgroup": v1Self,
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "9223372036854771712\n"}, 0},
		{"hybrid: v1 memory, no memory.max in v2", map[string]string{"proc/self/cgroup": hybridSelf,
			"sys/fs/cgroup/unified/user.slice/cgroup.procs": "", "sys/fs/cgroup/memory/user.slice/memory.limit_in_bytes": "2147483648\n"}, 2 << 30},
		{"no cgroup files", map[string]string{"proc/self/cgroup": v2Self}, 0},
		{"no /proc", nil, 0},
	} {
		got, err := FromCgroup(fakeRoot(t, c.files))
		if err != nil || got != c.want {
			t.Errorf("%s: %d, %v; want %d", c.name, got, err, c.want)
		}
	}
	if _, err := FromCgroup(fakeRoot(t, map[string]string{"proc/self/cgroup": v2Self, "sys/fs/cgroup/memory.max": "lots\n"})); err == nil {
		t.Error("a memory.max that is not a number was accepted")
	}
}

func TestApply(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1)) // as it was
	root := fakeRoot(t, map[string]string{"proc/self/cgroup": v2Self, "sys/fs/cgroup/memory.max": "1000000000\n"})
	limit, set, err := Apply(root, 0.9)
	if err != nil || limit != 1e9 || set != 9e8 || debug.SetMemoryLimit(-1) != 9e8 {
		t.Errorf("Apply: %d, %d, %v; memory limit %d; want 1e9, 9e8", limit, set, err, debug.SetMemoryLimit(-1))
	}
	before := debug.SetMemoryLimit(-1)
	if limit, set, err := Apply(fakeRoot(t, nil), 0.9); err != nil || limit != 0 || set != 0 || debug.SetMemoryLimit(-1) != before {
		t.Errorf("Apply without a limit: %d, %d, %v, and the memory limit changed", limit, set, err)
	}
	for _, ratio := range []float64{0, -1, 1.5} {
		if _, _, err := Apply(root, ratio); err == nil {
			t.Errorf("ratio %v accepted", ratio)
		}
	}
}
