package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	// As Kubernetes mounts a Secret: a symlink to a symlinked directory.
	if err := os.Mkdir(filepath.Join(dir, "..2026_01_01"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "..2026_01_01", "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..2026_01_01", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "secret"), filepath.Join(dir, "secret")); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, path string
		max        int64
		want       string // the content; or, with err, what the error says
		err        error
	}{
		{"regular", file, 100, "0123456789", nil},
		{"exactly max", file, 10, "0123456789", nil},
		{"one byte over", file, 9, "the file is too large: more than 9 bytes", ErrTooLarge},
		{"symlinks", filepath.Join(dir, "secret"), 10, "s", nil},
		{"directory", dir, 10, "not a regular file: it is a directory", ErrNotRegular},
		{"missing", filepath.Join(dir, "nope"), 10, "no such file or directory", fs.ErrNotExist},
		{"dangling symlink", filepath.Join(dir, "dangling"), 10, "no such file or directory", fs.ErrNotExist},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "dangling symlink" {
				if err := os.Symlink("gone", c.path); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Read(c.path, c.max)
			if c.err == nil {
				if err != nil || string(got) != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				return
			}
			var pe *fs.PathError
			if !errors.Is(err, c.err) || !errors.As(err, &pe) || pe.Path != c.path || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %q, %v; want an *fs.PathError for %s saying %q", got, err, c.path, c.want)
			}
		})
	}
}
