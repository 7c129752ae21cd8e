// Package endpoints builds the exporter's HTTP handlers: the landing page
// with each tenant's report status, /metrics, health, readiness and reload.
package endpoints

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/collector"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
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
}

// New returns the mux of every endpoint.
func New(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(o.TelemetryPath, promhttp.InstrumentMetricHandler(o.Registerer, metricsHandler(o)))
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
			http.Error(w, "Reload failed; the previous configuration keeps running: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("Reloaded.\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
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
			ExtraCSS:  "table.status td, table.status th { padding: 2px 8px; text-align: left; } .down { color: #b00; }",
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		page.ServeHTTP(w, r)
	})
	return mux
}

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
}).Parse(`<h2>Reports</h2>
<table class="status"><tr><th>Tenant</th><th>Report</th><th>Status</th><th>Last success</th><th>Records</th><th>Last error</th></tr>
{{range .}}{{$t := .Tenant}}{{range .Reports}}<tr><td>{{$t}}</td><td>{{.Report}}</td>
<td>{{if not .Polled}}polling…{{else if .Up}}up{{else}}<span class="down">down</span>{{end}}</td>
<td>{{ago .LastSuccess}}</td><td>{{.Records}}</td><td>{{if not .Up}}{{.LastError}}{{end}}</td></tr>
{{end}}{{end}}</table>`))
