// Package testenv holds what the project's tests share about their
// environment: the external tools they need, free loopback ports, and a
// buffer that processes and goroutines may write to while a test reads it.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
)

// Tool returns the path of a program a test needs (promtool, prometheus,
// helm, kustomize). Missing, the test is skipped on a developer's machine but
// fails in CI (CI is set), where .ci/run must have installed it.
func Tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		how, ok := installHints[name]
		if !ok {
			how = "install Debian's prometheus package"
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: CI must install it (%s)", name, how)
		}
		t.Skipf("%s not found; %s to run this test", name, how)
	}
	return path
}

// installHints says how to get the tools that are not in Debian's
// prometheus package.
var installHints = map[string]string{
	"helm":            "go install helm.sh/helm/v3/cmd/helm@v3.22.0",
	"kustomize":       "go install sigs.k8s.io/kustomize/kustomize/v5@v5.7.1",
	"systemd-analyze": "install Debian's systemd package",
	"time":            "install Debian's time package (GNU time)",
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// SyncBuffer is a strings.Builder safe for concurrent writers and readers.
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Eventually checks cond until it holds, failing the test with what if it
// does not within the given time.
func Eventually(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	every := max(time.Millisecond, min(within/500, 100*time.Millisecond))
	for deadline := time.Now().Add(within); !cond(); time.Sleep(every) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
	}
}

// ParseConfig parses fmt.Sprintf(format, args...) as the exporter parses
// its configuration file, with the file's defaults and validation.
func ParseConfig(t testing.TB, format string, args ...any) *config.Config {
	t.Helper()
	cfg, err := config.Parse(fmt.Appendf(nil, format, args...), "test config")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
