// Package collector polls each tenant's reports in the background, keeps
// the last good result of each as an immutable snapshot of const metrics,
// and serves the snapshots to Prometheus. It never calls Graph from a scrape.
package collector

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// Options configures an Exporter.
type Options struct {
	Logger     log.Logger
	HTTPClient *http.Client // for Graph and token requests; nil: system CA pool
	UserAgent  string
}

// Exporter runs a poller per tenant and is the prometheus.Collector for all
// of them. Apply may be called again to reload the configuration.
type Exporter struct {
	ctx  context.Context // pollers live until it is cancelled
	opts Options

	mu          sync.Mutex                      // serialises Apply and Wait
	pollers     atomic.Pointer[[]*tenantPoller] // read by scrapes
	appLimiters map[appLimit]*graphapi.Limiter  // by app registration and limit; under mu
	encoder     exposition.Encoder              // shared by the pollers, for its compressors
}

// appLimit keys the limiter shared by the tenants of one app registration:
// Graph counts requests per app across tenants too.
type appLimit struct {
	clientID string
	limit    config.RateLimit
}

// New returns an Exporter whose pollers run until ctx is cancelled.
func New(ctx context.Context, opts Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	e := &Exporter{ctx: ctx, opts: opts, appLimiters: map[appLimit]*graphapi.Limiter{}}
	e.pollers.Store(&[]*tenantPoller{})
	return e
}

// Apply starts polling per cfg. Tenants whose settings are unchanged keep
// their poller; others are restarted, keeping their values and counters
// while they read the same directory, and removed ones are stopped.
// If any new tenant cannot be set up, nothing changes and the error says why.
func (e *Exporter) Apply(cfg *config.Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := map[string]*tenantPoller{}
	for _, p := range *e.pollers.Load() {
		old[p.settings.tenant.Name] = p
	}
	var next, started []*tenantPoller
	for _, t := range cfg.Tenants {
		s := settings{tenant: t, pollInterval: cfg.PollInterval, requestTimeout: cfg.RequestTimeout,
			rateLimit: cfg.GraphRateLimit, appRateLimit: cfg.GraphAppRateLimit,
			maxFailureReasons: cfg.MaxFailureReasons, maxPages: cfg.MaxPagesPerPoll}
		if p := old[t.Name]; p != nil && p.settings.equal(s) {
			next = append(next, p)
			continue
		}
		key := appLimit{t.ClientID, cfg.GraphAppRateLimit}
		if e.appLimiters[key] == nil {
			e.appLimiters[key] = graphapi.NewLimiter(key.limit.Requests, key.limit.Per)
		}
		p, err := newTenantPoller(s, e.opts.HTTPClient, e.appLimiters[key], &e.encoder, e.opts.UserAgent, e.opts.Logger)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", t.Name, err)
		}
		next = append(next, p)
		started = append(started, p)
	}
	for _, p := range old {
		if !slices.Contains(next, p) {
			p.stop()
		}
	}
	step := stagger(cfg.PollInterval, len(started))
	for i, p := range started {
		if prev := old[p.settings.tenant.Name]; prev != nil {
			p.inherit(prev) // prev has stopped: its state is no longer written
		}
		p.start(e.ctx, time.Duration(i)*step)
	}
	e.pollers.Store(&next)
	for key := range e.appLimiters { // forget the limiters of apps no longer polled
		if !slices.ContainsFunc(next, func(p *tenantPoller) bool {
			return p.settings.tenant.ClientID == key.clientID && p.settings.appRateLimit == key.limit
		}) {
			delete(e.appLimiters, key)
		}
	}
	level.Info(e.opts.Logger).Log("msg", "configuration applied", "tenants", len(next), "restarted", len(started))
	return nil
}

// maxStagger is the most that the first rounds of tenants started together
// are set apart.
const maxStagger = time.Second

// stagger sets apart the first rounds of n tenants started together, evenly
// over poll_interval but at most maxStagger apart: hundreds of tenants do
// not fetch their tokens and first pages in the same instant, and their
// later rounds, one interval apart, stay spread; yet a restart does not keep
// any tenant's data away for long (200 tenants: their first rounds start
// over 200 s).
func stagger(pollInterval time.Duration, n int) time.Duration {
	if n < 2 {
		return 0
	}
	return min(pollInterval/time.Duration(n), maxStagger)
}

// Wait blocks until every poller has ended (after the context is cancelled).
func (e *Exporter) Wait() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range *e.pollers.Load() {
		<-p.done
	}
}

// Ready reports whether every tenant's first poll has finished, successfully or not.
func (e *Exporter) Ready() bool {
	for _, p := range *e.pollers.Load() {
		if !p.firstPollDone.Load() {
			return false
		}
	}
	return true
}

// Describe sends every descriptor the exporter may emit.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect sends every tenant's metrics; it only reads memory. Pieces holds
// the same, encoded for the text format.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	for _, p := range *e.pollers.Load() {
		for _, m := range p.info {
			ch <- m
		}
		p.collectLive(ch)
		for _, rp := range p.reports {
			st := rp.status.Load()
			for _, m := range st.metrics {
				ch <- m
			}
			for _, m := range st.statusMetrics {
				ch <- m
			}
		}
	}
}

// Pieces returns what Collect sends, encoded for the text format: the
// snapshots as they were when stored, and each tenant's live metrics
// (requests, overruns) encoded again only when they have changed.
func (e *Exporter) Pieces() [][]exposition.Piece {
	pollers := *e.pollers.Load()
	n := 0
	for _, p := range pollers {
		n += 2 + 2*len(p.reports)
	}
	out := make([][]exposition.Piece, 0, n)
	for _, p := range pollers {
		out = append(out, p.infoPieces, p.livePieces())
		for _, rp := range p.reports {
			st := rp.status.Load()
			out = append(out, st.pieces, st.statusPieces)
		}
	}
	return out
}

// ReportStatus is one report's state, for the landing page.
type ReportStatus struct {
	Report      string
	Polled      bool
	Up          bool
	LastSuccess time.Time
	Records     int
	LastError   string
}

// TenantStatus is one tenant's state, for the landing page.
type TenantStatus struct {
	Tenant  string
	Reports []ReportStatus
}

// Status returns every tenant's report status.
func (e *Exporter) Status() []TenantStatus {
	var out []TenantStatus
	for _, p := range *e.pollers.Load() {
		ts := TenantStatus{Tenant: p.settings.tenant.Name}
		for _, rp := range p.reports {
			st := rp.status.Load()
			ts.Reports = append(ts.Reports, ReportStatus{Report: rp.name, Polled: st.polled, Up: st.up,
				LastSuccess: st.lastSuccess, Records: st.records, LastError: st.lastError})
		}
		out = append(out, ts)
	}
	return out
}
