// Package endpoints builds the exporter's HTTP handlers: the landing page
// with each tenant's report status, /metrics, health, readiness and reload.
package endpoints

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/promhttp/zstd" // client_golang's handler offers zstd
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/status"
)

// Options is what the handlers serve.
type Options struct {
	Name, Description, Version string
	TelemetryPath              string
	Gatherer                   prometheus.Gatherer         // metrics other than the exporter's, gathered at each scrape
	Registerer                 prometheus.Registerer       // for the metrics handler's own metrics
	Pieces                     func() [][]exposition.Piece // the exporter's metrics, encoded ahead of time
	PiecesGatherer             prometheus.Gatherer         // the same metrics, for formats other than text
	Status                     func() []status.Tenant
	Ready                      func() bool
	Reload                     func() error // nil: /-/reload is not served (--web.enable-lifecycle is off)
	Logger                     *slog.Logger
	MaxUnwritten               int64 // bytes of non-text responses waiting for slow clients (0: 64 MiB)
	// With Context and Changes (counting the changes of what Pieces returns),
	// a gzip writer is kept primed for the next scrape until Context is done.
	Context context.Context
	Changes func() uint64
}

const (
	// maxErrorLen bounds an error message echoed on a page or in a response.
	maxErrorLen = 500
	// maxScrapesInFlight bounds concurrent text scrapes, as promhttp's
	// handler does, and maxOthersInFlight the other requests (name[]
	// filters, protobuf, zstd), which gather every metric anew: slots of
	// their own, so that they never take a text scrape's. A request holds
	// its slot only while its response is built, so slow clients cannot
	// take the slots; one that finds none free waits up to slotWait.
	maxScrapesInFlight = 10
	maxOthersInFlight  = 4
	slotWait           = 2 * time.Second
	// defaultMaxUnwritten bounds the bytes of non-text responses waiting for
	// slow clients, each of which could hold one (protobuf for 100 tenants:
	// 4.7 MB); text scrapes hold only their own small part.
	defaultMaxUnwritten = 64 << 20
	// maxGzipAge bounds the age of the runtime, process and handler metrics
	// in a compressed body served again, and how long ago the snapshots in
	// a primed gzip writer served after a change were the newest.
	maxGzipAge = time.Second
	// How often keepPrimed checks its writer, and for how long after a gzip scrape.
	primeEvery = maxGzipAge / 2
	primeWhile = 10 * time.Minute
	// gzipLevel compresses to within 1.3 times the default level's size in a
	// third of its time (BENCHMARKS.md).
	gzipLevel = 3
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
		if !o.Ready() {
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
		if err := statusTemplate.Execute(&extra, o.Status()); err != nil {
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
}).Parse(`<h2>Reports</h2>
<table class="status"><tr><th>Tenant</th><th>Report</th><th>Status</th><th>Last success</th><th>Records</th><th>Last error</th></tr>
{{range .}}{{$t := .Tenant}}{{range .Reports}}<tr><td>{{$t}}</td><td>{{.Report}}</td>
<td>{{if not .Polled}}polling…{{else if .Up}}up{{else}}<span class="down">down</span>{{end}}</td>
<td>{{ago .LastSuccess}}</td><td>{{.Records}}</td><td>{{if not .Up}}{{short .LastError}}{{end}}</td></tr>
{{end}}{{end}}</table>`))

