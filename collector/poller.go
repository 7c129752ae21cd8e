package collector

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strconv"
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
)

// settings is everything a tenant's poller is built from; a reload keeps a
// poller (and its distinct-event counters) when its settings are unchanged.
type settings struct {
	tenant            config.Tenant
	pollInterval      time.Duration
	requestTimeout    time.Duration
	rateLimit         config.RateLimit
	appRateLimit      config.RateLimit
	maxFailureReasons int
	maxLabelValues    int
	maxPages          int
	exclude           map[string]bool // metric families left out (exclude_metrics)
}

// interval is how often the report is polled.
func (s settings) interval(report string) time.Duration {
	return s.tenant.PollInterval(report, s.pollInterval)
}

// keep returns ms without the samples of excluded families.
func (s settings) keep(ms snapshot) snapshot {
	if len(s.exclude) == 0 {
		return ms
	}
	return slices.DeleteFunc(ms, func(x sample) bool { return s.exclude[families[x.desc].Name] })
}

func (s settings) equal(o settings) bool {
	return reflect.DeepEqual(s, o)
}

// reportStatus is the immutable state of one report of one tenant, swapped
// whole after each poll; scrapes read it without locks.
type reportStatus struct {
	metrics     snapshot // the last successful poll's
	polled      bool     // a poll has finished
	up          bool
	lastSuccess time.Time
	duration    time.Duration
	records     int
	errors      map[graphapi.Reason]float64
	lastError   string

	statusMetrics snapshot // the above as samples

	// metrics and statusMetrics encoded for the text format (exposition)
	pieces, statusPieces []exposition.Piece
}

type reportPoller struct {
	name   string
	report report
	labels *labelLimit // written only by the poller's goroutine
	status atomic.Pointer[reportStatus]
}

// tenantPoller polls one tenant's reports one after another (they share the
// tenant's throttle budget), first at start-up and then every poll_interval.
type tenantPoller struct {
	settings settings
	client   *graphapi.Client
	reports  []*reportPoller
	requests *codeCounter
	encoder  *exposition.Encoder
	logger   log.Logger

	info       snapshot           // constant: tenant info, poll intervals
	infoPieces []exposition.Piece // info, encoded
	live       atomic.Pointer[encodedLive]

	firstPollDone atomic.Bool
	overruns      atomic.Int64 // rounds that took longer than poll_interval
	cancel        context.CancelFunc
	done          chan struct{}
}

// graphDeps is what a poller shares with the pollers before and after it
// across reloads: its credential (and so its cached token), and the pacing
// of its tenant and of its app registration (and so Graph's Retry-After).
type graphDeps struct {
	cred                azcore.TokenCredential
	limiter, appLimiter *graphapi.Limiter
}

// newTenantPoller builds a poller; enc encodes its snapshots (nil: its own).
func newTenantPoller(s settings, hc *http.Client, deps graphDeps, enc *exposition.Encoder, userAgent string, logger log.Logger) (*tenantPoller, error) {
	if enc == nil {
		enc = &exposition.Encoder{}
	}
	t := s.tenant
	requests := &codeCounter{counts: map[int]float64{}}
	client, err := graphapi.New(graphapi.Options{
		Endpoint:       t.GraphEndpoint,
		Credential:     deps.cred,
		HTTPClient:     hc,
		RequestTimeout: s.requestTimeout,
		Limiter:        deps.limiter,
		AppLimiter:     deps.appLimiter,
		MaxPages:       s.maxPages,
		OnResponse:     requests.inc,
		UserAgent:      userAgent,
	})
	if err != nil {
		return nil, err
	}
	p := &tenantPoller{
		settings: s,
		client:   client,
		requests: requests,
		encoder:  enc,
		logger:   log.With(logger, "tenant", t.Name),
		done:     make(chan struct{}),
	}
	info := &metricSet{}
	if !s.exclude[namespace+"_tenant_info"] {
		d, labels := tenantInfo(t.Labels)
		info.gauge(d, 1, append([]string{t.TenantID, t.Cloud}, labels...)...)
	}
	for _, name := range t.Reports {
		info.gauge(pollIntervalDesc, s.interval(name).Seconds(), name)
	}
	p.info = s.keep(info.metrics)
	if p.infoPieces, err = enc.Encode(p.info.constMetrics(t.Name)); err != nil {
		return nil, err
	}
	for _, name := range t.Reports {
		rp := &reportPoller{name: name, report: newReport(name), labels: newLabelLimit(s.labelCaps(name), s.retention(name))}
		rp.status.Store((&reportStatus{errors: zeroErrors()}).withStatusMetrics(enc, s, name))
		p.reports = append(p.reports, rp)
	}
	return p, nil
}

