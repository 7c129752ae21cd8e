package logging

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log/level"
)

func TestLevelsAndBridge(t *testing.T) {
	var buf bytes.Buffer
	l, s, err := New(&buf, "info", "logfmt")
	if err != nil {
		t.Fatal(err)
	}
	level.Debug(l).Log("msg", "hidden")
	level.Info(l).Log("msg", "shown", "k", "v")
	s.Debug("hidden too")
	s.With("a", 1).WithGroup("g").Warn("from slog", "b", 2)
	out := buf.String()
	if strings.Contains(out, "hidden") {
		t.Errorf("debug lines logged at level info:\n%s", out)
	}
	for _, want := range []string{`level=info msg=shown k=v`, `level=warn msg="from slog" a=1 g.b=2`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestJSONAndBadFlags(t *testing.T) {
	var buf bytes.Buffer
	_, s, err := New(&buf, "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	s.Error("boom", "code", 7)
	if !strings.Contains(buf.String(), `"level":"error"`) || !strings.Contains(buf.String(), `"code":7`) {
		t.Errorf("json line: %s", buf.String())
	}
	if _, _, err := New(&buf, "loud", "json"); err == nil {
		t.Error("bad level accepted")
	}
	if _, _, err := New(&buf, "info", "xml"); err == nil {
		t.Error("bad format accepted")
	}
}

func TestTimestampsMove(t *testing.T) {
	var buf bytes.Buffer
	l, _, _ := New(&buf, "info", "logfmt")
	l.Log("msg", "one")
	time.Sleep(5 * time.Millisecond)
	l.Log("msg", "two")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	ts := func(line string) string { return strings.Fields(line)[0] }
	if len(lines) != 2 || ts(lines[0]) == ts(lines[1]) {
		t.Errorf("timestamps do not advance:\n%s", buf.String())
	}
}

func TestCredentialsAreRedacted(t *testing.T) {
	var buf bytes.Buffer
	l, s, _ := New(&buf, "info", "logfmt")
	l.Log("msg", "token answer", "err", errors.New(`raw message was: {"access_token":"opaque-1234"}`))
	s.Info("header", "value", "Bearer opaque-1234")
	l.Log("msg", "long", "value", strings.Repeat("x", 10000))
	if strings.Contains(buf.String(), "opaque-1234") {
		t.Errorf("a credential was logged:\n%s", buf.String())
	}
	if len(buf.String()) > 3000 {
		t.Errorf("a 10,000-byte value was logged whole (%d bytes)", len(buf.String()))
	}
}