// metricsHandler serves /metrics. A text scrape (what Prometheus asks for
// by default) writes the exporter's metrics as encoded ahead of time and
// encodes only the others (Go runtime, process, handler, reload status)
// now, gzipped through gzipCache. Everything else (name[] filters, protobuf,
// zstd) takes client_golang's handler over all the metrics, into a buffer.
func metricsHandler(o Options) http.Handler {
	other := promhttp.HandlerFor(prometheus.Gatherers{o.Gatherer, o.PiecesGatherer}, promhttp.HandlerOpts{ // in-flight bounded below
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(o.Logger.Handler(), slog.LevelError),
	})
	formats := expfmt.DefaultAcceptedFormats()                         // as client_golang's handler without OpenMetrics
	buffers := sync.Pool{New: func() any { return new(bytes.Buffer) }} // the other metrics' text, or a whole response
	textSlots, otherSlots := make(chan struct{}, maxScrapesInFlight), make(chan struct{}, maxOthersInFlight)
	var unwritten atomic.Int64
	gz := newGzipCache(o.Pieces, o.Changes)
	if o.Context != nil && o.Changes != nil {
		go gz.keepPrimed(o.Context)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format := expfmt.NegotiateAccept(r.Header, formats...)
		encoding := r.Header.Get("Accept-Encoding")
		zstd, zstdNamed := accepts(encoding, "zstd") // named: client_golang's handler chooses the coding
		isText := format.FormatType() == expfmt.TypeTextPlain && !r.URL.Query().Has("name[]") && !(zstd && zstdNamed)
		slots := otherSlots
		if isText {
			slots = textSlots
		}
		if !acquire(r.Context(), slots) {
			http.Error(w, "Too many concurrent scrapes ("+strconv.Itoa(cap(slots))+" of this kind); try again later.", http.StatusServiceUnavailable)
			return
		}
		release := sync.OnceFunc(func() { <-slots })
		defer release() // should anything below panic
		buf := buffers.Get().(*bytes.Buffer)
		defer func() { buf.Reset(); buffers.Put(buf) }() // once written
		var body io.WriterTo
		var size int64
		code := http.StatusOK
		if !isText {
			rec := &recorder{header: http.Header{}, body: buf}
			other.ServeHTTP(rec, r)
			release()
			size = int64(buf.Len())
			defer unwritten.Add(-size)
			if unwritten.Add(size) > cmp.Or(o.MaxUnwritten, defaultMaxUnwritten) {
				http.Error(w, "Too many responses waiting for slow clients; try again later.", http.StatusServiceUnavailable)
				return
			}
			maps.Copy(w.Header(), rec.header)
			body, code = buf, cmp.Or(rec.code, http.StatusOK)
		} else {
			// The exporter's own metrics (reload status, build, shard) sort
			// first: a gzipped body is kept only while they are unchanged.
			others, err := o.Gatherer.Gather()
			if err != nil { // as ContinueOnError: serve what was gathered
				o.Logger.Error("gathering metrics", "err", err)
			}
			exporterLen := 0
			for _, mf := range others {
				if _, err := expfmt.MetricFamilyToText(buf, mf); err != nil {
					o.Logger.Error("encoding metrics", "family", mf.GetName(), "err", err)
				}
				if strings.HasPrefix(mf.GetName(), "entra_authmethods_") {
					exporterLen = buf.Len()
				}
			}
			pieces := o.Pieces() // immutable snapshots: holding them while writing costs nothing
			gzipOK, _ := accepts(encoding, "gzip")
			xGzipOK, _ := accepts(encoding, "x-gzip")
			if gzipOK || xGzipOK { // grouped by family only when a body is built
				b := gz.body(pieces, buf.Bytes()[:exporterLen], buf.Bytes()[exporterLen:])
				body, size = bytes.NewReader(b), int64(len(b))
				w.Header().Set("Content-Encoding", "gzip")
			} else {
				text := exposition.Text{Families: exposition.Families(pieces...), Other: buf.Bytes()}
				body, size = text, text.Len()
			}
			w.Header().Set("Content-Type", string(format))
		}
		release()
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(code)
		if _, err := body.WriteTo(w); err != nil {
			o.Logger.Debug("writing /metrics", "err", err) // the scraper went away
		}
	})
}

