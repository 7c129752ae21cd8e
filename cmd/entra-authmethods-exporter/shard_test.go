package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
)

// TestThreeShardsExposeWhatOneProcessDoes runs 12 tenants of one
// multi-tenant app, configured through defaults:, once in one process and
// once in three shards: each tenant is polled by exactly one shard, exactly
// once, and the shards together expose what the one process exposes.
func TestThreeShardsExposeWhatOneProcessDoes(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const (
		clientID = "cccccccc-0000-4000-8000-000000000030"
		secret   = "fleet-app-secret"
		tenants  = 12 // one process staggers their first rounds a second apart: more make the test slow, not stronger
	)
	now := time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC) // --fixed-time: the processes measure the same windows
	var (
		mu             sync.Mutex
		tokens         = map[string]int{} // token requests by tenant id
		reportRequests int
	)
	srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			tokens[strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]]++
		} else if strings.Contains(r.URL.Path, "/reports/") {
			reportRequests++
		}
		return false
	})

	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, srv.CACertPEM(), 0o600)
	os.WriteFile(filepath.Join(dir, "app-secret"), []byte(secret), 0o600)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "poll_interval: 1h\ndefaults:\n  client_id: %s\n  client_secret_file: app-secret\n"+
		"  authority_host: %s\n  graph_endpoint: %s\n  reports: [user_registration_details, user_events_summary]\ntenants:\n",
		clientID, srv.AuthorityHost(), srv.GraphEndpoint())
	var ids []string
	for i := range tenants {
		id := fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", i)
		ids = append(ids, id)
		srv.AddTenant(&fakegraph.Tenant{TenantID: id, ClientID: clientID, ClientSecret: secret, Data: fakegraph.Synthetic(int64(i), 20, now)})
		fmt.Fprintf(&cfg, "  - name: customer-%02d\n    tenant_id: %s\n    labels: {customer: c%02d}\n", i, id, i)
	}
	cfgFile := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfgFile, []byte(cfg.String()), 0o600)
	env := []string{"SSL_CERT_FILE=" + caFile}

	counts := func() (map[string]int, int) {
		mu.Lock()
		defer mu.Unlock()
		tk, n := tokens, reportRequests
		tokens, reportRequests = map[string]int{}, 0
		return tk, n
	}

	one := start(t, env, "--config.file="+cfgFile, "--config.allow-custom-endpoints", "--fixed-time="+now.Format(time.RFC3339))
	_, whole := one.get(t, "/metrics")
	one.stop(t)
	_, wholeRequests := counts()

	var shards []*exporter
	for s := range 3 {
		shards = append(shards, launch(t, env, "--config.file="+cfgFile, "--config.allow-custom-endpoints", "--fixed-time="+now.Format(time.RFC3339), fmt.Sprintf("--shard=%d", s), "--total-shards=3"))
	}
	var union []string
	owner := map[string]int{}
	for s, e := range shards {
		e.waitReady(t)
		_, scrape := e.get(t, "/metrics")
		if want := fmt.Sprintf(`entra_authmethods_shard_info{shard="%d",total_shards="3"} 1`, s); !strings.Contains(scrape, want) {
			t.Errorf("shard %d: no %s", s, want)
		}
		for _, sm := range parseScrape(t, scrape) {
			if sm.name == "entra_authmethods_tenant_info" {
				if prev, dup := owner[sm.labels["tenant"]]; dup {
					t.Errorf("tenant %s in shards %d and %d", sm.labels["tenant"], prev, s)
				}
				owner[sm.labels["tenant"]] = s
			}
		}
		union = append(union, comparable(scrape)...)
	}
	for _, e := range shards {
		e.stop(t)
	}
	if len(owner) != tenants {
		t.Errorf("%d tenants across the shards, want %d", len(owner), tenants)
	}
	tk, shardRequests := counts()
	for _, id := range ids {
		if tk[id] != 1 {
			t.Errorf("tenant %s: %d token requests from the shards, want 1", id, tk[id])
		}
	}
	if shardRequests != wholeRequests {
		t.Errorf("the shards sent %d report requests, one process %d: some tenant polled twice or not at all", shardRequests, wholeRequests)
	}
	slices.Sort(union)
	if want := comparable(whole); !slices.Equal(union, want) {
		t.Errorf("the shards together differ from one process:\n%s", lineDiff(strings.Join(want, "\n"), strings.Join(union, "\n")))
	}
}

// comparable returns a scrape's per-tenant series, sorted: what one
// process and the shards must agree on (their windows too, measured at
// the one --fixed-time).
func comparable(scrape string) []string {
	var out []string
	for _, line := range strings.Split(normalise(scrape), "\n") {
		if !strings.Contains(line, `tenant="`) || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}
