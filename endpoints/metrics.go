package endpoints

import (
	"bytes"
	"cmp"
	"compress/gzip"
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

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
)

// maxScrapesInFlight bounds concurrent scrapes, as promhttp's handler does.
// A scrape holds its slot only while its response is built (milliseconds),
// never while it is written, so slow clients cannot take the slots.
const maxScrapesInFlight = 10

// defaultMaxUnwritten bounds the bytes of responses in formats other than
// text that are built and wait to be written, since each slow client could
// hold one (protobuf for 100 tenants: 4.7 MB). Past it such a scrape gets
// 503; text scrapes hold no more than their own small part.
const defaultMaxUnwritten = 64 << 20

// maxGzipAge bounds how long a compressed body is served again while no
// snapshot has changed: the Go runtime, process and handler metrics in it
// are at most this old.
const maxGzipAge = time.Second

// gzipLevel compresses a body to within 1.3 times the size the default
// level gives, in a third of its time (BENCHMARKS.md).
const gzipLevel = 3

// metricsHandler serves /metrics. A text scrape (what Prometheus asks for
// by default) writes the exporter's metrics as encoded ahead of time and
// encodes only the others (Go runtime, process, handler, reload status)
// now; compressed with gzip, the whole body is kept and served again until
// a snapshot or the exporter's own metrics change, or for maxGzipAge,
// since compressing takes longer than assembling. Everything else (name[]
// filters, protobuf, zstd) takes client_golang's handler over all the
// metrics, rendered into a buffer.
func metricsHandler(o Options) http.Handler {
	all := prometheus.Gatherers{o.Gatherer, o.PiecesGatherer}
	other := promhttp.HandlerFor(all, promhttp.HandlerOpts{ // in-flight bounded below
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(o.Logger.Handler(), slog.LevelError),
	})
	formats := expfmt.DefaultAcceptedFormats() // as client_golang's handler without OpenMetrics
	var buffers sync.Pool                      // *bytes.Buffer: the other metrics' text, or a whole response
	inFlight := make(chan struct{}, maxScrapesInFlight)
	var unwritten atomic.Int64
	limit := cmp.Or(o.MaxUnwritten, defaultMaxUnwritten)
	var gz gzipCache
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case inFlight <- struct{}{}:
		default:
			http.Error(w, "Too many concurrent scrapes ("+strconv.Itoa(maxScrapesInFlight)+"); try again later.", http.StatusServiceUnavailable)
			return
		}
		release := sync.OnceFunc(func() { <-inFlight })
		defer release() // should anything below panic
		buf, _ := buffers.Get().(*bytes.Buffer)
		if buf == nil {
			buf = &bytes.Buffer{}
		}
		defer func() { buf.Reset(); buffers.Put(buf) }() // once written

		format := expfmt.NegotiateAccept(r.Header, formats...)
		encoding := r.Header.Get("Accept-Encoding")
		if format.FormatType() != expfmt.TypeTextPlain || r.URL.Query().Has("name[]") || asksForZstd(encoding) {
			rec := &recorder{header: http.Header{}, body: buf}
			other.ServeHTTP(rec, r)
			release()
			n := int64(buf.Len())
			if unwritten.Add(n) > limit {
				unwritten.Add(-n)
				http.Error(w, "Too many responses waiting for slow clients; try again later.", http.StatusServiceUnavailable)
				return
			}
			defer unwritten.Add(-n)
			maps.Copy(w.Header(), rec.header)
			w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			w.WriteHeader(cmp.Or(rec.code, http.StatusOK))
			if _, err := w.Write(buf.Bytes()); err != nil {
				o.Logger.Debug("writing /metrics", "err", err) // the scraper went away
			}
			return
		}

		// The other metrics are read now. Those of the exporter (reload
		// status, build, shard) come first, sorted by name: a compressed
		// body is kept only while they and the snapshots are unchanged.
		others, err := o.Gatherer.Gather()
		if err != nil { // as ContinueOnError: serve what was gathered
			o.Logger.Error("gathering metrics", "err", err)
		}
		exporterLen := 0
		for _, mf := range others {
			if _, err := expfmt.MetricFamilyToText(buf, mf); err != nil {
				o.Logger.Error("encoding metrics", "family", mf.GetName(), "err", err)
			}
			if strings.HasPrefix(mf.GetName(), exporterPrefix) {
				exporterLen = buf.Len()
			}
		}
		// The pieces are immutable snapshots: holding them while writing
		// costs nothing, and buf is this request's until it returns.
		pieces := o.Pieces()
		text := exposition.Text{Families: exposition.Families(pieces...), Other: buf.Bytes()}
		var body io.WriterTo = text
		size := text.Len()
		if acceptsGzip(encoding) {
			b := gz.body(pieces, buf.Bytes()[:exporterLen], text)
			body, size = bytes.NewReader(b), int64(len(b))
			w.Header().Set("Content-Encoding", "gzip")
		}
		release()
		w.Header().Set("Content-Type", string(format))
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		if _, err := body.WriteTo(w); err != nil {
			o.Logger.Debug("writing /metrics", "err", err) // the scraper went away
		}
	})
}

// exporterPrefix starts the names of the exporter's own metrics.
const exporterPrefix = "entra_authmethods_"

// gzipCache keeps the last compressed body. Compressing the body whole
// takes milliseconds per thousand series where assembling it takes
// microseconds, so back-to-back and concurrent scrapes share one.
type gzipCache struct {
	mu       sync.Mutex
	key      []*exposition.Piece // the first piece of each snapshot it was built from
	exporter []byte              // the text of the exporter's other metrics in it
	built    time.Time
	gz       []byte // never changed: a new body is a new slice
	zw       *gzip.Writer
}

// body returns the compressed text, built anew unless the cached one is
// of the same snapshots (pieces) and exporter metrics, and young enough.
func (c *gzipCache) body(pieces [][]exposition.Piece, exporter []byte, text exposition.Text) []byte {
	key := make([]*exposition.Piece, 0, len(pieces))
	for _, p := range pieces {
		if len(p) > 0 {
			key = append(key, &p[0])
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Equal(key, c.key) && bytes.Equal(exporter, c.exporter) && time.Since(c.built) < maxGzipAge {
		return c.gz
	}
	var out bytes.Buffer
	if c.zw == nil {
		c.zw, _ = gzip.NewWriterLevel(&out, gzipLevel) // the level is valid
	}
	c.zw.Reset(&out)
	text.WriteTo(c.zw) // writes to a bytes.Buffer cannot fail
	c.zw.Close()
	c.key, c.exporter, c.built, c.gz = key, bytes.Clone(exporter), time.Now(), out.Bytes()
	return c.gz
}

// recorder keeps a response in memory.
type recorder struct {
	header http.Header
	code   int
	body   *bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// quality returns the q an Accept-Encoding header gives coding (RFC 9110:
// 0 refuses it), by name or else through "*", and whether it names it.
func quality(header, coding string) (q float64, named bool) {
	for _, item := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(item, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != coding && (name != "*" || q > 0) {
			continue
		}
		q = 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		if name == coding {
			return q, true
		}
	}
	return q, false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	gzipQ, _ := quality(header, "gzip")
	xGzipQ, _ := quality(header, "x-gzip")
	return gzipQ > 0 || xGzipQ > 0
}

// asksForZstd reports whether an Accept-Encoding header names zstd:
// client_golang's handler then chooses the coding.
func asksForZstd(header string) bool {
	q, named := quality(header, "zstd")
	return named && q > 0
}
