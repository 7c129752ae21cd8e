// Package collector polls each tenant's reports in the background, keeps
// the last good result of each as an immutable snapshot of const metrics,
// and serves the snapshots to Prometheus. It never calls Graph from a scrape.
package collector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/status"
)

// Options configures an Exporter.
type Options struct {
	Logger     log.Logger
	HTTPClient *http.Client // for Graph and token requests; nil: system CA pool
	UserAgent  string
	// Now is the clock Graph's data is measured against (period_* windows,
	// ages of events and label values); nil: time.Now. Tests and the demo fix
	// it so their output does not depend on the day. Polls stay on the wall clock.
	Now func() time.Time

	// newCredential builds a tenant's credential; nil: graphapi.NewCredential.
	newCredential func(config.Tenant, *http.Client) (azcore.TokenCredential, error)
}

// Exporter runs a poller per tenant and is the prometheus.Collector of
// their snapshots. Apply may be called again to reload the configuration.
type Exporter struct {
	ctx  context.Context // pollers live until it is cancelled
	opts Options

	mu      sync.Mutex                      // serialises Apply and Wait
	pollers atomic.Pointer[[]*tenantPoller] // read by scrapes
	applied atomic.Bool
	encoder exposition.Encoder // shared by the pollers: one copy of each family header
	live    *liveCounters      // see LiveCounters

	// Kept across reloads, under mu, so a restarted tenant is neither paced
	// anew nor fetches another token.
	limiters    map[limitKey]*graphapi.Limiter
	credentials map[credentialKey]azcore.TokenCredential
}

// limitKey keys a limiter. Graph throttles per app and tenant, and counts
// requests per app across tenants too: an app's limiter has no tenant.
type limitKey struct {
	tenantID, clientID, graphEndpoint string
	limit                             config.RateLimit
}

// credentialKey is everything a credential is built from.
type credentialKey struct {
	tenantID, clientID, auth, authorityHost string
	secret, secretFile, certificateFile     string
}

// New returns an Exporter whose pollers run until ctx is cancelled.
func New(ctx context.Context, opts Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.newCredential == nil {
		opts.newCredential = graphapi.NewCredential
	}
	e := &Exporter{ctx: ctx, opts: opts, live: newLiveCounters()}
	e.pollers.Store(&[]*tenantPoller{})
	return e
}

