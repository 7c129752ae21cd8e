// Command entra-authmethods-exporter serves Microsoft Entra ID authentication
// methods reports, polled from Microsoft Graph in the background, as
// Prometheus metrics. This file only wires the packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

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
	app := kingpin.New(name, "Prometheus exporter for the Microsoft Entra ID authentication methods reports (MFA, SSPR, passwordless).")
	configFile := app.Flag("config.file", "Path to the YAML configuration file. Without it, one tenant named default is read from the AZURE_* environment variables.").String()
	configCheck := app.Flag("config.check", "Validate the configuration and exit 0 if it is valid, 1 with the problems if not.").Bool()
	autoReload := app.Flag("config.auto-reload-interval", "Check the configuration file this often and reload it, as SIGHUP does, when its content changes (0: never).").Default("0s").Duration()
	allowCustomEndpoints := app.Flag("config.allow-custom-endpoints", "Allow authority_host and graph_endpoint to name hosts other than a national cloud's. "+
		"Without it, whoever can edit the configuration cannot send the credential to a host of their choosing.").Bool()
	enableLifecycle := app.Flag("web.enable-lifecycle", "Serve POST /-/reload, which reloads the configuration as SIGHUP does. Unauthenticated unless --web.config.file sets up authentication.").Bool()
	telemetryPath := app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
	maxConnections := app.Flag("web.max-connections", "Most HTTP connections open at once, over all listen addresses. "+
		"At the cap a new connection closes the oldest one not serving a request (idle, or yet to send one), "+
		"one from its own address if there is any; if every one is serving, the new one is closed. 0: no cap.").Default("512").Int()
	autoMemLimit := app.Flag("auto-gomemlimit", "Set the Go runtime's memory limit (GOMEMLIMIT) to --auto-gomemlimit.ratio of the "+
		"container's memory limit (cgroup v1 or v2), unless the GOMEMLIMIT environment variable is set.").Default("true").Bool()
	memLimitRatio := app.Flag("auto-gomemlimit.ratio", "The share of the container's memory limit that --auto-gomemlimit sets "+
		"GOMEMLIMIT to: more than 0, at most 1.").Default("0.9").Float64()
	shardFlag := app.Flag("shard", "The shard this process is, from 0: it polls only the tenants whose name hashes to it.").Default("0").Int()
	totalShards := app.Flag("total-shards", "How many shards (processes, with one configuration) the tenants are split into; each divides graph_app_rate_limit by it.").Default("1").Int()
	shardFromHostname := app.Flag("shard.from-hostname", "Take --shard from the host name's ending -<N>, a StatefulSet pod's ordinal.").Bool()
	demoMode := app.Flag("demo", "Serve a built-in simulated tenant through the real client path (TLS, token, paging); needs no Azure account.").Bool()
	demoOutage := app.Flag("demo.sspr-outage", "With --demo: self-service password resets fail far more often than usual, from 40 minutes before start on, so the SSPR spike alert fires.").Bool()
	// Hidden: for tests whose output must not depend on the day they run.
	fixedTime := app.Flag("fixed-time", "Measure Graph's data (its windows and ages) against this instant, RFC 3339, instead of the clock; "+
		"with --demo, date the demo's data at it too.").Hidden().String()
	logLevel := app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").Default("info").Enum(logging.Levels...)
	logFormat := app.Flag("log.format", "Output format of log messages: logfmt, json.").Default("logfmt").Enum(logging.Formats...)
	toolkitFlags := kingpinflag.AddFlags(app, ":9871")
	app.Version(version.Print(name))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	flagError := func(flag string, value any, problem string) int {
		fmt.Fprintf(os.Stderr, "%s: --%s %q: %s\n", name, flag, fmt.Sprint(value), problem)
		return 2
	}
	if err := endpoints.CheckTelemetryPath(*telemetryPath); err != nil {
		return flagError("web.telemetry-path", *telemetryPath, err.Error())
	}
	if *maxConnections < 0 {
		return flagError("web.max-connections", *maxConnections, "must be 0 (no cap) or more")
	}
	if !(*memLimitRatio > 0 && *memLimitRatio <= 1) {
		return flagError("auto-gomemlimit.ratio", *memLimitRatio, "must be more than 0 and at most 1")
	}
	now := time.Now
	if *fixedTime != "" {
		at, err := time.Parse(time.RFC3339, *fixedTime)
		if err != nil {
			return flagError("fixed-time", *fixedTime, "not an RFC 3339 time such as 2026-12-09T10:00:00Z")
		}
		now = func() time.Time { return at }
	}
	if *shardFromHostname {
		hostname, err := os.Hostname()
		if err == nil {
			*shardFlag, err = shard.FromHostname(hostname)
		}
		if err != nil {
			return flagError("shard.from-hostname", true, err.Error())
		}
	}
	if err := shard.Check(*shardFlag, *totalShards); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}

	logger, slogger, err := logging.New(os.Stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	loadAll := func() (*config.Config, error) {
		source := "environment"
		var cfg *config.Config
		var err error
		if *configFile != "" {
			source = *configFile
			cfg, err = config.Load(*configFile)
		} else {
			cfg, err = config.FromEnv(os.Getenv)
		}
		if err == nil && !*allowCustomEndpoints {
			err = config.CheckEndpoints(cfg, source)
		}
		if err != nil {
			return nil, err
		}
		return cfg, nil
	}
	if *configCheck {
		cfg, err := loadAll()
		if err == nil {
			err = collector.Check(cfg, nil) // reads every credential as start-up does
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "configuration is invalid:\n%v\n", err)
			return 1
		}
		fmt.Println("configuration is valid")
		return 0
	}

	level.Info(logger).Log("msg", "starting "+name, "version", version.Info(), "build_context", version.BuildContext())
	var httpClient *http.Client
	if *demoMode {
		d, err := demo.Start(demo.Options{Now: now, SSPROutage: *demoOutage})
		if err != nil {
			level.Error(logger).Log("msg", "cannot start the demo tenant", "err", err)
			return 1
		}
		defer d.Close()
		httpClient = d.HTTPClient
		loadAll = func() (*config.Config, error) { return d.Config, nil }
		*configFile = "" // not read, so not watched
		level.Info(logger).Log("msg", "demo mode: polling a simulated tenant on loopback", "graph_endpoint", d.Config.Tenants[0].GraphEndpoint)
	}
	// The configuration names every tenant; this process polls its shard's.
	load := func() (*config.Config, error) {
		cfg, err := loadAll()
		if err != nil || *totalShards == 1 {
			return cfg, err
		}
		mine := shard.Select(cfg, *shardFlag, *totalShards)
		level.Info(logger).Log("msg", "sharded: polling the tenants of this shard", "shard", *shardFlag, "total_shards", *totalShards,
			"tenants", len(mine.Tenants), "of", len(cfg.Tenants))
		return mine, nil
	}
	if *autoMemLimit {
		// automemlimit reads cgroup v1 or v2, and leaves GOMEMLIMIT alone when the variable is set.
		set, err := memlimit.Set(memlimit.WithRatio(*memLimitRatio))
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
			level.Info(logger).Log("msg", "GOMEMLIMIT set from the container memory limit", "gomemlimit_bytes", set, "ratio", *memLimitRatio)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// Catch SIGHUP from here on: its default action would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	cfg, err := load()
	if err != nil {
		level.Error(logger).Log("msg", "invalid configuration", "err", err)
		return 1
	}

	pollCtx, stopPolling := context.WithCancel(context.Background())
	exporter := collector.New(pollCtx, collector.Options{Logger: logger, HTTPClient: httpClient, UserAgent: name + "/" + version.Version, Now: now})
	defer func() { stopPolling(); exporter.Wait() }()

	reg := processRegistry(*shardFlag, *totalShards)
	// The exporter's own metrics are encoded ahead of time for text scrapes
	// (Pieces); this registry serves them in other formats.
	exporterReg := prometheus.NewRegistry()
	exporterReg.MustRegister(exporter)
	reloader := newReloader(load, exporter.Apply, logger, reg)
	go reloader.watch(ctx, hup, *configFile, *autoReload)

	opts := endpoints.Options{
		Name: name, Description: "Microsoft Entra ID authentication methods reports, polled from Microsoft Graph",
		Version: version.Info(), TelemetryPath: *telemetryPath,
		Gatherer: reg, Registerer: reg, Pieces: exporter.Pieces, PiecesGatherer: exporterReg, Status: exporter.Status, Ready: exporter.Ready, Logger: slogger,
		Context: ctx, Changes: exporter.Changes,
	}
	if *enableLifecycle {
		opts.Reload = reloader.reload
	}
	handler, err := endpoints.New(opts)
	if err != nil {
		level.Error(logger).Log("msg", "cannot serve", "err", err)
		return 1
	}
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
	if *maxConnections > 0 {
		lim := connlimit.New(*maxConnections, slogger)
		server.ConnContext, server.ConnState, server.Handler = lim.ConnContext, lim.ConnState, lim.Handler(handler)
		reg.MustRegister(lim.Collector("entra_authmethods_exporter"))
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- web.ListenAndServe(server, toolkitFlags, slogger) }()
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

// processRegistry holds the metrics of the process rather than of its
// tenants: Go runtime, process, build and shard.
func processRegistry(shardN, totalShards int) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("entra_authmethods_exporter"), shard.Collector(shardN, totalShards))
	return reg
}
