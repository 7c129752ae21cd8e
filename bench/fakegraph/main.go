// Command fakegraph runs fakegraph's fake identity platform and Graph as a
// process of its own, so the exporter can be measured from outside: as it
// really runs, with its own heap, GC and HTTP client. It writes the fake's
// CA (ca.pem) and an exporter configuration that polls every tenant through
// the fake (config.yaml) into -dir, prints "ready <url>" and serves until
// SIGINT or SIGTERM.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/model"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
)

// graphNames maps Graph's report names to the config's, so -reports takes either.
var graphNames = map[string]string{
	"getCredentialUserRegistrationCount":  config.CredentialRegistrationCount,
	"getCredentialUsageSummary":           config.CredentialUsageSummary,
	"credentialUserRegistrationDetails":   config.CredentialRegistrationDetails,
	"userCredentialUsageDetails":          config.CredentialUsageDetails,
	"userRegistrationDetails":             config.UserRegistrationDetails,
	"userEventsSummary":                   config.UserEventsSummary,
	"userMfaSignInSummary":                config.UserMFASignInSummary,
	"userPasswordResetsAndChangesSummary": config.UserPasswordResetsSummary,
}

type rate struct {
	n   int
	per time.Duration
}

// options are the command's flags.
type options struct {
	tenants, users, pageSize int
	rateLimit                int
	ratePer                  time.Duration
	dir, reports             string
	pollInterval             time.Duration
	everyPoll                bool
	client, app              rate
	seed                     int64
	attack                   string
	healthy                  int
	minLatency, maxLatency   time.Duration
	listAttacks              bool
	groups, groupMembers     int
	dirRate                  int
	dirPer                   time.Duration
}

// parseFlags reads the command line; main checks what it read.
func parseFlags() options {
	var o options
	flag.IntVar(&o.tenants, "tenants", 1, "number of tenants")
	flag.IntVar(&o.users, "users", 300000, "synthetic users per tenant")
	flag.IntVar(&o.pageSize, "page-size", 1000, "rows per page of a paged report")
	flag.IntVar(&o.rateLimit, "rate-limit", 0, "Graph requests the fake admits per tenant in any window of -rate-per (0: no throttling)")
	flag.DurationVar(&o.ratePer, "rate-per", 0, "window of -rate-limit")
	flag.StringVar(&o.dir, "dir", "", "directory for ca.pem and config.yaml (required)")
	flag.StringVar(&o.reports, "reports", "userRegistrationDetails", "comma-separated reports for config.yaml, by Graph or config name; all, or default")
	flag.DurationVar(&o.pollInterval, "poll-interval", time.Hour, "poll_interval in config.yaml")
	flag.BoolVar(&o.everyPoll, "every-report-every-poll", false, "write report_poll_intervals: {} so every report is polled every poll_interval, not the slow ones every 6h")
	flag.IntVar(&o.client.n, "client-rate-limit", 1000, "graph_rate_limit requests in config.yaml (the config allows at most 1000)")
	flag.DurationVar(&o.client.per, "client-rate-per", 100*time.Millisecond, "graph_rate_limit per in config.yaml")
	flag.IntVar(&o.app.n, "client-app-rate-limit", 1000, "graph_app_rate_limit requests in config.yaml")
	flag.DurationVar(&o.app.per, "client-app-rate-per", 100*time.Millisecond, "graph_app_rate_limit per in config.yaml")
	flag.Int64Var(&o.seed, "seed", 1, "seed of the first tenant's synthetic data; tenant i uses seed+i")
	flag.StringVar(&o.attack, "attack", "", "make the tenants' Graph or token endpoint hostile: one of "+attackNames())
	flag.IntVar(&o.healthy, "healthy", 0, "with -attack: how many of the tenants (the last ones) stay healthy")
	flag.DurationVar(&o.minLatency, "min-latency", 0, "least time each Graph answer is held")
	flag.DurationVar(&o.maxLatency, "max-latency", 0, "most time each Graph answer is held (uniform between the two)")
	flag.BoolVar(&o.listAttacks, "list-attacks", false, "print the names of the attacks, one a line, and exit")
	flag.IntVar(&o.groups, "groups", 0, "groups per tenant, in place of the synthetic ones, listed in config.yaml as g01, g02, ... (0: the synthetic groups, not in config.yaml; at most 50)")
	flag.IntVar(&o.groupMembers, "group-members", 1000, "with -groups: users of the tenant in each group (drawn at random, so groups overlap), besides a few users not in the report and a few non-user members")
	flag.IntVar(&o.dirRate, "directory-rate-limit", 0, "directory reads (group members) the fake admits per tenant in any window of -directory-rate-per, apart from -rate-limit (0: no throttling)")
	flag.DurationVar(&o.dirPer, "directory-rate-per", 0, "window of -directory-rate-limit")
	flag.Parse()
	return o
}