// Apply starts polling per cfg. Unchanged tenants keep their poller; others
// are restarted (keeping values and counters if they read the same
// directory); removed ones are stopped. If any new tenant cannot be set up,
// or the Exporter's context is done, nothing changes and the error says why.
func (e *Exporter) Apply(cfg *config.Config) error {
	exclude, err := excluded(cfg.ExcludeMetrics)
	if err != nil {
		return err
	}
	// Built anew so their files are checked as at start-up (one in use is
	// kept below if the same), before taking mu: reading a file may be slow.
	fresh := make([]azcore.TokenCredential, len(cfg.Tenants))
	for i, t := range cfg.Tenants {
		if fresh[i], err = e.opts.newCredential(t, e.opts.HTTPClient); err != nil {
			return fmt.Errorf("tenant %s: %w", t.Name, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// A reload racing shutdown: Wait would not wait for pollers started now.
	if e.ctx.Err() != nil {
		return errors.New("configuration not applied: the exporter is shutting down")
	}
	old := map[string]*tenantPoller{}
	for _, p := range *e.pollers.Load() {
		old[p.settings.tenant.Name] = p
	}
	var next, started []*tenantPoller
	limiters, creds := map[limitKey]*graphapi.Limiter{}, map[credentialKey]azcore.TokenCredential{}
	for i, t := range cfg.Tenants {
		s := settings{tenant: t, pollInterval: cfg.PollInterval, requestTimeout: cfg.RequestTimeout,
			rateLimit: cfg.GraphRateLimit, appRateLimit: cfg.GraphAppRateLimit,
			// Zero caps (a Config not from config.Load) take the defaults.
			maxFailureReasons: cmp.Or(cfg.MaxFailureReasons, config.DefaultMaxFailureReasons),
			maxLabelValues:    cmp.Or(cfg.MaxLabelValues, config.DefaultMaxLabelValues), maxPages: cfg.MaxPagesPerPoll,
			exclude: exclude}
		id, client := strings.ToLower(t.TenantID), strings.ToLower(t.ClientID)
		tk, ak := limitKey{id, client, t.GraphEndpoint, cfg.GraphRateLimit}, limitKey{clientID: client, limit: cfg.GraphAppRateLimit}
		ck := credentialKey{id, client, t.Auth, t.AuthorityHost, t.ClientSecret, t.ClientSecretFile, t.ClientCertificateFile}
		deps := graphDeps{
			cred:       keep(creds, e.credentials, ck, fresh[i]),
			limiter:    keep(limiters, e.limiters, tk, graphapi.NewLimiter(tk.limit.Requests, tk.limit.Per)),
			appLimiter: keep(limiters, e.limiters, ak, graphapi.NewLimiter(ak.limit.Requests, ak.limit.Per)),
		}
		if p := old[t.Name]; p != nil && reflect.DeepEqual(p.settings, s) {
			next = append(next, p)
			continue
		}
		p, err := newTenantPoller(s, e.opts.HTTPClient, deps, e.live, &e.encoder, e.opts.Now, e.opts.UserAgent, e.opts.Logger)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", t.Name, err)
		}
		next = append(next, p)
		started = append(started, p)
	}
	e.swap(old, next, started, cfg.PollInterval)
	e.live.exclude.Store(&exclude)
	e.pollers.Store(&next)
	e.applied.Store(true)
	// What the configuration no longer uses is forgotten.
	e.limiters, e.credentials = limiters, creds
	level.Info(e.opts.Logger).Log("msg", "configuration applied", "tenants", len(next), "restarted", len(started))
	return nil
}

// swap stops the old pollers that next does not keep and starts those
// started, staggered. A restarted tenant inherits its predecessor's state
// when it can, else its live counters start anew; a removed tenant's go.
func (e *Exporter) swap(old map[string]*tenantPoller, next, started []*tenantPoller, pollInterval time.Duration) {
	for name, p := range old {
		if !slices.Contains(next, p) {
			p.stop()
		}
		if !slices.ContainsFunc(next, func(q *tenantPoller) bool { return q.settings.tenant.Name == name }) {
			e.live.remove(name)
		}
	}
	step := stagger(pollInterval, len(started))
	for i, p := range started {
		// prev has stopped: its state is no longer written.
		if prev := old[p.settings.tenant.Name]; prev == nil || !p.inherit(prev) {
			e.live.reset(p.settings.tenant.Name)
		}
		p.start(e.ctx, time.Duration(i)*step)
	}
}

// keep returns inUse[k], else fresh, and records it in next.
func keep[K comparable, V any](next, inUse map[K]V, k K, fresh V) V {
	v, ok := next[k]
	if !ok {
		if v, ok = inUse[k]; !ok {
			v = fresh
		}
		next[k] = v
	}
	return v
}

// excluded checks exclude_metrics against Families and returns it as a set.
func excluded(names []string) (map[string]bool, error) {
	set, known := map[string]bool{}, Families()
	var errs []error
	for _, n := range names {
		if !slices.ContainsFunc(known, func(f Family) bool { return f.Name == n }) {
			errs = append(errs, fmt.Errorf("exclude_metrics: %q is not a metric family the exporter's collector emits (docs/metrics.md lists them)", n))
		}
		set[n] = true
	}
	return set, errors.Join(errs...)
}

// Check builds every tenant's credential as Apply does, without polling:
// --config.check refuses exactly what start-up refuses.
func Check(cfg *config.Config, hc *http.Client) error {
	_, err := excluded(cfg.ExcludeMetrics)
	errs := []error{err}
	// Tenants sharing a credential file (through defaults:) share its problem: reported once.
	var problems []string
	tenants := map[string][]string{}
	for i, t := range cfg.Tenants {
		if _, err := graphapi.NewCredential(t, hc); err != nil {
			msg := err.Error()
			if tenants[msg] == nil {
				problems = append(problems, msg)
			}
			tenants[msg] = append(tenants[msg], fmt.Sprintf("tenants[%d] (%s)", i, t.Name))
		}
	}
	for _, msg := range problems {
		who := tenants[msg]
		if len(who) > 3 {
			who = append(who[:2:2], fmt.Sprintf("%d more", len(who)-2))
		}
		errs = append(errs, fmt.Errorf("%s: %s", strings.Join(who, ", "), msg))
	}
	return errors.Join(errs...)
}

// stagger sets apart the first rounds of n tenants started together, evenly
// over poll_interval but at most a second apart and a minute in all, so
// their tokens and pages are not fetched at once yet no tenant waits long.
func stagger(pollInterval time.Duration, n int) time.Duration {
	if n < 2 {
		return 0
	}
	return min(pollInterval/time.Duration(n), time.Second, time.Minute/time.Duration(n))
}

// Wait blocks until every poller has ended (after the context is cancelled).
func (e *Exporter) Wait() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range *e.pollers.Load() {
		<-p.done
	}
}

// Ready reports whether a configuration has been applied and every
// tenant's first poll has finished.
func (e *Exporter) Ready() bool {
	pending := func(p *tenantPoller) bool { return !p.firstPollDone.Load() }
	return e.applied.Load() && !slices.ContainsFunc(*e.pollers.Load(), pending)
}

// Describe sends every descriptor but the live counters' (LiveCounters).
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs() {
		ch <- d
	}
}

// Collect sends every tenant's metrics from memory, never calling Graph,
// but for the live counters (LiveCounters).
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	for _, p := range *e.pollers.Load() {
		for part := range p.parts {
			for _, m := range part.samples.constMetrics(p.settings.tenant.Name) {
				ch <- m
			}
		}
	}
}

// Pieces yields what Collect sends, encoded for the text format.
func (e *Exporter) Pieces() iter.Seq[[]exposition.Piece] {
	pollers := *e.pollers.Load()
	return func(yield func([]exposition.Piece) bool) {
		for _, p := range pollers {
			for part := range p.parts {
				if !yield(part.pieces) {
					return
				}
			}
		}
	}
}

// LiveCounters returns the counters that move while tenants poll, left out
// of Collect and Pieces (exclude_metrics applies): register it alongside.
func (e *Exporter) LiveCounters() prometheus.Collector { return e.live }

// Status returns every tenant's report status.
func (e *Exporter) Status() []status.Tenant {
	var out []status.Tenant
	for _, p := range *e.pollers.Load() {
		ts := status.Tenant{Tenant: p.settings.tenant.Name}
		for _, rp := range p.reports {
			ts.Reports = append(ts.Reports, rp.status.Load().Report)
			if r, ok := rp.report.(*userRegistrationDetails); ok && len(p.settings.tenant.Groups) > 0 {
				ts.Groups = r.groupStatus(p.settings.tenant.Groups)
			}
		}
		out = append(out, ts)
	}
	return out
}
