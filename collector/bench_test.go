package collector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

// benchPoll polls one report of a synthetic tenant of the given size through
// the whole client path (TLS, token, paging, decoding, aggregation) against
// the in-process fake, which serves pages of 1000.
func benchPoll(b *testing.B, report string, users int) {
	benchPollData(b, report, fakegraph.Synthetic(1, users, testNow), nil)
}

// benchPollData is benchPoll on the given data, with the tenant's groups:
// groups (each must be in data.Groups). The group reads are not paced (the
// exporter paces them at groupRequests per groupPer, which would make the
// time per poll that pacing's): this measures their CPU and allocations.
func benchPollData(b *testing.B, report string, data *fakegraph.Data, groups []config.Group) {
	srv, err := fakegraph.NewServer(fakegraph.Options{PageSize: 1000, NoRecording: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	srv.AddTenant(&fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, Data: data})
	s := settings{
		tenant: config.Tenant{Name: "bench", TenantID: testTenantID, ClientID: testClientID, Auth: config.AuthClientSecret,
			ClientSecret: testSecret, Cloud: "public", AuthorityHost: srv.AuthorityHost(), GraphEndpoint: srv.GraphEndpoint(),
			Reports: []string{report}, Groups: groups},
		pollInterval: time.Hour, requestTimeout: time.Minute, maxFailureReasons: 20, maxLabelValues: 100,
	}
	p := newTestPoller(b, s, srv.Client(), log.NewNopLogger())
	if len(groups) > 0 {
		cred, err := graphapi.NewCredential(s.tenant, srv.Client())
		if err != nil {
			b.Fatal(err)
		}
		if p.groups, err = graphapi.New(graphapi.Options{Endpoint: s.tenant.GraphEndpoint, Credential: cred,
			HTTPClient: srv.Client(), RequestTimeout: s.requestTimeout}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		p.pollReport(context.Background(), p.reports[0], &pollRound{})
		st := p.reports[0].status.Load()
		if !st.Up {
			b.Fatalf("poll failed: %s", st.LastError)
		}
		if r, ok := p.reports[0].report.(*userRegistrationDetails); ok && len(groups) > 0 {
			for _, g := range r.groupStatus(groups) {
				if !g.Up || g.Members == 0 {
					b.Fatalf("group %s: up %t, %d members: %s", g.Name, g.Up, g.Members, g.LastError)
				}
			}
		}
		records += st.Records
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPollUserRegistrationDetailsGroups polls userRegistrationDetails
// of 30,000 users without groups and with 20 groups of 5,000 of them (drawn
// at random, so they overlap; each also lists 2 users not in the report and
// a device): a tenth of bench/groups.sh's 300,000 users and 20 groups of
// 50,000. The group reads are not paced (see benchPollData).
func BenchmarkPollUserRegistrationDetailsGroups(b *testing.B) {
	const users, groups, members = 30000, 20, 5000
	for _, n := range []int{0, groups} {
		b.Run(fmt.Sprintf("users=%d/groups=%d", users, n), func(b *testing.B) {
			data := fakegraph.Synthetic(1, users, testNow)
			data.Groups = benchGroups(data.Users, n, members)
			var cfg []config.Group
			for _, g := range data.Groups {
				cfg = append(cfg, config.Group{Name: g.Name, ID: g.ID})
			}
			benchPollData(b, config.UserRegistrationDetails, data, cfg)
		})
	}
}

// benchGroups makes n groups, g01, g02, ..., of members of users each,
// drawn at random (the same every run), and 2 users not in users and a
// device.
func benchGroups(users []fakegraph.User, n, members int) []fakegraph.Group {
	out := make([]fakegraph.Group, n)
	for g := range out {
		rng := rand.New(rand.NewPCG(1, uint64(g)))
		ms := make([]fakegraph.Member, 0, members+3)
		for _, i := range rng.Perm(len(users))[:members] {
			ms = append(ms, fakegraph.Member{ID: users[i].ID, Type: fakegraph.MemberUser})
		}
		ms = append(ms,
			fakegraph.Member{ID: fmt.Sprintf("0e5e0000-%04d-4000-8000-000000000001", g), Type: fakegraph.MemberUser},
			fakegraph.Member{ID: fmt.Sprintf("0e5e0000-%04d-4000-8000-000000000002", g), Type: fakegraph.MemberUser},
			fakegraph.Member{ID: fmt.Sprintf("de1ce000-%04d-4000-8000-000000000001", g), Type: fakegraph.MemberDevice})
		rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		out[g] = fakegraph.Group{ID: fmt.Sprintf("6a0b0000-%04d-4000-8000-000000000001", g), Name: fmt.Sprintf("g%02d", g+1), Members: ms}
	}
	return out
}

func BenchmarkPollUserRegistrationDetails10k(b *testing.B) {
	benchPoll(b, config.UserRegistrationDetails, 10000)
}
func BenchmarkPollUserEventsSummary10k(b *testing.B) { benchPoll(b, config.UserEventsSummary, 20000) }
func BenchmarkPollCredentialRegistrationDetails10k(b *testing.B) {
	benchPoll(b, config.CredentialRegistrationDetails, 10000)
}
func BenchmarkPollCredentialUsageDetails10k(b *testing.B) {
	benchPoll(b, config.CredentialUsageDetails, 20000)
}

// BenchmarkApply200Tenants measures start-up work for 200 tenants: building
// their credentials, clients and pollers, and starting the pollers (whose
// Graph is unreachable here; only setting up is measured).
func BenchmarkApply200Tenants(b *testing.B) {
	var tenants strings.Builder
	for i := range 200 {
		fmt.Fprintf(&tenants, "  - {name: t%03d, tenant_id: %08d-0000-4000-8000-000000000000}\n", i, i)
	}
	// The default reports, and the default pacing (5 requests per 10s per
	// tenant, 122 per 10s for the app).
	cfg := testenv.ParseConfig(b, `poll_interval: 1h
request_timeout: 1m
report_poll_intervals: {}
defaults:
  client_id: %s
  client_secret: "x"
  cloud: public
  authority_host: https://127.0.0.1:1/
  graph_endpoint: https://127.0.0.1:1
  usage_summary_periods: [D1]
tenants:
%s`, testClientID, tenants.String())
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		e := New(ctx, Options{})
		if err := e.Apply(cfg); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cancel()
		e.Wait()
		b.StartTimer()
	}
}
