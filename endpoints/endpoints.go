// Package endpoints builds the exporter's HTTP handlers: the landing page
// with each tenant's report status, /metrics, health, readiness and reload.
package endpoints

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/pgzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/promhttp/zstd" // client_golang's handler offers zstd
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/status"
)

// Source is what the exporter gives the endpoints: its metrics, encoded
// ahead of time for text scrapes and as a Collector for the other formats,
// and its tenants' state.
type Source interface {
	prometheus.Collector
	Pieces() iter.Seq[[]exposition.Piece] // the Collector's metrics, encoded
	Status() []status.Tenant
	Ready() bool // every tenant's first poll has finished
}

// Options is what the handlers serve.
type Options struct {
	Name, Description, Version string
	TelemetryPath              string
	Source                     Source
	Gatherer                   prometheus.Gatherer   // the metrics besides Source's, gathered at each scrape
	Registerer                 prometheus.Registerer // for the metrics handler's own metrics
	Reload                     func() error          // nil: /-/reload is not served (--web.enable-lifecycle is off)
	Logger                     *slog.Logger
}

const (
	// maxErrorLen bounds an error message echoed on a page or in a response.
	maxErrorLen = 500
	// maxScrapesInFlight bounds concurrent text scrapes, as promhttp's
	// handler does. A scrape holds its slot only while its body is built,
	// never while a slow client reads it; one that finds none free waits
	// up to slotWait.
	maxScrapesInFlight = 10
	slotWait           = 2 * time.Second
	// maxOthersInFlight bounds the other requests (name[] filters,
	// protobuf, OpenMetrics, zstd), which gather every metric anew and are
	// written as they are encoded: slots of their own, so that they never
	// take a text scrape's.
	maxOthersInFlight = 4
	// gzipLevel, with klauspost/pgzip (compress/gzip's API, on
	// klauspost/compress's deflate), compresses 1,000 tenants' 36 MB to
	// 1.16 times the default level's size. pgzip compresses gzipBlocks
	// blocks of gzipBlock bytes at once, each primed with the previous
	// one's tail, into one ordinary gzip stream: about 31 ms on two cores
	// where one core takes 51-55, for about 6 MiB a writer (1 MiB blocks: 17).
	// BENCHMARKS.md has the figures.
	gzipLevel, gzipBlock, gzipBlocks = 5, 256 << 10, 4
)

// shortError is how an error goes out on a page or in a response: without
// credentials, and short, since it may quote Graph or a configuration file.
func shortError(s string) string { return redact.Cut(redact.String(s), maxErrorLen) }

