// Package demo runs the exporter's built-in demo tenant: graphtest's fake
// identity platform and Graph on loopback (TLS with a generated CA), holding
// a synthetic tenant, so the real client path (token, TLS, paging,
// throttling) can be seen working without an Azure account.
package demo

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi/graphtest"
)

// Demo is a running fake tenant and the configuration that polls it.
type Demo struct {
	Config     *config.Config
	HTTPClient *http.Client // trusts the fake's CA
	srv        *graphtest.Server
}

// Fixed identifiers, so the demo's output is the same on every run.
const (
	TenantName = "demo"
	TenantID   = "00000000-0000-4000-8000-00000000d3e0"
	ClientID   = "00000000-0000-4000-8000-00000000c1e7"
	Users      = 3000
	Seed       = 1
)

// Start starts the fake with a synthetic tenant whose data is dated from now.
func Start(now time.Time) (*Demo, error) {
	// Graph allows 5 requests per 10 s; the demo allows more so every metric
	// shows within seconds, and paces the client to match.
	srv, err := graphtest.NewServer(graphtest.Options{PageSize: 500, RateLimit: 20, RatePer: time.Second, NoRecording: true})
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	srv.AddTenant(&graphtest.Tenant{
		TenantID: TenantID, ClientID: ClientID, ClientSecret: hex.EncodeToString(secret),
		Data: graphtest.Synthetic(Seed, Users, now),
	})
	cfg := &config.Config{
		PollInterval:      5 * time.Minute,
		RequestTimeout:    30 * time.Second,
		GraphRateLimit:    config.RateLimit{Requests: 20, Per: time.Second},
		MaxFailureReasons: config.DefaultMaxFailureReasons,
		Tenants: []config.Tenant{{
			Name: TenantName, TenantID: TenantID, ClientID: ClientID,
			Auth: config.AuthClientSecret, ClientSecret: hex.EncodeToString(secret),
			Cloud: "demo", AuthorityHost: srv.AuthorityHost(), GraphEndpoint: srv.GraphEndpoint(),
			Reports:             config.AllReports(),
			UsageSummaryPeriods: []string{"D1", "D7", "D30"},
		}},
	}
	return &Demo{Config: cfg, HTTPClient: srv.Client(), srv: srv}, nil
}

// Close stops the fake.
func (d *Demo) Close() { d.srv.Close() }
