package main

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/safefile"
)

// reloader applies a freshly loaded configuration, on SIGHUP, POST
// /-/reload or a change of the file, and records the outcome as Prometheus
// does for its own.
type reloader struct {
	load   func() (*config.Config, error)
	apply  func(*config.Config) error
	logger log.Logger

	mu          sync.Mutex     // one reload at a time
	applied     *config.Config // what runs
	lastErr     string         // why the last reload failed; "" if it did not
	successful  prometheus.Gauge
	successTime prometheus.Gauge
}

func newReloader(load func() (*config.Config, error), apply func(*config.Config) error, logger log.Logger, reg prometheus.Registerer) *reloader {
	r := &reloader{
		load: load, apply: apply, logger: logger,
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "entra_authmethods_config_last_reload_successful",
			Help: "1 if the last configuration reload succeeded (the start-up load counts), else 0.",
		}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "entra_authmethods_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully, in Unix seconds.",
		}),
	}
	reg.MustRegister(r.successful, r.successTime)
	r.successful.Set(1)
	r.successTime.SetToCurrentTime()
	return r
}

// applyFirst applies the configuration loaded at start-up; a reload asked
// for meanwhile waits, and then applies what is newer.
func (r *reloader) applyFirst(cfg *config.Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.apply(cfg); err != nil {
		return err
	}
	r.applied = cfg
	return nil
}

// reload loads and applies the configuration; on any error the running one
// stays, and the error is logged and returned. A configuration equal to the
// running one is not applied again, and an error is logged once while it
// stays the same: reloads asked for in a loop cost little and fill no log.
func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next, err := r.load()
	unchanged := err == nil && reflect.DeepEqual(next, r.applied)
	if err == nil && !unchanged {
		err = r.apply(next)
	}
	if err != nil {
		r.successful.Set(0)
		logAt := level.Error
		if err.Error() == r.lastErr {
			logAt = level.Debug
		}
		r.lastErr = err.Error()
		logAt(r.logger).Log("msg", "reload failed; the previous configuration keeps running", "err", err)
		return err
	}
	r.lastErr = ""
	r.successful.Set(1)
	r.successTime.SetToCurrentTime()
	if unchanged {
		level.Debug(r.logger).Log("msg", "configuration unchanged; nothing to apply")
		return nil
	}
	r.applied = next
	level.Info(r.logger).Log("msg", "configuration reloaded")
	return nil
}

// watch reloads on every signal from hup and, with an interval (from
// --config.auto-reload-interval) and a path, whenever the content of the
// file at path has changed, until ctx ends. A ConfigMap or Secret mounted in
// a pod is updated by a symlink swap, which reading the path follows. A
// content that failed to load is not tried again until it changes once
// more: the reload metrics and the log already say it failed.
func (r *reloader) watch(ctx context.Context, hup <-chan os.Signal, path string, interval time.Duration) {
	var tick <-chan time.Time // nil, never ready, without an interval
	var last []byte
	if interval > 0 && path != "" {
		last, _ = safefile.Read(path, config.MaxFileBytes) // what start-up loaded
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reload() // logs its own outcome
		case <-tick:
			content, err := safefile.Read(path, config.MaxFileBytes) // a FIFO there must not hang the watch
			if err != nil || bytes.Equal(content, last) {
				continue // unreadable for a moment (mid-swap): the next tick sees it
			}
			last = content
			level.Info(r.logger).Log("msg", "the configuration file changed; reloading", "file", path)
			r.reload()
		}
	}
}
