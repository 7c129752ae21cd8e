// Package logging sets up the exporter's go-kit logger from the --log.level
// and --log.format flags, and bridges it to the *slog.Logger that
// exporter-toolkit takes, so every line shares one format and level filter.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

// Levels and Formats are the accepted flag values.
var (
	Levels  = []string{"debug", "info", "warn", "error"}
	Formats = []string{"logfmt", "json"}
)

// New returns a go-kit logger writing to w in format, dropping lines below
// lvl, and a *slog.Logger that writes through it.
func New(w io.Writer, lvl, format string) (log.Logger, *slog.Logger, error) {
	newLogger, ok := formats[format]
	if !ok {
		return nil, nil, fmt.Errorf("unknown log format %q (want logfmt or json)", format)
	}
	min, ok := slogLevels[lvl]
	if !ok {
		return nil, nil, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", lvl)
	}
	l := log.With(redacting{newLogger(log.NewSyncWriter(w))}, "ts", log.TimestampFormat(func() time.Time { return time.Now().UTC() }, "2006-01-02T15:04:05.000Z07:00"))
	l = level.NewFilter(l, level.Allow(goKitLevel(min)))
	return l, slog.New(&handler{logger: l, min: min}), nil
}

// maxValueBytes bounds one logged value: errors quote what Graph sent.
const maxValueBytes = 2000

// redacting removes credentials from every value it logs, as the last line
// of defence (errors are redacted where made), and cuts them at maxValueBytes.
type redacting struct{ next log.Logger }

func (r redacting) Log(keyvals ...any) error {
	for i := 1; i < len(keyvals); i += 2 {
		switch v := keyvals[i].(type) {
		case string:
			keyvals[i] = redact.Cut(redact.String(v), maxValueBytes)
		case error:
			keyvals[i] = redact.Cut(redact.String(v.Error()), maxValueBytes)
		case fmt.Stringer:
			keyvals[i] = redact.Cut(redact.String(v.String()), maxValueBytes)
		}
	}
	return r.next.Log(keyvals...)
}

var formats = map[string]func(io.Writer) log.Logger{"logfmt": log.NewLogfmtLogger, "json": log.NewJSONLogger}

var slogLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
}

// handler is a slog.Handler that logs through a go-kit logger.
type handler struct {
	logger log.Logger
	min    slog.Level
	attrs  []any  // key-value pairs from WithAttrs, already prefixed
	group  string // prefix from WithGroup, "a.b."
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	kv := append([]any{level.Key(), goKitLevel(r.Level), "msg", r.Message}, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		kv = appendAttr(kv, h.group, a)
		return true
	})
	return h.logger.Log(kv...)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]any(nil), h.attrs...)
	for _, a := range attrs {
		c.attrs = appendAttr(c.attrs, h.group, a)
	}
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

func appendAttr(kv []any, prefix string, a slog.Attr) []any {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		if a.Key != "" { // a group without a key is inlined
			prefix += a.Key + "."
		}
		for _, g := range v.Group() {
			kv = appendAttr(kv, prefix, g)
		}
		return kv
	}
	if a.Key == "" {
		return kv
	}
	return append(kv, prefix+a.Key, v.Any())
}

func goKitLevel(l slog.Level) level.Value {
	switch {
	case l >= slog.LevelError:
		return level.ErrorValue()
	case l >= slog.LevelWarn:
		return level.WarnValue()
	case l >= slog.LevelInfo:
		return level.InfoValue()
	}
	return level.DebugValue()
}
