// Command entra-authmethods-exporter serves Microsoft Entra ID authentication
// methods reports, polled from Microsoft Graph in the background, as
// Prometheus metrics. This file only wires the packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/collector"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/demo"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/endpoints"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/buildinfo"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/connlimit"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/shard"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/logging"
)

const name = "entra-authmethods-exporter"

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	buildinfo.Fill() // a build that -ldflags did not stamp still says what it is
	f, code := parseFlags(args)
	if f == nil {
		return code
	}
	logger, slogger, err := logging.New(os.Stderr, f.logLevel, f.logFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if f.configCheck {
		return check(f)
	}
	level.Info(logger).Log("msg", "starting "+name, "version", version.Info(), "build_context", version.BuildContext())
	var httpClient *http.Client
	loadAll := func() (*config.Config, error) { return loadConfig(f) }
	if f.demo {
		d, err := demo.Start(demo.Options{Now: f.now, SSPROutage: f.demoOutage})
		if err != nil {
			level.Error(logger).Log("msg", "cannot start the demo tenant", "err", err)
			return 1
		}
		defer d.Close()
		httpClient = d.HTTPClient
		loadAll = func() (*config.Config, error) { return d.Config, nil }
		f.configFile = "" // not read, so not watched
		level.Info(logger).Log("msg", "demo mode: polling a simulated tenant on loopback", "graph_endpoint", d.Config.Tenants[0].GraphEndpoint)
	}
	// The configuration names every tenant; this process polls its shard's.
	load := func() (*config.Config, error) {
		cfg, err := loadAll()
		if err != nil || f.totalShards == 1 {
			return cfg, err
		}
		mine := *cfg
		mine.Tenants = shard.Mine(cfg.Tenants, func(t config.Tenant) string { return t.Name }, f.shard, f.totalShards)
		mine.GraphAppRateLimit.Requests = shard.Share(cfg.GraphAppRateLimit.Requests, f.totalShards)
		level.Info(logger).Log("msg", "sharded: polling the tenants of this shard", "shard", f.shard, "total_shards", f.totalShards,
			"tenants", len(mine.Tenants), "of", len(cfg.Tenants))
		return &mine, nil
	}
	if f.autoMemLimit {
		setMemLimit(logger, f.memLimitRatio)
	}
	cfg, err := load()
	if err != nil {
		level.Error(logger).Log("msg", "invalid configuration", "err", err)
		return 1
	}
	return serve(f, cfg, load, httpClient, logger, slogger)
}

// check is --config.check: it loads the configuration and reads every
// credential, as start-up does, and says whether all is well.
func check(f *flags) int {
	cfg, err := loadConfig(f)
	if err == nil {
		err = collector.Check(cfg, nil)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "configuration is invalid:\n%v\n", err)
		return 1
	}
	fmt.Println("configuration is valid")
	return 0
}

// loadConfig reads the configuration file, or the environment without one,
// and refuses endpoints of no national cloud unless they are allowed.
func loadConfig(f *flags) (*config.Config, error) {
	source := "environment"
	var cfg *config.Config
	var err error
	if f.configFile != "" {
		source = f.configFile
		cfg, err = config.Load(f.configFile)
	} else {
		cfg, err = config.FromEnv(os.Getenv)
	}
	if err == nil && !f.allowCustomEndpoints {
		err = config.CheckEndpoints(cfg, source)
	}
	return cfg, err
}

// setMemLimit sets GOMEMLIMIT to ratio of the container's memory limit
// (automemlimit reads cgroup v1 or v2) unless the environment sets it, and
// logs what it did.
func setMemLimit(logger log.Logger, ratio float64) {
	set, err := memlimit.Set(memlimit.WithRatio(ratio))
	switch {
	case os.Getenv("GOMEMLIMIT") != "":
		level.Info(logger).Log("msg", "GOMEMLIMIT is set: the memory limit is left to it")
	case os.Getenv("AUTOMEMLIMIT") == "off":
		level.Info(logger).Log("msg", "AUTOMEMLIMIT is off; GOMEMLIMIT not set")
	case errors.Is(err, memlimit.ErrNoCgroup), errors.Is(err, memlimit.ErrCgroupsNotSupported), err == nil && set == math.MaxInt64:
		level.Info(logger).Log("msg", "no container memory limit found; GOMEMLIMIT not set")
	case err != nil:
		level.Warn(logger).Log("msg", "cannot read the container memory limit; GOMEMLIMIT not set", "err", err)
	default:
		level.Info(logger).Log("msg", "GOMEMLIMIT set from the container memory limit", "gomemlimit_bytes", set, "ratio", ratio)
	}
}

