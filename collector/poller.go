package collector

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/status"
)

// settings is everything a tenant's poller is built from; a reload keeps a
// poller whose settings are unchanged.
type settings struct {
	tenant                                      config.Tenant
	pollInterval, requestTimeout                time.Duration
	rateLimit, appRateLimit                     config.RateLimit
	maxFailureReasons, maxLabelValues, maxPages int
	exclude                                     map[string]bool // metric families left out (exclude_metrics)
}

func (s settings) interval(report string) time.Duration {
	return s.tenant.PollInterval(report, s.pollInterval)
}

// retention is how long a label value or counter series outlives the last poll that saw it.
func (s settings) retention(report string) time.Duration {
	return seriesRetentionPolls * s.interval(report)
}

// labelCaps returns the cap on the values of each label the report takes from Graph.
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

// reportStatus is the immutable state of one report of one tenant, swapped
// whole after each poll; scrapes read it without locks.
type reportStatus struct {
	status.Report         // what the landing page shows
	metrics       encoded // the last successful poll's
	duration      time.Duration
	errors        map[graphapi.Reason]float64

	statusMetrics encoded // the above as samples
}

type reportPoller struct {
	name   string
	report report
	labels *labelLimit // written only by the poller's goroutine
	status atomic.Pointer[reportStatus]
}

// tenantPoller polls one tenant's reports one after another: they share the
// tenant's throttle budget.
type tenantPoller struct {
	settings settings
	client   *graphapi.Client
	groups   *graphapi.Client // for the group reads; nil when the tenant has none
	reports  []*reportPoller
	live     *liveCounters
	encoder  *exposition.Encoder
	now      func() time.Time // Options.Now: what Graph's data is measured against
	logger   log.Logger

	info encoded // constant: tenant info, poll intervals

	firstPollDone atomic.Bool
	cancel        context.CancelFunc
	done          chan struct{}
}

// graphDeps is what a poller shares with those before and after it across
// reloads: its credential (and cached token), and its tenant's and app's pacing.
type graphDeps struct {
	cred                azcore.TokenCredential
	limiter, appLimiter *graphapi.Limiter
}

// newTenantPoller builds a poller; now dates its polls' data.
func newTenantPoller(s settings, hc *http.Client, deps graphDeps, live *liveCounters, enc *exposition.Encoder, now func() time.Time, userAgent string, logger log.Logger) (*tenantPoller, error) {
	t := s.tenant
	p := &tenantPoller{settings: s, live: live, encoder: enc, now: now,
		logger: log.With(logger, "tenant", t.Name), done: make(chan struct{})}
	opts := graphapi.Options{
		Endpoint:       t.GraphEndpoint,
		Credential:     deps.cred,
		HTTPClient:     hc,
		RequestTimeout: s.requestTimeout,
		Limiter:        deps.limiter,
		AppLimiter:     deps.appLimiter,
		MaxPages:       s.maxPages,
		OnResponse:     func(code int) { inc(live.requests, t.Name, strconv.Itoa(code)) },
		UserAgent:      userAgent,
	}
	client, err := graphapi.New(opts)
	if err != nil {
		return nil, err
	}
	p.client = client
	if len(t.Groups) > 0 {
		// The same credential and Graph, paced apart from the reports.
		opts.Limiter, opts.AppLimiter = graphapi.NewLimiter(groupRequests, groupPer), nil
		if p.groups, err = graphapi.New(opts); err != nil {
			return nil, err
		}
	}
	var info snapshot
	if !s.exclude[namespace+"_tenant_info"] { // a tenant's own labels make a descriptor encode does not know
		d, labels := tenantInfo(t.Labels)
		info.gauge(d, 1, append([]string{t.TenantID, t.Cloud}, labels...)...)
	}
	for _, name := range t.Reports {
		info.gauge(pollIntervalDesc, s.interval(name).Seconds(), name)
		// Every name config accepts is registered (TestEveryReportIsRegistered).
		rp := &reportPoller{name: name, report: reports[name].new(), labels: newLabelLimit(s.labelCaps(name), s.retention(name))}
		p.setStatus(rp, &reportStatus{Report: status.Report{Report: name}, errors: map[graphapi.Reason]float64{}})
		p.reports = append(p.reports, rp)
	}
	if p.info, err = p.encode(info); err != nil {
		return nil, err
	}
	return p, nil
}

