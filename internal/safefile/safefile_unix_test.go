//go:build unix

package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO without a writer is refused at once: os.ReadFile would block in
// open(2) until a writer came, which none ever does.
func TestReadFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	err := within(t, time.Second, fifo, func() error { _, err := Read(fifo, 100); return err })
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "not a regular file: it is a FIFO") {
		t.Fatalf("got %v", err)
	}
	// What the path leads to counts, not the symlink.
	link := fifo + ".link"
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	err = within(t, time.Second, fifo, func() error { _, err := Read(link, 100); return err })
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "it is a FIFO") {
		t.Fatalf("symlink to a FIFO: got %v", err)
	}
}

func TestReadDevice(t *testing.T) {
	_, err := Read(os.DevNull, 100)
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "it is a device") {
		t.Fatalf("got %v", err)
	}
}

// within runs read, failing the test if it has not returned after d. A
// reader blocked on fifo is then released by opening it for writing.
func within(t *testing.T, d time.Duration, fifo string, read func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- read() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		t.Fatalf("reading %s blocked for %s", fifo, d)
		return nil
	}
}