// serve polls cfg's tenants and serves their metrics until SIGTERM,
// reloading on SIGHUP (and as the flags say).
func serve(f *flags, cfg *config.Config, load func() (*config.Config, error), httpClient *http.Client, logger log.Logger, slogger *slog.Logger) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// Catch SIGHUP from here on: its default action would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	pollCtx, stopPolling := context.WithCancel(context.Background())
	exporter := collector.New(pollCtx, collector.Options{Logger: logger, HTTPClient: httpClient, UserAgent: name + "/" + version.Version, Now: f.now})
	defer func() { stopPolling(); exporter.Wait() }()

	// Gathered at each scrape; the exporter's snapshots, encoded ahead of
	// time, are the endpoints' Source.
	reg := processRegistry(f.shard, f.totalShards)
	reg.MustRegister(exporter.LiveCounters())
	reloader := newReloader(load, exporter.Apply, logger, reg)
	go reloader.watch(ctx, hup, f.configFile, f.autoReload)

	opts := endpoints.Options{
		Name: name, Description: "Microsoft Entra ID authentication methods reports, polled from Microsoft Graph",
		Version: version.Info(), TelemetryPath: f.telemetryPath,
		Source: exporter, Gatherer: reg, Registerer: reg, Logger: slogger,
	}
	if f.enableLifecycle {
		opts.Reload = reloader.reload
	}
	handler, err := endpoints.New(opts)
	if err != nil {
		level.Error(logger).Log("msg", "cannot serve", "err", err)
		return 1
	}
	server := httpServer(handler, f.maxConnections, reg, slogger)
	serveErr := make(chan error, 1)
	go func() { serveErr <- web.ListenAndServe(server, f.toolkit, slogger) }()
	// Set up the tenants once /-/healthy answers (not ready until they
	// are): a thousand tenants' credentials and first snapshots take a
	// while, and a liveness probe should not fail meanwhile.
	if err := reloader.applyFirst(cfg); err != nil {
		level.Error(logger).Log("msg", "cannot start polling", "err", err)
		server.Close()
		return 1
	}

	select {
	case err := <-serveErr:
		level.Error(logger).Log("msg", "HTTP server stopped", "err", err)
		return 1
	case <-ctx.Done():
	}
	level.Info(logger).Log("msg", "shutting down")
	stopPolling()
	// Requests in flight get a moment to finish; then whatever is left,
	// such as a client that stopped reading, is cut, so that the process
	// ends within seconds.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		server.Close()
		level.Warn(logger).Log("msg", "HTTP shutdown: closed the connections left", "err", err)
	}
	return 0
}

// httpServer serves handler with the timeouts a scraper needs and no more,
// and at most maxConnections connections (0: no cap), counted in reg.
func httpServer(handler http.Handler, maxConnections int, reg prometheus.Registerer, logger *slog.Logger) *http.Server {
	server := &http.Server{
		Handler: handler,
		// Prometheus sends its request at once: a slower client is no
		// scraper. No endpoint takes a body (one is refused unread).
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       5 * time.Second,
		// Handler and write together. A scrape is built in milliseconds and
		// even 100 tenants' 6 MB of text cross a slow link in seconds: far
		// above any sensible scrape_timeout, this bounds a client that stops
		// reading.
		WriteTimeout: 2 * time.Minute,
		// Beyond the usual 15 s to 1 m scrape intervals, so Prometheus keeps
		// its connection; at longer ones it reconnects per scrape.
		IdleTimeout:    90 * time.Second,
		MaxHeaderBytes: 32 << 10, // Prometheus sends well under 1 KiB; room for a browser's cookies
	}
	if maxConnections > 0 {
		lim := connlimit.New(maxConnections, logger)
		server.ConnContext, server.ConnState, server.Handler = lim.ConnContext, lim.ConnState, lim.Handler(handler)
		reg.MustRegister(lim.Collector("entra_authmethods_exporter"))
	}
	return server
}

// processRegistry holds the metrics of the process rather than of its
// tenants: Go runtime, process, build and shard.
func processRegistry(shardN, totalShards int) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("entra_authmethods_exporter"), shard.Collector(shardN, totalShards))
	return reg
}
