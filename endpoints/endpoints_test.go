package endpoints

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/status"
)

func serve(t *testing.T, ready bool, reload func() error) *httptest.Server {
	return serveError(t, ready, reload, `forbidden: <script>alert(1)</script>`)
}

// serveError serves a tenant with one report down with lastError.
func serveError(t *testing.T, ready bool, reload func() error, lastError string) *httptest.Server {
	reg := prometheus.NewRegistry()
	source := sourceOf(t, nil)
	source.status = []status.Tenant{{Tenant: "contoso", Reports: []status.Report{
		{Report: "user_events_summary", Polled: true, Up: false, LastError: lastError},
		{Report: "user_registration_details", Polled: true, Up: true, LastSuccess: time.Now(), Records: 42},
	}, Groups: []status.Group{
		{Name: "finance", Polled: true, Up: true, LastSuccess: time.Now(), Members: 1234},
		{Name: "old-pilot", Polled: true, LastError: "other: GET /v1.0/groups/x/transitiveMembers/microsoft.graph.user: HTTP 404 Request_ResourceNotFound"},
	}}}
	source.notReady = !ready
	h, err := New(Options{
		Name: "entra-authmethods-exporter", TelemetryPath: "/metrics", Source: source, Gatherer: reg, Registerer: reg,
		Reload: reload, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url string) (int, string) {
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLandingPageShowsStatusEscaped(t *testing.T) {
	srv := serve(t, true, nil)
	code, body := do(t, "GET", srv.URL+"/")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{"contoso", "user_registration_details", ">42<", `href="/metrics"`, "&lt;script&gt;",
		"Groups of contoso", "finance", ">1234<", "old-pilot", "Request_ResourceNotFound"} {
		if !strings.Contains(body, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("an error message was not escaped")
	}
	// Every link on the page answers (no pprof is served, so none is linked).
	for _, m := range regexp.MustCompile(`href="(/[^"]*)"`).FindAllStringSubmatch(body, -1) {
		if code, _ := do(t, "GET", srv.URL+m[1]); code != 200 {
			t.Errorf("the landing page links %s, which answers %d", m[1], code)
		}
	}
	if code, _ := do(t, "GET", srv.URL+"/nope"); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
}

func TestHealthReadyReload(t *testing.T) {
	notReady := serve(t, false, nil)
	if code, _ := do(t, "GET", notReady.URL+"/-/ready"); code != 503 {
		t.Errorf("ready before the first poll: %d", code)
	}
	if code, _ := do(t, "GET", notReady.URL+"/-/healthy"); code != 200 {
		t.Errorf("healthy: %d", code)
	}
	if code, body := do(t, "POST", notReady.URL+"/-/reload"); code != 404 || !strings.Contains(body, "--web.enable-lifecycle") {
		t.Errorf("reload without a reloader (--web.enable-lifecycle off): %d %q, want 404 naming the flag", code, body)
	}

	calls := 0
	srv := serve(t, true, func() error {
		calls++
		if calls == 2 {
			return errors.New("tenants[0] (a): client_id: required")
		}
		return nil
	})
	if code, _ := do(t, "GET", srv.URL+"/-/ready"); code != 200 {
		t.Errorf("ready: %d", code)
	}
	if code, _ := do(t, "GET", srv.URL+"/-/reload"); code != 405 {
		t.Errorf("GET reload: %d", code)
	}
	if code, _ := do(t, "POST", srv.URL+"/-/reload"); code != 200 {
		t.Errorf("reload: %d", code)
	}
	if code, body := do(t, "POST", srv.URL+"/-/reload"); code != 500 || !strings.Contains(body, "client_id: required") {
		t.Errorf("failed reload: %d %s", code, body)
	}
	// A page of another site cannot make a browser reload the exporter.
	req, _ := http.NewRequest("POST", srv.URL+"/-/reload", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site reload: %v %v, want 403", err, resp)
	} else {
		resp.Body.Close()
	}
	if calls != 2 {
		t.Errorf("%d reloads, want 2 (the cross-site one refused)", calls)
	}
	if code, body := do(t, "GET", srv.URL+"/metrics"); code != 200 || !strings.Contains(body, "promhttp_metric_handler_requests_total") {
		t.Errorf("metrics: %d", code)
	}
}

// metricsServer serves /metrics with a live registry and snapshot pieces
// holding different families, and returns what client_golang's own handler
// makes of the same metrics, as the reference.
func metricsServer(t *testing.T) (srv *httptest.Server, reference string) {
	t.Helper()
	live := prometheus.NewRegistry()
	live.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x_live", Help: "Live."}, func() float64 { return 7 }))
	d := prometheus.NewDesc("x_users", "Users.", []string{"tenant", "method"}, nil)
	var snaps [][]prometheus.Metric
	for _, tenant := range []string{"b", "a"} {
		ms := []prometheus.Metric{
			prometheus.MustNewConstMetric(d, prometheus.GaugeValue, 1, tenant, "sms"),
			prometheus.MustNewConstMetric(d, prometheus.GaugeValue, 2, tenant, "fido2"),
		}
		snaps = append(snaps, ms)
	}
	source := sourceOf(t, &snaps)
	h, err := New(Options{TelemetryPath: "/metrics", Source: source, Gatherer: live, Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	snapshots := prometheus.NewRegistry()
	snapshots.MustRegister(source)
	srv = httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(prometheus.Gatherers{live, snapshots}, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return srv, rec.Body.String()
}

// Text scrapes, plain or gzipped, carry what client_golang's handler would,
// and parse; other formats are left to client_golang.
func TestMetricsTextMatchesClientGolang(t *testing.T) {
	srv, reference := metricsServer(t)
	sorted := func(s string) string {
		lines := strings.Split(s, "\n")
		slices.Sort(lines)
		return strings.Join(lines, "\n")
	}
	prometheusAccept := "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
	prometheus3Accept := "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1"
	// What each Accept-Encoding gets: gzip and identity from the exporter's
	// own text, zstd (also when "*" stands for it) from client_golang's.
	for i, c := range []struct{ enc, want string }{
		{"gzip", "gzip"}, {"identity", ""}, {"gzip;q=0, identity", ""}, {"x-gzip", "gzip"},
		{"zstd", "zstd"}, {"zstd;q=0, gzip", "gzip"}, {"gzip, deflate, br, zstd", "gzip"}, {"br;q=1.0, *;q=0.1", "gzip"},
	} {
		enc := c.enc
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		req.Header.Set("Accept", []string{prometheusAccept, prometheus3Accept}[i%2])
		req.Header.Set("Accept-Encoding", enc)
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gunzip
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = resp.Body
		if got := resp.Header.Get("Content-Encoding"); got != c.want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", enc, got, c.want)
		}
		switch resp.Header.Get("Content-Encoding") {
		case "gzip":
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			zr.Multistream(false) // one member, which browsers and curl need
			body = zr
		case "zstd":
			zr, err := zstd.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			body = zr
		}
		b, err := io.ReadAll(body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=") {
			t.Errorf("Content-Type %q", ct)
		}
		if sorted(string(b)) != sorted(reference) {
			t.Errorf("Accept-Encoding %q: got\n%s\nwant (in any order)\n%s", enc, b, reference)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := parser.TextToMetricFamilies(bytes.NewReader(b)); err != nil {
			t.Errorf("Accept-Encoding %q: %v", enc, err)
		}
	}

	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Accept", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	names := map[string]int{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			break
		}
		names[mf.GetName()] = len(mf.GetMetric())
	}
	if names["x_users"] != 4 || names["x_live"] != 1 {
		t.Errorf("protobuf scrape: families %v, want x_users with 4 series and x_live", names)
	}
}

// Each gzip scrape carries the snapshots as they are then, and the
// metrics read at the scrape, in one gzip member.
func TestGzipBodyFollowsSnapshots(t *testing.T) {
	d := prometheus.NewDesc("x_users", "Users.", []string{"tenant"}, nil)
	snaps := [][]prometheus.Metric{{prometheus.MustNewConstMetric(d, prometheus.GaugeValue, 1, "a")}}
	reg := prometheus.NewRegistry()
	h, err := New(Options{TelemetryPath: "/metrics", Source: sourceOf(t, &snaps), Gatherer: reg, Registerer: reg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	scrape := func() string {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if rest, _ := io.ReadAll(rec.Body); len(rest) > 0 {
			t.Errorf("%d bytes after the first gzip member", len(rest))
		}
		return string(b)
	}
	if first := scrape(); !strings.Contains(first, `x_users{tenant="a"} 1`) || !strings.Contains(first, `promhttp_metric_handler_requests_total{code="200"} 0`) {
		t.Fatalf("first scrape:\n%s", first)
	}
	snaps[0] = []prometheus.Metric{prometheus.MustNewConstMetric(d, prometheus.GaugeValue, 2, "a")}
	if changed := scrape(); !strings.Contains(changed, `x_users{tenant="a"} 2`) || !strings.Contains(changed, `promhttp_metric_handler_requests_total{code="200"} 1`) {
		t.Errorf("after a snapshot changed:\n%s", changed)
	}
}

// A name[] filter is honoured, by client_golang's handler.
func TestNameFilter(t *testing.T) {
	srv, _ := metricsServer(t)
	code, body := do(t, "GET", srv.URL+"/metrics?name[]=x_live")
	if code != http.StatusOK || body != "# HELP x_live Live.\n# TYPE x_live gauge\nx_live 7\n" {
		t.Errorf("name[]=x_live: %d\n%s", code, body)
	}
}
