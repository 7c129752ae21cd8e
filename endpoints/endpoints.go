// Package endpoints builds the exporter's HTTP handlers: the landing page
// with each tenant's report status, /metrics, health, readiness and reload.
package endpoints

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/collector"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

// Options is what the handlers serve.
type Options struct {
	Name, Description, Version string
	TelemetryPath              string
	Gatherer                   prometheus.Gatherer         // metrics other than the exporter's, gathered at each scrape
	Registerer                 prometheus.Registerer       // for the metrics handler's own metrics
	Pieces                     func() [][]exposition.Piece // the exporter's metrics, encoded ahead of time
	PiecesGatherer             prometheus.Gatherer         // the same metrics, for formats other than text
	Status                     func() []collector.TenantStatus
	Ready                      func() bool
	Reload                     func() error // nil: reload is not available
	Logger                     *slog.Logger
	MaxUnwritten               int64 // bytes of non-text responses waiting for slow clients (0: 64 MiB)
}

// maxErrorLen bounds an error message echoed on a page or in a response.
const maxErrorLen = 500

// shortError is how an error goes out on a page or in a response: without
// credentials, and short, since it may quote Graph or a configuration file.
func shortError(s string) string { return redact.Cut(redact.String(s), maxErrorLen) }

// reserved are the paths the exporter serves besides the metrics.
var reserved = []string{"/", "/-/healthy", "/-/ready", "/-/reload"}

// CheckTelemetryPath says what is wrong with p as the path of the metrics,
// if anything.
func CheckTelemetryPath(p string) error {
	switch {
	case p == "":
		return errors.New("must not be empty: it is the path of the metrics, such as /metrics")
	case p[0] != '/':
		return errors.New(`must start with "/", as /metrics does`)
	case p == "/":
		return errors.New(`must not be "/", which serves the landing page`)
	case slices.Contains(reserved, p):
		return fmt.Errorf("must not be %s, which the exporter serves itself", p)
	}
	// A URL path's own characters (RFC 3986), less "%": the path is matched
	// decoded, and it is written into the landing page's links as it is.
	for _, c := range p {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("/-._~!$&'()*+,;=:@", c)) {
			return fmt.Errorf("may hold only letters, digits and /-._~!$&'()*+,;=:@, not %q", c)
		}
	}
	return nil
}

// New returns the handler of every endpoint, or an error if
// o.TelemetryPath is not fit to serve the metrics under.
func New(o Options) (http.Handler, error) {
	if err := CheckTelemetryPath(o.TelemetryPath); err != nil {
		return nil, fmt.Errorf("telemetry path %q: %w", o.TelemetryPath, err)
	}
	metrics := promhttp.InstrumentMetricHandler(o.Registerer, metricsHandler(o))
	mux := http.NewServeMux()
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("Healthy.\n"))
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !o.Ready() {
			http.Error(w, "Not ready: a tenant's first poll has not finished.", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("Ready.\n"))
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "This endpoint requires a POST request.", http.StatusMethodNotAllowed)
			return
		}
		if o.Reload == nil {
			http.Error(w, "Reload is not available in this mode.", http.StatusBadRequest)
			return
		}
		if err := o.Reload(); err != nil {
			http.Error(w, "Reload failed; the previous configuration keeps running: "+shortError(err.Error()), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("Reloaded.\n"))
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { // other paths: 404 without building the page
		var extra bytes.Buffer
		if err := statusTemplate.Execute(&extra, o.Status()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		page, err := web.NewLandingPage(web.LandingConfig{
			Name:        o.Name,
			Description: o.Description,
			Version:     o.Version,
			Links: []web.LandingLinks{
				{Address: o.TelemetryPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health"},
				{Address: "/-/ready", Text: "Readiness"},
			},
			ExtraHTML: extra.String(),
			Profiling: "false", // no pprof handlers are served: no links to them
			ExtraCSS:  "table.status td, table.status th { padding: 2px 8px; text-align: left; } .down { color: #b00; }",
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		page.ServeHTTP(w, r)
	})
	// The metrics path is matched exactly, not as a mux pattern: no path
	// can then clash with another endpoint's or read as a wildcard.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == o.TelemetryPath {
			metrics.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}), nil
}

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
	"short": shortError,
}).Parse(`<h2>Reports</h2>
<table class="status"><tr><th>Tenant</th><th>Report</th><th>Status</th><th>Last success</th><th>Records</th><th>Last error</th></tr>
{{range .}}{{$t := .Tenant}}{{range .Reports}}<tr><td>{{$t}}</td><td>{{.Report}}</td>
<td>{{if not .Polled}}polling…{{else if .Up}}up{{else}}<span class="down">down</span>{{end}}</td>
<td>{{ago .LastSuccess}}</td><td>{{.Records}}</td><td>{{if not .Up}}{{short .LastError}}{{end}}</td></tr>
{{end}}{{end}}</table>`))