// CheckTelemetryPath says what, if anything, is wrong with p as the metrics' path.
func CheckTelemetryPath(p string) error {
	switch {
	case p == "":
		return errors.New("must not be empty: it is the path of the metrics, such as /metrics")
	case p[0] != '/':
		return errors.New(`must start with "/", as /metrics does`)
	case p == "/":
		return errors.New(`must not be "/", which serves the landing page`)
	case slices.Contains([]string{"/-/healthy", "/-/ready", "/-/reload"}, p):
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
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("Healthy.\n")) })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !o.Source.Ready() {
			http.Error(w, "Not ready: a tenant's first poll has not finished.", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("Ready.\n"))
	})
	if o.Reload != nil {
		// Only a POST from no browser page of another site: a page could
		// otherwise make its visitors' browsers reload the exporter.
		mux.Handle("/-/reload", http.NewCrossOriginProtection().Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost && r.Method != http.MethodPut {
				w.Header().Set("Allow", "POST, PUT")
				http.Error(w, "This endpoint requires a POST request.", http.StatusMethodNotAllowed)
				return
			}
			if err := o.Reload(); err != nil {
				http.Error(w, "Reload failed; the previous configuration keeps running: "+shortError(err.Error()), http.StatusInternalServerError)
				return
			}
			w.Write([]byte("Reloaded.\n"))
		})))
	} else {
		mux.HandleFunc("/-/reload", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "404 page not found: /-/reload is served with --web.enable-lifecycle only (SIGHUP reloads without it).", http.StatusNotFound)
		})
	}
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { // other paths: 404 without building the page
		var extra bytes.Buffer
		if err := statusTemplate.Execute(&extra, o.Source.Status()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		page, err := web.NewLandingPage(web.LandingConfig{
			Name: o.Name, Description: o.Description, Version: o.Version,
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
	return refuseBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == o.TelemetryPath {
			metrics.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})), nil
}

// refuseBodies answers a request with a body at once, and closes its
// connection without reading the body: no endpoint reads one, and Go's
// server would otherwise read up to 256 KiB of it before answering, or
// after, to reuse the connection: a body trickled in a byte at a time would
// hold the connection, a health probe's answer with it, until ReadTimeout.
func refuseBodies(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 { // -1: chunked
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Connection", "close")
		http.Error(w, "No endpoint of this exporter takes a request body.", http.StatusRequestEntityTooLarge)
		// A read deadline in the past ends any read of the body the server
		// would still try, so the connection closes now.
		http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0))
	})
}

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
	"short": shortError,
}).Parse(`{{define "state"}}<td>{{if not .Polled}}polling…{{else if .Up}}up{{else}}<span class="down">down</span>{{end}}</td>
<td>{{ago .LastSuccess}}</td>{{end}}{{define "error"}}<td>{{if not .Up}}{{short .LastError}}{{end}}</td></tr>
{{end}}<h2>Reports</h2>
<table class="status"><tr><th>Tenant</th><th>Report</th><th>Status</th><th>Last success</th><th>Records</th><th>Last error</th></tr>
{{range .}}{{$t := .Tenant}}{{range .Reports}}<tr><td>{{$t}}</td><td>{{.Report}}</td>
{{template "state" .}}<td>{{.Records}}</td>{{template "error" .}}{{end}}{{end}}</table>
{{range .}}{{if .Groups}}<h2>Groups of {{.Tenant}}</h2>
<table class="status"><tr><th>Group</th><th>Status</th><th>Last success</th><th>User members</th><th>Last error</th></tr>
{{range .Groups}}<tr><td>{{.Name}}</td>
{{template "state" .}}<td>{{.Members}}</td>{{template "error" .}}{{end}}</table>{{end}}{{end}}`))

// metricsHandler serves /metrics. A client that accepts the text format
// (Prometheus always lists it, after protobuf) gets it: the Source's
// metrics as encoded ahead of time, the others (Go runtime, process,
// handler, reload status) encoded now, gzipped if asked. protobuf would
// cost far more to build and buys nothing here: the exporter has no native
// histograms. Everything else (name[] filters, clients that accept only
// protobuf or OpenMetrics, zstd) takes client_golang's handler, which
// answers text too unless protobuf is asked for.
func metricsHandler(o Options) http.Handler {
	sourceReg := prometheus.NewRegistry()
	sourceReg.MustRegister(o.Source)
	// Without a Timeout, which would hold each response whole in memory
	// until it is written: the server's WriteTimeout bounds a slow client.
	other := promhttp.HandlerFor(prometheus.Gatherers{o.Gatherer, sourceReg}, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		ErrorLog:            slog.NewLogLogger(o.Logger.Handler(), slog.LevelError),
		MaxRequestsInFlight: maxOthersInFlight,
	})
	buffers := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	groupers := sync.Pool{New: func() any { return new(exposition.Grouper) }}
	writers := sync.Pool{New: func() any { zw, _ := pgzip.NewWriterLevel(nil, gzipLevel); return zw }} // the level is valid
	// The text is many small pieces: buffered, for pgzip (which checksums
	// and copies each write) as for the connection. 64 KiB, as a slow
	// client holds one while its response is written.
	bufs := sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
	slots := make(chan struct{}, maxScrapesInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encoding := r.Header.Get("Accept-Encoding")
		zstd, zstdNamed := accepts(encoding, "zstd") // named: client_golang's handler chooses the coding
		if !acceptsText(r.Header.Get("Accept")) || r.URL.Query().Has("name[]") || zstd && zstdNamed {
			other.ServeHTTP(w, r)
			return
		}
		if !acquire(r.Context(), slots) {
			http.Error(w, "Too many concurrent scrapes ("+strconv.Itoa(maxScrapesInFlight)+"); try again later.", http.StatusServiceUnavailable)
			return
		}
		release := sync.OnceFunc(func() { <-slots })
		defer release() // should anything below panic
		buf := buffers.Get().(*bytes.Buffer)
		defer func() { buf.Reset(); buffers.Put(buf) }() // once written
		grouper := groupers.Get().(*exposition.Grouper)
		defer groupers.Put(grouper) // once written: the body points into it
		plain := text(o, buf, grouper)
		var body io.WriterTo = plain
		size := plain.Len()
		bw := bufs.Get().(*bufio.Writer)
		defer func() { bw.Reset(nil); bufs.Put(bw) }()
		if acceptsGzip(encoding) {
			zbuf := buffers.Get().(*bytes.Buffer)
			defer func() { zbuf.Reset(); buffers.Put(zbuf) }()
			zw := writers.Get().(*pgzip.Writer)
			zw.Reset(zbuf)
			zw.SetConcurrency(gzipBlock, gzipBlocks) // after Reset, which sets pgzip's default (GOMAXPROCS blocks); the values are valid
			bw.Reset(zw)
			plain.WriteTo(bw) // writes to a bytes.Buffer cannot fail
			bw.Flush()
			zw.Close()
			writers.Put(zw)
			body, size = zbuf, int64(zbuf.Len())
			w.Header().Set("Content-Encoding", "gzip")
		}
		release()
		w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		bw.Reset(w)
		_, err := body.WriteTo(bw)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			o.Logger.Debug("writing /metrics", "err", err) // the scraper went away
		}
	})
}