// inherit takes over the state of the poller it replaces on a reload, when
// both read the same directory through the same Graph: the last snapshots
// stay on /metrics, and counters (distinct events, errors, requests) go on
// rather than reset, which would make increase() see a whole 30 days of
// events at once. Call it after prev has stopped and before p starts.
func (p *tenantPoller) inherit(prev *tenantPoller) {
	a, b := p.settings.tenant, prev.settings.tenant
	if a.TenantID != b.TenantID || a.GraphEndpoint != b.GraphEndpoint {
		return
	}
	p.requests = prev.requests
	p.overruns.Store(prev.overruns.Load())
	for _, rp := range p.reports {
		for _, old := range prev.reports {
			if old.name == rp.name {
				rp.report = old.report
				rp.labels = old.labels
				rp.labels.max, rp.labels.retention = p.settings.labelCaps(rp.name), p.settings.retention(rp.name)
				// Encoded again: the excluded families may have changed.
				st := *old.status.Load()
				st.metrics = p.settings.keep(slices.Clone(st.metrics))
				st.pieces, _ = p.encoder.Encode(st.metrics.constMetrics(p.settings.tenant.Name)) // encoded before: consistent
				rp.status.Store(st.withStatusMetrics(p.encoder, p.settings, rp.name))
			}
		}
	}
	if prev.firstPollDone.Load() {
		p.firstPollDone.Store(true)
	}
}

// labelCaps returns the caps on the values of each label the report takes
// from Graph.
func (s settings) labelCaps(report string) map[string]int {
	caps := map[string]int{}
	for _, label := range reports[report].labels {
		caps[label] = s.maxLabelValues
		if label == "reason" {
			caps[label] = s.maxFailureReasons
		}
	}
	return caps
}

// retention is how long a label value or counter series of the report
// outlives the last poll that saw it.
func (s settings) retention(report string) time.Duration {
	return seriesRetentionPolls * s.interval(report)
}

func zeroErrors() map[graphapi.Reason]float64 {
	m := make(map[graphapi.Reason]float64, len(graphapi.Reasons()))
	for _, r := range graphapi.Reasons() {
		m[r] = 0
	}
	return m
}

// start runs the poller, its first round after delay, until ctx is
// cancelled or stop is called. The first round polls every report; later
// ones poll the reports that are due, each one its interval after the start
// of the round that last polled it (a failed one sooner: after poll_interval,
// if that is shorter).
func (p *tenantPoller) start(ctx context.Context, delay time.Duration) {
	ctx, p.cancel = context.WithCancel(ctx)
	go func() {
		defer close(p.done)
		if !sleep(ctx, delay) {
			return
		}
		if len(p.reports) == 0 {
			p.firstPollDone.Store(true)
			<-ctx.Done()
			return
		}
		due := make([]time.Time, len(p.reports)) // zero: due at once
		for {
			var round pollRound
			start := time.Now()
			spread := jitter() // one per round, so reports of one interval stay together
			for i, rp := range p.reports {
				if ctx.Err() != nil {
					return
				}
				if time.Now().Before(due[i]) {
					continue
				}
				interval := p.settings.interval(rp.name)
				if !p.pollReport(ctx, rp, &round) {
					interval = min(interval, p.settings.pollInterval)
				}
				due[i] = start.Add(time.Duration(spread * float64(interval)))
			}
			p.firstPollDone.Store(true)
			next := slices.MinFunc(due, time.Time.Compare)
			// A report due again before the round ended: the schedule
			// cannot keep up, and the next round starts at once.
			if late := time.Since(next); late > 0 {
				p.overruns.Add(1)
				level.Warn(p.logger).Log("msg", "polling the tenant's reports took longer than the shortest of their poll intervals; the next round starts now",
					"took", time.Since(start).Round(time.Millisecond), "late", late.Round(time.Millisecond),
					"hint", "raise poll_interval or report_poll_intervals, or split the tenants across app registrations or shards")
			}
			if !sleep(ctx, time.Until(next)) {
				return
			}
		}
	}()
}

