package main

import (
	"fmt"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/endpoints"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/shard"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/logging"
)

// flags are the command line, parsed and checked.
type flags struct {
	configFile, telemetryPath, logLevel, logFormat string
	configCheck, allowCustomEndpoints              bool
	enableLifecycle, autoMemLimit                  bool
	demo, demoOutage                               bool
	autoReload                                     time.Duration
	maxConnections, shard, totalShards             int
	memLimitRatio                                  float64
	now                                            func() time.Time // the clock Graph's data is measured against
	toolkit                                        *web.FlagConfig
}

// parseFlags parses args; on a problem it prints it and returns the exit code 2.
func parseFlags(args []string) (*flags, int) {
	var f flags
	app := kingpin.New(name, "Prometheus exporter for the Microsoft Entra ID authentication methods reports (MFA, SSPR, passwordless).")
	app.Flag("config.file", "Path to the YAML configuration file. Without it, one tenant named default is read from the AZURE_* environment variables.").StringVar(&f.configFile)
	app.Flag("config.check", "Validate the configuration and exit 0 if it is valid, 1 with the problems if not.").BoolVar(&f.configCheck)
	app.Flag("config.auto-reload-interval", "Check the configuration file this often and reload it, as SIGHUP does, when its content changes (0: never).").Default("0s").DurationVar(&f.autoReload)
	app.Flag("config.allow-custom-endpoints", "Allow authority_host and graph_endpoint to name hosts other than a national cloud's. "+
		"Without it, whoever can edit the configuration cannot send the credential to a host of their choosing.").BoolVar(&f.allowCustomEndpoints)
	app.Flag("web.enable-lifecycle", "Serve POST /-/reload, which reloads the configuration as SIGHUP does. Unauthenticated unless --web.config.file sets up authentication.").BoolVar(&f.enableLifecycle)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&f.telemetryPath)
	app.Flag("web.max-connections", "Most HTTP connections open at once, over all listen addresses, a quarter of them from any one address. "+
		"At a cap a new connection closes the oldest one not serving a request (idle, or still sending one), "+
		"one from its own address if there is any; if every one is serving, the new one is closed. 0: no cap.").Default("512").IntVar(&f.maxConnections)
	app.Flag("auto-gomemlimit", "Set the Go runtime's memory limit (GOMEMLIMIT) to --auto-gomemlimit.ratio of the "+
		"container's memory limit (cgroup v1 or v2), unless the GOMEMLIMIT environment variable is set.").Default("true").BoolVar(&f.autoMemLimit)
	app.Flag("auto-gomemlimit.ratio", "The share of the container's memory limit that --auto-gomemlimit sets "+
		"GOMEMLIMIT to: more than 0, at most 1.").Default("0.9").Float64Var(&f.memLimitRatio)
	app.Flag("shard", "The shard this process is, from 0: it polls only the tenants whose name hashes to it.").Default("0").IntVar(&f.shard)
	app.Flag("total-shards", "How many shards (processes, with one configuration) the tenants are split into; each divides graph_app_rate_limit by it.").Default("1").IntVar(&f.totalShards)
	fromHostname := app.Flag("shard.from-hostname", "Take --shard from the host name's ending -<N>, a StatefulSet pod's ordinal.").Bool()
	app.Flag("demo", "Serve a built-in simulated tenant through the real client path (TLS, token, paging); needs no Azure account.").BoolVar(&f.demo)
	app.Flag("demo.sspr-outage", "With --demo: self-service password resets fail far more often than usual, from 40 minutes before start on, so the SSPR spike alert fires.").BoolVar(&f.demoOutage)
	// Hidden: for tests whose output must not depend on the day they run.
	fixedTime := app.Flag("fixed-time", "Measure Graph's data (its windows and ages) against this instant, RFC 3339, instead of the clock; "+
		"with --demo, date the demo's data at it too.").Hidden().String()
	app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").Default("info").EnumVar(&f.logLevel, logging.Levels...)
	app.Flag("log.format", "Output format of log messages: logfmt, json.").Default("logfmt").EnumVar(&f.logFormat, logging.Formats...)
	f.toolkit = kingpinflag.AddFlags(app, ":9871")
	app.Version(version.Print(name))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return nil, 2
	}
	problem := func(flag string, value any, problem string) (*flags, int) {
		fmt.Fprintf(os.Stderr, "%s: --%s %q: %s\n", name, flag, fmt.Sprint(value), problem)
		return nil, 2
	}
	if err := endpoints.CheckTelemetryPath(f.telemetryPath); err != nil {
		return problem("web.telemetry-path", f.telemetryPath, err.Error())
	}
	if f.maxConnections < 0 {
		return problem("web.max-connections", f.maxConnections, "must be 0 (no cap) or more")
	}
	if !(f.memLimitRatio > 0 && f.memLimitRatio <= 1) {
		return problem("auto-gomemlimit.ratio", f.memLimitRatio, "must be more than 0 and at most 1")
	}
	f.now = time.Now
	if *fixedTime != "" {
		at, err := time.Parse(time.RFC3339, *fixedTime)
		if err != nil {
			return problem("fixed-time", *fixedTime, "not an RFC 3339 time such as 2026-12-09T10:00:00Z")
		}
		f.now = func() time.Time { return at }
	}
	if *fromHostname {
		hostname, err := os.Hostname()
		if err == nil {
			f.shard, err = shard.FromHostname(hostname)
		}
		if err != nil {
			return problem("shard.from-hostname", true, err.Error())
		}
	}
	if err := shard.Check(f.shard, f.totalShards); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return nil, 2
	}
	return &f, 0
}
