// Command entra-authmethods-exporter serves Microsoft Entra ID authentication
// methods reports, polled from Microsoft Graph in the background, as
// Prometheus metrics. This file only wires the packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/collector"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/demo"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/endpoints"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/logging"
)

const name = "entra-authmethods-exporter"

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if version.Version == "" { // not stamped by -ldflags, as with go run
		version.Version = "dev"
	}
	app := kingpin.New(name, "Prometheus exporter for the Microsoft Entra ID authentication methods reports (MFA, SSPR, passwordless).")
	configFile := app.Flag("config.file", "Path to the YAML configuration file. Without it, one tenant named default is read from the AZURE_* environment variables.").String()
	configCheck := app.Flag("config.check", "Validate the configuration and exit 0 if it is valid, 1 with the problems if not.").Bool()
	telemetryPath := app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
	demoMode := app.Flag("demo", "Serve a built-in simulated tenant through the real client path (TLS, token, paging); needs no Azure account.").Bool()
	logLevel := app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").Default("info").Enum(logging.Levels...)
	logFormat := app.Flag("log.format", "Output format of log messages: logfmt, json.").Default("logfmt").Enum(logging.Formats...)
	toolkitFlags := kingpinflag.AddFlags(app, ":9871")
	app.Version(version.Print(name))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}

	logger, slogger, err := logging.New(os.Stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	load := func() (*config.Config, error) {
		if *configFile != "" {
			return config.Load(*configFile)
		}
		return config.FromEnv(os.Getenv)
	}
	if *configCheck {
		if _, err := load(); err != nil {
			fmt.Fprintf(os.Stderr, "configuration is invalid:\n%v\n", err)
			return 1
		}
		fmt.Println("configuration is valid")
		return 0
	}

	level.Info(logger).Log("msg", "starting "+name, "version", version.Info(), "build_context", version.BuildContext())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// Catch SIGHUP from here on: its default action would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var (
		cfg        *config.Config
		httpClient *http.Client
	)
	if *demoMode {
		d, err := demo.Start(time.Now())
		if err != nil {
			level.Error(logger).Log("msg", "cannot start the demo tenant", "err", err)
			return 1
		}
		defer d.Close()
		cfg, httpClient = d.Config, d.HTTPClient
		load = func() (*config.Config, error) { return d.Config, nil }
		level.Info(logger).Log("msg", "demo mode: polling a simulated tenant on loopback", "graph_endpoint", d.Config.Tenants[0].GraphEndpoint)
	} else if cfg, err = load(); err != nil {
		level.Error(logger).Log("msg", "invalid configuration", "err", err)
		return 1
	}

	pollCtx, stopPolling := context.WithCancel(context.Background())
	exporter := collector.New(pollCtx, collector.Options{Logger: logger, HTTPClient: httpClient, UserAgent: name + "/" + version.Version})
	defer func() { stopPolling(); exporter.Wait() }()
	if err := exporter.Apply(cfg); err != nil {
		level.Error(logger).Log("msg", "cannot start polling", "err", err)
		return 1
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The exporter's own metrics are encoded ahead of time for text scrapes
	// (Pieces); this registry serves them in other formats.
	exporterReg := prometheus.NewRegistry()
	exporterReg.MustRegister(exporter)
	reloader := newReloader(load, exporter.Apply, logger, reg)
	go reloader.onSIGHUP(ctx, hup)

	server := &http.Server{
		Handler: endpoints.New(endpoints.Options{
			Name: name, Description: "Microsoft Entra ID authentication methods reports, polled from Microsoft Graph",
			Version: version.Info(), TelemetryPath: *telemetryPath,
			Gatherer: reg, Registerer: reg, Pieces: exporter.Pieces, PiecesGatherer: exporterReg, Status: exporter.Status, Ready: exporter.Ready, Reload: reloader.reload, Logger: slogger,
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- web.ListenAndServe(server, toolkitFlags, slogger) }()

	select {
	case err := <-serveErr:
		level.Error(logger).Log("msg", "HTTP server stopped", "err", err)
		return 1
	case <-ctx.Done():
	}
	level.Info(logger).Log("msg", "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		level.Warn(logger).Log("msg", "HTTP shutdown", "err", err)
	}
	return 0
}