func main() {
	o := parseFlags()
	if o.listAttacks {
		fmt.Println(strings.ReplaceAll(attackNames(), ", ", "\n"))
		return
	}
	if o.dir == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	names, err := reportNames(o.reports)
	if err != nil {
		fatal(err)
	}
	if err := o.check(); err != nil {
		fatal(err)
	}

	srv, err := fakegraph.NewServer(fakegraph.Options{PageSize: o.pageSize, RateLimit: o.rateLimit, RatePer: o.ratePer, NoRecording: true,
		MinLatency: o.minLatency, MaxLatency: o.maxLatency, DirectoryRateLimit: o.dirRate, DirectoryRatePer: o.dirPer})
	if err != nil {
		fatal(err)
	}
	defer srv.Close()

	start := time.Now()
	ts := o.addTenants(srv)
	fmt.Fprintf(os.Stderr, "fakegraph: %d tenant(s) of %d users generated in %s\n", o.tenants, o.users, time.Since(start).Round(time.Millisecond))

	if err := o.writeFiles(srv, ts, names); err != nil {
		fatal(err)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	fmt.Printf("ready %s\n", srv.URL())
	<-sig
}

// check refuses the -groups and -attack flags the fake cannot honour.
func (o options) check() error {
	if o.groups < 0 || (o.groups > 0 && (o.groupMembers < 0 || o.groupMembers > o.users)) {
		return fmt.Errorf("-groups %d -group-members %d: want groups >= 0 and 0 <= members <= users (%d)", o.groups, o.groupMembers, o.users)
	}
	if o.attack != "" && !slices.Contains(fakegraph.Attacks(), fakegraph.Attack(o.attack)) {
		return fmt.Errorf("unknown attack %q (known: %s)", o.attack, attackNames())
	}
	return nil
}

// addTenants generates the tenants' synthetic data, with the -groups groups
// and, but for the last -healthy ones, the -attack, and adds them to srv.
func (o options) addTenants(srv *fakegraph.Server) []fakegraph.Tenant {
	now := time.Now()
	ts := make([]fakegraph.Tenant, o.tenants)
	for i := range ts {
		secret := make([]byte, 16)
		_, _ = rand.Read(secret)
		ts[i] = fakegraph.Tenant{
			// Deterministic, valid GUIDs (version 4, variant 8), so runs can be compared.
			TenantID:     fmt.Sprintf("7e9a0000-0000-4000-8000-%012d", i+1),
			ClientID:     fmt.Sprintf("c1e90000-0000-4000-8000-%012d", i+1),
			ClientSecret: hex.EncodeToString(secret),
			Data:         fakegraph.Synthetic(o.seed+int64(i), o.users, now),
		}
		if o.groups > 0 {
			ts[i].Data.Groups = benchGroups(o.seed+int64(i), i, o.groups, o.groupMembers, ts[i].Data.Users)
		}
		if i < o.tenants-o.healthy {
			ts[i].Attack = fakegraph.Attack(o.attack)
		}
		srv.AddTenant(&ts[i])
	}
	return ts
}

// writeFiles writes ca.pem, groups.tsv (with -groups) and config.yaml into
// -dir, and checks that the exporter accepts config.yaml.
func (o options) writeFiles(srv *fakegraph.Server, ts []fakegraph.Tenant, reports []string) error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.dir, "ca.pem"), srv.CACertPEM(), 0o644); err != nil {
		return err
	}
	// Enough pages for the largest paged report at this page size, with room.
	maxPages := max(config.DefaultMaxPagesPerPoll, 2*(o.users/o.pageSize)+10)
	cfg := configYAML(srv, ts, reports, o.pollInterval, o.client, o.app, maxPages, o.groups > 0)
	if o.everyPoll {
		cfg = strings.Replace(cfg, "tenants:\n", "report_poll_intervals: {}\ntenants:\n", 1)
	}
	if o.groups > 0 {
		if err := os.WriteFile(filepath.Join(o.dir, "groups.tsv"), []byte(groupsTSV(ts)), 0o644); err != nil {
			return err
		}
	}
	cfgPath := filepath.Join(o.dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	// The file must be one the exporter accepts; fail here rather than there.
	if _, err := config.Load(cfgPath); err != nil {
		return fmt.Errorf("generated %s is invalid: %w", cfgPath, err)
	}
	return nil
}

func attackNames() string {
	var names []string
	for _, a := range fakegraph.Attacks() {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}

// reportNames turns -reports into config report names, in the config's order.
func reportNames(s string) ([]string, error) {
	switch s {
	case "all":
		return config.AllReports(), nil
	case "default":
		return config.DefaultReports(), nil
	}
	var out []string
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		if n, ok := graphNames[r]; ok {
			r = n
		}
		if !slices.Contains(config.AllReports(), r) {
			return nil, fmt.Errorf("unknown report %q", r)
		}
		out = append(out, r)
	}
	return out, nil
}

// configYAML is the exporter configuration for the fake's tenants. The
// secrets are inline: they are made up and live only as long as the fake.
func configYAML(srv *fakegraph.Server, ts []fakegraph.Tenant, reports []string, poll time.Duration, client, app rate, maxPages int, withGroups bool) string {
	d := func(v time.Duration) string { return model.Duration(v).String() }
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by bench/fakegraph for the fake Graph at %s.\n", srv.URL())
	fmt.Fprintf(&b, "poll_interval: %s\n", d(poll))
	fmt.Fprintf(&b, "graph_rate_limit:\n  requests: %d\n  per: %s\n", client.n, d(client.per))
	fmt.Fprintf(&b, "graph_app_rate_limit:\n  requests: %d\n  per: %s\n", app.n, d(app.per))
	fmt.Fprintf(&b, "max_pages_per_poll: %d\n", maxPages)
	b.WriteString("tenants:\n")
	for i, t := range ts {
		fmt.Fprintf(&b, "  - name: t%03d\n", i+1)
		fmt.Fprintf(&b, "    tenant_id: %s\n    client_id: %s\n    client_secret: %q\n", t.TenantID, t.ClientID, t.ClientSecret)
		fmt.Fprintf(&b, "    authority_host: %s\n    graph_endpoint: %s\n", srv.AuthorityHost(), srv.GraphEndpoint())
		fmt.Fprintf(&b, "    reports: [%s]\n", strings.Join(reports, ", "))
		if groups := t.Data.Groups; withGroups && len(groups) > 0 {
			b.WriteString("    groups:\n")
			for _, g := range groups {
				fmt.Fprintf(&b, "      %s: %s\n", g.Name, g.ID)
			}
		}
	}
	return b.String()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "fakegraph:", err)
	os.Exit(1)
}
