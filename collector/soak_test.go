package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/status"
)

// TestSoak scrapes /metrics from several goroutines while tenants poll a
// fake Graph that misbehaves at random (5xx, garbled and cut-off bodies,
// cut connections, slow answers) and the configuration is reloaded over and
// over. It is bounded in time; run it under -race. At the end, with Graph
// healthy again, every tenant's values must be exact.
func TestSoak(t *testing.T) {
	duration := 4 * time.Second
	if testing.Short() {
		duration = time.Second
	}
	srv, err := fakegraph.NewServer(fakegraph.Options{PageSize: 25})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	now := testNow
	data := fakegraph.Synthetic(5, 120, now)
	ids := map[string]string{"a": "a0000000-0000-4000-8000-000000000000", "b": "b0000000-0000-4000-8000-000000000000",
		"c": "c0000000-0000-4000-8000-000000000000"}
	for _, id := range ids {
		srv.AddTenant(&fakegraph.Tenant{TenantID: id, ClientID: testClientID, ClientSecret: testSecret, Data: data})
	}

	var faulty atomic.Bool
	faulty.Store(true)
	var faults atomic.Int64
	srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !faulty.Load() || !strings.Contains(r.URL.Path, "/reports/") {
			return false
		}
		switch n := rand.IntN(100); {
		case n < 12:
			faults.Add(1)
			w.WriteHeader([]int{500, 502, 503, 504}[n%4])
		case n < 16:
			faults.Add(1)
			w.Write([]byte(`{"value":[{"userType":"mem`))
		case n < 20:
			faults.Add(1)
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		case n < 23:
			faults.Add(1)
			select { // slower than request_timeout
			case <-time.After(400 * time.Millisecond):
			case <-r.Context().Done():
			}
		default:
			return false
		}
		return true
	})

	// The pacing is the most a file may ask for, the app's too: the soak
	// is about faults and reloads, not pacing.
	cfg := func(interval time.Duration, names ...string) *config.Config {
		var tenants strings.Builder
		for _, n := range names {
			fmt.Fprintf(&tenants, "  - {name: %s, tenant_id: %s}\n", n, ids[n])
		}
		c := testenv.ParseConfig(t, `request_timeout: 200ms
graph_rate_limit: {requests: 1000, per: 1s}
graph_app_rate_limit: {requests: 1000, per: 1s}
report_poll_intervals: {}
defaults:
  client_id: %s
  client_secret: %q
  cloud: public
  authority_host: %s
  graph_endpoint: %s
  reports: [%s]
  usage_summary_periods: [D1, D7, D30]
tenants:
%s`, testClientID, testSecret, srv.AuthorityHost(), srv.GraphEndpoint(), strings.Join(config.AllReports(), ", "), tenants.String())
		pollEvery(c, interval) // faster than a file may ask for
		return c
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logBuf testenv.SyncBuffer
	e := New(ctx, Options{Now: testClock, HTTPClient: srv.Client(), Logger: log.NewLogfmtLogger(&logBuf)})
	reg := prometheus.NewRegistry()
	reg.MustRegister(e, e.LiveCounters())
	web := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer web.Close()
	// And the way text scrapes are served: the snapshots' pieces, and the
	// live counters gathered.
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeText(w, e)
	}))
	defer fast.Close()
	if err := e.Apply(cfg(300*time.Millisecond, "a", "b")); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var scrapes atomic.Int64
	for i := range 4 {
		wg.Add(1)
		url := []string{web.URL, fast.URL}[i%2]
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(url)
				if err != nil {
					t.Errorf("scrape: %v", err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || strings.Contains(string(body), testSecret) {
					t.Errorf("scrape: status %d, %v, or the secret in it", resp.StatusCode, err)
					return
				}
				parser := expfmt.NewTextParser(model.UTF8Validation)
				if _, err := parser.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
					t.Errorf("scrape of %s does not parse: %v", url, err)
					return
				}
				scrapes.Add(1)
			}
		}()
	}
	// Run for the duration, and on until Graph has misbehaved a few times:
	// on a loaded machine few requests may go out in the duration.
	reloads := 0
	enough := func() bool { return faults.Load() >= 5 && scrapes.Load() > 0 }
	for deadline, limit := time.Now().Add(duration), time.Now().Add(duration+30*time.Second); time.Now().Before(deadline) || !enough() && time.Now().Before(limit); reloads++ {
		time.Sleep(150 * time.Millisecond)
		// Alternate settings (restarting pollers) and the set of tenants.
		variants := [][]string{{"a", "b"}, {"a", "b", "c"}, {"a", "c"}, {"a", "b"}}
		interval := time.Duration(250+50*(reloads%3)) * time.Millisecond
		if err := e.Apply(cfg(interval, variants[reloads%len(variants)]...)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()

	// Graph heals: after a full clean round every tenant must be exact.
	faulty.Store(false)
	if err := e.Apply(cfg(200*time.Millisecond, "a", "b")); err != nil {
		t.Fatal(err)
	}
	users := float64(len(data.Users))
	for _, name := range []string{"a", "b"} {
		testenv.Eventually(t, "the condition", 20*time.Second, func() bool {
			st := statusOf(e, name)
			for _, r := range st.Reports {
				if !r.Up {
					return false
				}
			}
			return len(st.Reports) > 0
		})
		if got := sumOf(t, e, "entra_authmethods_users", "tenant", name); got != users {
			t.Errorf("tenant %s: users = %v, want %v", name, got, users)
		}
		if got, want := sumOf(t, e, "entra_authmethods_events_total", "tenant", name), float64(countDistinct(data.Events)); got != want {
			t.Errorf("tenant %s: events_total = %v, want %v (an event counted twice or lost)", name, got, want)
		}
	}
	t.Logf("%s: %d scrapes, %d reloads, %d injected faults", duration, scrapes.Load(), reloads, faults.Load())
	if !enough() {
		t.Errorf("the soak exercised too little: %d faults, %d scrapes", faults.Load(), scrapes.Load())
	}
	cancel()
	e.Wait()

	// The log of all those faults names no secret and no token.
	logText := logBuf.String()
	if !strings.Contains(logText, "configuration applied") {
		t.Error("nothing was logged")
	}
	needles := []string{testSecret}
	for _, r := range srv.Requests() {
		if tok := strings.TrimPrefix(r.Authorization, "Bearer "); tok != "" {
			needles = append(needles, tok)
		}
	}
	for _, n := range needles {
		if strings.Contains(logText, n) {
			t.Fatal("a secret or token appears in the log")
		}
	}
}

func countDistinct(events []fakegraph.Event) int {
	seen := map[fakegraph.Event]bool{}
	for _, e := range events {
		seen[e] = true
	}
	return len(seen)
}

func statusOf(e *Exporter, tenant string) status.Tenant {
	for _, st := range e.Status() {
		if st.Tenant == tenant {
			return st
		}
	}
	return status.Tenant{}
}