// encoded is a snapshot without the excluded families (for Collect), and
// the same in the text format (for Pieces).
type encoded struct {
	samples snapshot
	pieces  []exposition.Piece
}

// encode leaves out of ms, in place, the families exclude_metrics names.
func (p *tenantPoller) encode(ms snapshot) (encoded, error) {
	ms = slices.DeleteFunc(ms, func(x sample) bool { return p.settings.exclude[families[x.desc].Name] })
	pieces, err := p.encoder.Encode(ms.constMetrics(p.settings.tenant.Name))
	return encoded{samples: ms, pieces: pieces}, err
}

// inherit takes over prev's state if both read the same directory through
// the same Graph, and reports whether it did: counters go on rather than
// reset, which would make increase() see 30 days of events at once.
// Call it after prev has stopped and before p starts.
func (p *tenantPoller) inherit(prev *tenantPoller) bool {
	a, b := p.settings.tenant, prev.settings.tenant
	if a.TenantID != b.TenantID || a.GraphEndpoint != b.GraphEndpoint {
		return false
	}
	for _, rp := range p.reports {
		for _, old := range prev.reports {
			if old.name == rp.name {
				rp.report, rp.labels = old.report, old.labels
				rp.labels.max, rp.labels.retention = p.settings.labelCaps(rp.name), p.settings.retention(rp.name)
				// Encoded again: the excluded families may have changed.
				st := *old.status.Load()
				st.metrics, _ = p.encode(slices.Clone(st.metrics.samples)) // encoded before: consistent
				p.setStatus(rp, &st)
			}
		}
	}
	p.firstPollDone.Store(prev.firstPollDone.Load())
	return true
}

// start runs the poller, its first round after delay, until ctx is
// cancelled or stop is called. A report is due its interval after the round
// that last polled it (a failed one after poll_interval if that is shorter).
func (p *tenantPoller) start(ctx context.Context, delay time.Duration) {
	ctx, p.cancel = context.WithCancel(ctx)
	go func() {
		defer close(p.done)
		if sleep(ctx, delay) {
			p.run(ctx)
		}
	}()
}

func (p *tenantPoller) run(ctx context.Context) {
	if len(p.reports) == 0 {
		p.firstPollDone.Store(true)
		<-ctx.Done()
		return
	}
	due := make([]time.Time, len(p.reports)) // zero: due at once
	for {
		start := time.Now()
		if !p.round(ctx, start, due) {
			return
		}
		p.firstPollDone.Store(true)
		next := slices.MinFunc(due, time.Time.Compare)
		p.noteOverrun(start, next)
		if !sleep(ctx, time.Until(next)) {
			return
		}
	}
}

// round polls the reports that are due, in order, and sets when each one
// polled is due next. It returns false if ctx ended first.
func (p *tenantPoller) round(ctx context.Context, start time.Time, due []time.Time) bool {
	var round pollRound
	// Between 0.95 and 1.05, so tenants started together drift apart;
	// one per round, so reports of one interval stay together.
	spread := 1 + (rand.Float64()-0.5)*0.1
	for i, rp := range p.reports {
		if ctx.Err() != nil {
			return false
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
	return true
}

// noteOverrun counts and logs a round, begun at start, that ended after a
// report was due again (at next): the next round starts at once.
func (p *tenantPoller) noteOverrun(start, next time.Time) {
	late := time.Since(next)
	if late <= 0 {
		return
	}
	inc(p.live.overruns, p.settings.tenant.Name)
	level.Warn(p.logger).Log("msg", "polling the tenant's reports took longer than the shortest of their poll intervals; the next round starts now",
		"took", time.Since(start).Round(time.Millisecond), "late", late.Round(time.Millisecond),
		"hint", "raise poll_interval or report_poll_intervals, or split the tenants across app registrations or shards")
}

// sleep waits for d, or less if ctx ends first: then it returns false.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d): // collected once unreferenced, even before it fires
		return true
	}
}

