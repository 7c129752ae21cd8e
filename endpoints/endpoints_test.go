package endpoints

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/collector"
)

func serve(t *testing.T, ready bool, reload func() error) *httptest.Server {
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(New(Options{
		Name: "entra-authmethods-exporter", TelemetryPath: "/metrics", Gatherer: reg, Registerer: reg,
		Status: func() []collector.TenantStatus {
			return []collector.TenantStatus{{Tenant: "contoso", Reports: []collector.ReportStatus{
				{Report: "user_events_summary", Polled: true, Up: false, LastError: `forbidden: <script>alert(1)</script>`},
				{Report: "user_registration_details", Polled: true, Up: true, LastSuccess: time.Now(), Records: 42},
			}}}
		},
		Ready:  func() bool { return ready },
		Reload: reload,
		Logger: slog.New(slog.DiscardHandler),
	}))
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
	for _, want := range []string{"contoso", "user_registration_details", ">42<", `href="/metrics"`, "&lt;script&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("an error message was not escaped")
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
	if code, _ := do(t, "POST", notReady.URL+"/-/reload"); code != 400 {
		t.Errorf("reload without a reloader: %d", code)
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
	if code, body := do(t, "GET", srv.URL+"/metrics"); code != 200 || !strings.Contains(body, "promhttp_metric_handler_requests_total") {
		t.Errorf("metrics: %d", code)
	}
}