// text is a text scrape's body: the Source's pieces, then the Gatherer's
// metrics encoded into buf now. The pieces are immutable snapshots:
// holding them while the body is written costs nothing.
func text(o Options, buf *bytes.Buffer, g *exposition.Grouper) exposition.Text {
	others, err := o.Gatherer.Gather()
	if err != nil { // as ContinueOnError: serve what was gathered
		o.Logger.Error("gathering metrics", "err", err)
	}
	for _, mf := range others {
		if _, err := expfmt.MetricFamilyToText(buf, mf); err != nil {
			o.Logger.Error("encoding metrics", "family", mf.GetName(), "err", err)
		}
	}
	return exposition.Text{Families: g.Group(o.Source.Pieces()), Other: buf.Bytes()}
}

// acquire takes a slot, waiting up to slotWait for one; false if none
// came free or the client went away.
func acquire(ctx context.Context, slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	select {
	case slots <- struct{}{}:
		return true
	case <-time.After(slotWait):
	case <-ctx.Done():
	}
	return false
}

// acceptsText reports whether an Accept header allows the text format:
// text/plain, text/* or */* with a q above 0, or no header at all.
func acceptsText(header string) bool {
	if strings.TrimSpace(header) == "" {
		return true
	}
	for _, item := range strings.Split(header, ",") {
		mediaType, params, _ := strings.Cut(item, ";")
		switch strings.ToLower(strings.TrimSpace(mediaType)) {
		case "text/plain", "text/*", "*/*":
			if qOf(params) > 0 {
				return true
			}
		}
	}
	return false
}

// qOf is the q parameter among params (1 if none, RFC 9110).
func qOf(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return q
			}
		}
	}
	return 1
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip, by
// either of its names.
func acceptsGzip(header string) bool {
	gzipOK, _ := accepts(header, "gzip")
	xGzipOK, _ := accepts(header, "x-gzip")
	return gzipOK || xGzipOK
}

// accepts reports whether an Accept-Encoding header allows coding (q=0
// refuses it, RFC 9110), by name or else through "*", and whether it names it.
func accepts(header, coding string) (ok, named bool) {
	star := false
	for _, item := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(item, ";")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case coding:
			return qOf(params) > 0, true
		case "*":
			star = star || qOf(params) > 0
		}
	}
	return star, false
}