// sleep waits for d, or less if ctx ends first: then it returns false.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// stop cancels the poller, including a request in flight, and waits for it.
func (p *tenantPoller) stop() {
	p.cancel()
	<-p.done
}

// jitter returns a factor between 0.95 and 1.05 that spreads polls, so
// tenants started together drift apart. (Intervals are at most a week, far
// from overflowing.)
func jitter() float64 {
	return 1 + (rand.Float64()-0.5)*0.1
}

// minPollDeadline is the least time a report's poll is given: with a short
// poll_interval a large report still finishes (and the round is counted as
// an overrun) rather than being cut off every time.
const minPollDeadline = 10 * time.Minute

// pollReport polls one report under its deadline (its interval, or
// minPollDeadline if longer) and swaps in its new status; it reports
// whether the poll succeeded. A poll cut short by shutdown is not an error.
func (p *tenantPoller) pollReport(ctx context.Context, rp *reportPoller, round *pollRound) bool {
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, max(p.settings.interval(rp.name), minPollDeadline))
	defer cancel()
	if round.graphDown {
		pctx = p.client.WithFewerRetries(pctx)
	}
	env := &pollEnv{client: p.client, tenant: p.settings.tenant, report: rp.name, now: start,
		labels: rp.labels.begin(start), retention: p.settings.retention(rp.name)}
	var (
		metrics snapshot
		records int
		err     = round.authErr // no token this round: the report fails alike, without asking again
	)
	if err == nil {
		metrics, records, err = rp.report.poll(pctx, env)
	}
	end := time.Now()
	if err != nil && ctx.Err() != nil {
		return false
	}
	old := rp.status.Load()
	st := &reportStatus{
		metrics: old.metrics, pieces: old.pieces, polled: true, lastSuccess: old.lastSuccess,
		duration: end.Sub(start), records: old.records, errors: old.errors,
	}
	if err == nil {
		rp.labels = env.labels // the poll's label values, now they count
		st.metrics, st.up, st.lastSuccess, st.records = p.settings.keep(metrics), true, end, records
		var encErr error
		if st.pieces, encErr = p.encoder.Encode(st.metrics.constMetrics(p.settings.tenant.Name)); encErr != nil { // a bug, not Graph's doing
			level.Error(p.logger).Log("msg", "some of the report's metrics are inconsistent and left out of /metrics", "report", rp.name, "err", encErr)
		}
		level.Debug(p.logger).Log("msg", "poll succeeded", "report", rp.name, "records", records, "duration", st.duration)
	} else {
		reason := graphapi.ReasonOf(err)
		if errors.Is(err, context.DeadlineExceeded) && pctx.Err() != nil {
			reason = graphapi.ReasonTimeout
		}
		switch reason {
		case graphapi.ReasonServer, graphapi.ReasonNetwork, graphapi.ReasonTimeout, graphapi.ReasonThrottled:
			round.graphDown = true
		case graphapi.ReasonAuth:
			round.authErr = err
		}
		st.errors = maps.Clone(old.errors)
		st.errors[reason]++
		st.lastError = err.Error()
		msg := "poll failed; no data yet"
		if !old.lastSuccess.IsZero() {
			msg = "poll failed; keeping the last good values"
		}
		kv := []any{"msg", msg, "report", rp.name, "reason", reason, "err", err}
		if hint := graphapi.HintOf(err); hint != "" {
			kv = append(kv, "hint", hint)
		}
		if round.seen(reason) {
			level.Debug(p.logger).Log(kv...)
		} else {
			level.Warn(p.logger).Log(kv...)
		}
	}
	rp.status.Store(st.withStatusMetrics(p.encoder, p.settings, rp.name))
	return err == nil
}

