// Package safefile reads the small files the exporter is pointed at (its
// configuration, secret and certificate files) without ever blocking on
// one that is not a regular file: opening a FIFO without a writer, or some
// devices, would hang --config.check, a reload or shutdown for good.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Errors Read wraps, in an *fs.PathError, for callers that word their own.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = errors.New("the file is too large")
)

// Read returns the content of the regular file at path, following symlinks
// (Kubernetes mounts Secrets and ConfigMaps so), and refuses anything else or
// more than max bytes. Its errors are *fs.PathError, naming path.
func Read(path string, max int64) ([]byte, error) {
	// O_NONBLOCK makes open return at once on a FIFO (and on a file under a
	// lease); regular files ignore it, and Windows has no such flag to
	// honour. What the opened file is, not what the path named before, is
	// what counts: hence fstat, not a stat before opening.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: it is %s", ErrNotRegular, kind(fi.Mode()))}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	switch {
	case err != nil:
		return nil, err
	case int64(len(data)) > max:
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)}
	}
	return data, nil
}

// kind names what a file that is not a regular one is.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