// stop cancels the poller, including a request in flight, and waits for it.
func (p *tenantPoller) stop() {
	p.cancel()
	<-p.done
}

// minPollDeadline is the least time a report's poll is given, so with a
// short poll_interval a large report still finishes rather than being cut off.
const minPollDeadline = 10 * time.Minute

// pollRound is one pass over a tenant's reports. A token that cannot be had
// fails the rest of the pass alike, logged once, without asking the token
// endpoint again (each try may take request_timeout). Once a report has
// failed with a 5xx, network error, timeout or throttling, Graph is likely
// down: the rest of the pass retries once only, so the round ends soon.
type pollRound struct {
	authErr   error // the round's token failure
	graphDown bool
}

// pollReport polls one report under its deadline and swaps in its new
// status; it reports whether the poll succeeded. A poll cut short by
// shutdown is not an error.
func (p *tenantPoller) pollReport(ctx context.Context, rp *reportPoller, round *pollRound) bool {
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, max(p.settings.interval(rp.name), minPollDeadline))
	defer cancel()
	if round.graphDown {
		pctx = p.client.WithFewerRetries(pctx)
	}
	env := &pollEnv{client: p.client, groups: p.groups, tenant: p.settings.tenant, report: rp.name, now: p.now()}
	env.labels = rp.labels.begin(env.now)
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
	st := *rp.status.Load()
	st.Polled, st.Up, st.duration, st.LastError = true, err == nil, end.Sub(start), ""
	if err == nil {
		rp.labels = env.labels // the poll's label values, now they count
		st.LastSuccess, st.Records = end, records
		var encErr error
		if st.metrics, encErr = p.encode(metrics); encErr != nil { // a bug, not Graph's doing
			level.Error(p.logger).Log("msg", "some of the report's metrics are inconsistent and left out of /metrics", "report", rp.name, "err", encErr)
		}
		level.Debug(p.logger).Log("msg", "poll succeeded", "report", rp.name, "records", records, "duration", st.duration)
	} else {
		msg := "poll failed; no data yet"
		if !st.LastSuccess.IsZero() {
			msg = "poll failed; keeping the last good values"
		}
		logAt := level.Warn
		if round.authErr != nil {
			logAt = level.Debug // the round's token failure, logged already
		}
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
		st.errors = maps.Clone(st.errors)
		st.errors[reason]++
		st.LastError = err.Error()
		kv := []any{"msg", msg, "report", rp.name, "reason", reason, "err", err}
		if hint := graphapi.HintOf(err); hint != "" {
			kv = append(kv, "hint", hint)
		}
		logAt(p.logger).Log(kv...)
	}
	p.setStatus(rp, &st)
	return err == nil
}

// setStatus stores st as rp's status, with its metrics encoded once: scrapes only send them.
func (p *tenantPoller) setStatus(rp *reportPoller, st *reportStatus) {
	var m snapshot
	if st.Polled {
		m.gauge(reportUpDesc, float64(b2i(st.Up)), rp.name)
		m.gauge(reportDurationDesc, st.duration.Seconds(), rp.name)
	}
	if !st.LastSuccess.IsZero() {
		m.gauge(reportLastSuccessDesc, float64(st.LastSuccess.UnixNano())/1e9, rp.name)
		m.gauge(reportRecordsDesc, float64(st.Records), rp.name)
	}
	for _, reason := range graphapi.Reasons() {
		m.counter(reportErrorsDesc, st.errors[reason], rp.name, string(reason))
	}
	st.statusMetrics, _ = p.encode(m) // built just above: consistent
	rp.status.Store(st)
}

// parts yields what Collect and Pieces send of the tenant, without
// allocating: a scrape goes through every tenant.
func (p *tenantPoller) parts(yield func(encoded) bool) {
	if !yield(p.info) {
		return
	}
	for _, rp := range p.reports {
		st := rp.status.Load()
		if !yield(st.metrics) || !yield(st.statusMetrics) {
			return
		}
	}
}