// pollRound is one pass over a tenant's reports. A token that cannot be had
// fails every report of the pass alike, without asking the token endpoint
// again (which may take request_timeout each time): the log says so once
// per pass, with what to fix, rather than once per report. Once a report has failed after
// every retry with a 5xx, a network error, a timeout or throttling, Graph is
// most likely down or overloaded: the rest of the pass retries each request
// once only, so the round (and readiness) ends soon.
type pollRound struct {
	authLogged bool
	authErr    error // the round's token failure
	graphDown  bool
}

func (r *pollRound) seen(reason graphapi.Reason) bool {
	if reason != graphapi.ReasonAuth {
		return false
	}
	seen := r.authLogged
	r.authLogged = true
	return seen
}

// collectLive emits the tenant's metrics that change while it polls.
func (p *tenantPoller) collectLive(ch chan<- prometheus.Metric) {
	requests, _ := p.requests.snapshot()
	p.liveMetrics(requests).collect(p.settings.tenant.Name, ch)
}

func (p *tenantPoller) liveMetrics(requests map[int]float64) snapshot {
	m := &metricSet{}
	m.counter(pollOverrunsDesc, float64(p.overruns.Load()))
	for code, n := range requests {
		m.counter(graphRequestsDesc, n, strconv.Itoa(code))
	}
	return p.settings.keep(m.metrics)
}

// livePieces returns the live metrics encoded, encoding them again only
// when a request or an overrun has been counted since the last time.
func (p *tenantPoller) livePieces() []exposition.Piece {
	requests, responses := p.requests.snapshot()
	overruns := p.overruns.Load()
	if c := p.live.Load(); c != nil && c.responses == responses && c.overruns == overruns {
		return c.pieces
	}
	pieces, _ := p.encoder.Encode(p.liveMetrics(requests).constMetrics(p.settings.tenant.Name)) // built here: consistent
	p.live.Store(&encodedLive{responses: responses, overruns: overruns, pieces: pieces})
	return pieces
}

// encodedLive is the live metrics encoded when the counters stood so.
type encodedLive struct {
	responses uint64
	overruns  int64
	pieces    []exposition.Piece
}

// withStatusMetrics renders st's own metrics (up, duration, last success,
// records, errors) and encodes them once, when it is stored, so scrapes
// only send them.
func (st *reportStatus) withStatusMetrics(enc *exposition.Encoder, s settings, report string) *reportStatus {
	m := &metricSet{}
	if st.polled {
		m.gauge(reportUpDesc, float64(b2i(st.up)), report)
		m.gauge(reportDurationDesc, st.duration.Seconds(), report)
	}
	if !st.lastSuccess.IsZero() {
		m.gauge(reportLastSuccessDesc, float64(st.lastSuccess.UnixNano())/1e9, report)
		m.gauge(reportRecordsDesc, float64(st.records), report)
	}
	for _, reason := range graphapi.Reasons() {
		m.counter(reportErrorsDesc, st.errors[reason], report, string(reason))
	}
	st.statusMetrics = s.keep(m.metrics)
	st.statusPieces, _ = enc.Encode(st.statusMetrics.constMetrics(s.tenant.Name)) // built just above: consistent
	return st
}

// codeCounter counts Graph responses by status code.
type codeCounter struct {
	mu        sync.Mutex
	counts    map[int]float64
	responses uint64 // counted, of any code: tells whether counts changed
}

func (c *codeCounter) inc(code int) {
	c.mu.Lock()
	c.counts[code]++
	c.responses++
	c.mu.Unlock()
}

// snapshot returns the counts by code and how many responses they add up to.
func (c *codeCounter) snapshot() (map[int]float64, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts), c.responses
}
