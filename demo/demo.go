// Package demo runs the exporter's built-in demo tenant: fakegraph's fake
// identity platform and Graph on loopback (TLS, a generated CA), with
// synthetic users who keep registering methods and resetting passwords, so
// the real client path, the dashboards and the alerts can be seen working
// without an Azure account.
package demo

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mathrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
)

// Demo is a running fake tenant and the configuration that polls it.
type Demo struct {
	Config     *config.Config
	HTTPClient *http.Client // trusts the fake's CA
	srv        *fakegraph.Server
	stop       chan struct{}
	done       sync.WaitGroup
}

// Options shape the demo tenant's activity.
type Options struct {
	// Now is the demo's clock (nil: time.Now), which the exporter's windows
	// must share: its data is dated from Now() at Start, each minute's added up
	// to Now(). One that stands still (tests) makes the data the same each run.
	Now func() time.Time
	// SSPROutage makes self-service password resets fail far more often from
	// 40 minutes before Now on: the SSPR spike alert fires on the first poll.
	SSPROutage bool
}

// Fixed identifiers, so the demo's output is the same on every run.
const (
	TenantName = "demo"
	TenantID   = "00000000-0000-4000-8000-00000000d3e0"
	ClientID   = "00000000-0000-4000-8000-00000000c1e7"
	Users      = 3000
	Seed       = 1
)

// The demo's users' activity: registrations and resets every minute, as a
// tenant of some 30,000 users might see, so that every window has events.
var (
	normal = fakegraph.Activity{RegistrationsPerMinute: 2, ResetsPerMinute: 2, RegistrationFailRatio: 0.10, ResetFailRatio: 0.15}
	outage = fakegraph.Activity{RegistrationsPerMinute: 2, ResetsPerMinute: 2, RegistrationFailRatio: 0.10, ResetFailRatio: 0.70}
)

// passkeysPerMinute members register a synced passkey each minute while
// the demo runs, so phishing-resistant adoption rises.
const passkeysPerMinute = 1

const (
	backfill      = 6 * time.Hour    // activity already in Graph at start: the h1 and h6 windows are full
	outageStarted = 40 * time.Minute // before the start, with SSPROutage
	retention     = 35 * 24 * time.Hour
)

// Start starts the fake with the synthetic tenant and its recent activity,
// and adds the activity of every minute while it runs.
func Start(o Options) (*Demo, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	start := o.Now()
	// Graph allows 5 requests per 10 s; the demo allows more so every metric
	// shows within seconds, and paces the client to match.
	srv, err := fakegraph.NewServer(fakegraph.Options{PageSize: 500, RateLimit: 20, RatePer: time.Second, NoRecording: true})
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	tenant := &fakegraph.Tenant{TenantID: TenantID, ClientID: ClientID, ClientSecret: hex.EncodeToString(secret),
		Data: fakegraph.Synthetic(Seed, Users, start)}
	rng := mathrand.New(mathrand.NewPCG(Seed, 2))
	tenant.Data.Events = append(tenant.Data.Events, activity(rng, tenant.Data.Users, o.SSPROutage, start, start.Add(-backfill), start)...)
	srv.AddTenant(tenant)
	var groups []string // as the groups: key lists them
	for _, g := range tenant.Data.Groups {
		groups = append(groups, g.Name+": "+g.ID)
	}
	// Through the one door every configuration takes: defaults and checks
	// apply to the demo as to a file. Every report every poll, so the demo
	// shows them all within minutes.
	cfg, err := config.Parse(fmt.Appendf(nil, `poll_interval: 5m
request_timeout: 30s
graph_rate_limit: {requests: 20, per: 1s}
report_poll_intervals: {}
tenants:
  - name: %s
    tenant_id: %s
    client_id: %s
    client_secret: %s
    authority_host: %s
    graph_endpoint: %s
    reports: [%s]
    groups: {%s}
`, TenantName, TenantID, ClientID, tenant.ClientSecret, srv.AuthorityHost(), srv.GraphEndpoint(),
		strings.Join(config.AllReports(), ", "), strings.Join(groups, ", ")), "demo")
	if err != nil {
		srv.Close()
		return nil, err
	}
	d := &Demo{Config: cfg, HTTPClient: srv.Client(), srv: srv, stop: make(chan struct{})}
	d.done.Go(func() { d.live(rng, tenant, o, start) })
	return d, nil
}

// live adds each minute's activity, and passkeys, to the tenant until Close.
func (d *Demo) live(rng *mathrand.Rand, t *fakegraph.Tenant, o Options, start time.Time) {
	passkeyRng := mathrand.New(mathrand.NewPCG(Seed, 3)) // its own, so the activity's stays as it was
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	last := start
	for {
		select {
		case <-d.stop:
			return
		case <-tick.C:
			now := o.Now()
			if now.Sub(last) < time.Minute {
				continue // no new minute on the demo's clock
			}
			data := *t.Data // the served Data is never changed: a new one replaces it
			cutoff := now.Add(-retention)
			data.Events = slices.DeleteFunc(slices.Clone(data.Events), func(e fakegraph.Event) bool { return e.EventDateTime.Before(cutoff) })
			data.Events = append(data.Events, activity(rng, data.Users, o.SSPROutage, start, last, now)...)
			minutes := int(now.Sub(last) / time.Minute)
			data.Users = fakegraph.RegisterPasskeys(passkeyRng, data.Users, minutes*passkeysPerMinute, now)
			next := *t
			next.Data = &data
			d.srv.AddTenant(&next)
			t, last = &next, last.Add(now.Sub(last).Truncate(time.Minute))
		}
	}
}

// activity is the tenant's events from `from` to `to`, with the outage's
// ratios from outageStarted before the demo's start on when there is one.
func activity(rng *mathrand.Rand, users []fakegraph.User, outageOn bool, demoStart, from, to time.Time) []fakegraph.Event {
	start := demoStart.Add(-outageStarted)
	if !outageOn || !to.After(start) {
		return normal.Events(rng, users, from, to)
	}
	if from.Before(start) {
		return append(normal.Events(rng, users, from, start), outage.Events(rng, users, start, to)...)
	}
	return outage.Events(rng, users, from, to)
}

// Close stops the activity and the fake.
func (d *Demo) Close() {
	close(d.stop)
	d.done.Wait()
	d.srv.Close()
}