// acquire takes a slot, waiting up to slotWait for one; false if none
// came free or the client went away.
func acquire(ctx context.Context, slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(slotWait)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// gzipCache compresses text scrapes. It keeps the last body while nothing in
// it changed, for up to maxGzipAge, and keepPrimed a writer lacking only the
// metrics read at the scrape (100 tenants: a scrape takes 1 ms, not 10).
type gzipCache struct {
	pieces  func() [][]exposition.Piece
	changes func() uint64 // Options.Changes; nil: nothing is primed
	writers sync.Pool     // *gzip.Writer at gzipLevel, to Reset

	mu         sync.Mutex
	key        []*exposition.Piece // the first piece of each snapshot the body was built from
	exporter   []byte              // the text of the exporter's other metrics in it
	built      time.Time
	gz         []byte    // never changed: a new body is a new slice
	primed     *primed   // nil: none, or a scrape took it
	lastScrape time.Time // the last gzip scrape's
}

// primed is an open gzip writer holding the text of key's snapshots and exporter.
type primed struct {
	key      []*exposition.Piece
	exporter []byte
	gen      uint64    // Options.Changes before the snapshots were read
	current  time.Time // when they were last known to be the newest
	zw       *gzip.Writer
	out      *bytes.Buffer
}

func newGzipCache(pieces func() [][]exposition.Piece, changes func() uint64) *gzipCache {
	return &gzipCache{pieces: pieces, changes: changes, writers: sync.Pool{New: func() any { zw, _ := gzip.NewWriterLevel(nil, gzipLevel); return zw }}} // the level is valid
}

// keyOf identifies snapshots by their first pieces: a snapshot is immutable,
// a changed one is a new slice.
func keyOf(pieces [][]exposition.Piece) []*exposition.Piece {
	key := make([]*exposition.Piece, 0, len(pieces))
	for _, p := range pieces {
		if len(p) > 0 {
			key = append(key, &p[0])
		}
	}
	return key
}

// body returns the text of pieces, exporter and rest (the metrics read at
// the scrape, exporter's sorting first) compressed: the cached body if it
// is still valid, else the primed writer's finished, else built now.
func (c *gzipCache) body(pieces [][]exposition.Piece, exporter, rest []byte) []byte {
	key := keyOf(pieces)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastScrape = time.Now()
	if slices.Equal(key, c.key) && bytes.Equal(exporter, c.exporter) && time.Since(c.built) < maxGzipAge {
		return c.gz
	}
	// A primed writer serves for up to maxGzipAge after a counted change.
	p := c.primed
	c.primed = nil
	if p == nil || !bytes.Equal(exporter, p.exporter) ||
		!slices.Equal(key, p.key) && (time.Since(p.current) >= maxGzipAge || c.changes() == p.gen) {
		if p != nil {
			c.writers.Put(p.zw)
		}
		p = c.prime(pieces, exporter)
	}
	p.zw.Write(rest) // writes to a bytes.Buffer cannot fail
	p.zw.Close()
	c.writers.Put(p.zw)
	c.key, c.exporter, c.built, c.gz = p.key, p.exporter, time.Now(), p.out.Bytes()
	return c.gz
}

// prime compresses the text of pieces and exporter into a writer left open.
func (c *gzipCache) prime(pieces [][]exposition.Piece, exporter []byte) *primed {
	p := &primed{key: keyOf(pieces), exporter: bytes.Clone(exporter), zw: c.writers.Get().(*gzip.Writer), out: new(bytes.Buffer)}
	p.zw.Reset(p.out)
	exposition.Text{Families: exposition.Families(pieces...), Other: p.exporter}.WriteTo(p.zw)
	return p
}

// keepPrimed primes a writer, until ctx is done and while gzip scrapes come,
// when none fits (a scrape took it, or a change was counted), checking every
// primeEvery; after a prime it waits nine times as long: a tenth of a core.
func (c *gzipCache) keepPrimed(ctx context.Context) {
	for pause := primeEvery; ; {
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = primeEvery
		now := time.Now()
		gen := c.changes() // read before the pieces: a change after it is seen next time
		c.mu.Lock()
		active, exporter, p := time.Since(c.lastScrape) < primeWhile, c.exporter, c.primed
		fits := p != nil && p.gen == gen && bytes.Equal(exporter, p.exporter)
		if fits {
			p.current = now
		}
		c.mu.Unlock()
		if !active || fits {
			continue
		}
		next := c.prime(c.pieces(), exporter)
		next.gen, next.current, pause = gen, now, max(primeEvery, 9*time.Since(now))
		c.mu.Lock()
		old := c.primed // nil if a scrape took p meanwhile
		c.primed = next
		c.mu.Unlock()
		if old != nil {
			c.writers.Put(old.zw)
		}
	}
}

// recorder keeps a response in memory.
type recorder struct {
	header http.Header
	code   int
	body   *bytes.Buffer
}

func (r *recorder) Header() http.Header  { return r.header }
func (r *recorder) WriteHeader(code int) { r.code = cmp.Or(r.code, code) } // the first code counts

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// accepts reports whether an Accept-Encoding header allows coding (q=0
// refuses it, RFC 9110), by name or else through "*", and whether it names it.
func accepts(header, coding string) (ok, named bool) {
	star := false
	for _, item := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(item, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		k, v, _ := strings.Cut(params, "=")
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !strings.EqualFold(strings.TrimSpace(k), "q") {
			q = 1
		}
		switch name {
		case coding:
			return q > 0, true
		case "*":
			star = star || q > 0
		}
	}
	return star, false
}
