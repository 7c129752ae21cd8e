package endpoints

import (
	"bytes"
	"cmp"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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

// metricsHandler serves /metrics. In the text format (what Prometheus asks
// for by default) the exporter's metrics go out as encoded ahead of time,
// and only the others (Go runtime, process, handler) are encoded now.
// Other formats (OpenMetrics only when asked for, protobuf) take
// client_golang's handler over everything, rendered into a buffer.
func metricsHandler(o Options) http.Handler {
	all := prometheus.Gatherers{o.Gatherer, o.PiecesGatherer}
	other := promhttp.HandlerFor(all, promhttp.HandlerOpts{ // in-flight bounded below
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(o.Logger.Handler(), slog.LevelError),
	})
	formats := expfmt.DefaultAcceptedFormats() // as client_golang's handler without OpenMetrics
	var encoder exposition.Encoder
	var buffers sync.Pool // *bytes.Buffer: the other metrics' text, or a whole response
	inFlight := make(chan struct{}, maxScrapesInFlight)
	var unwritten atomic.Int64
	limit := cmp.Or(o.MaxUnwritten, defaultMaxUnwritten)
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
		if format.FormatType() != expfmt.TypeTextPlain {
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

		others, err := o.Gatherer.Gather()
		if err != nil { // as ContinueOnError: serve what was gathered
			o.Logger.Error("gathering metrics", "err", err)
		}
		for _, mf := range others {
			if _, err := expfmt.MetricFamilyToText(buf, mf); err != nil {
				o.Logger.Error("encoding metrics", "family", mf.GetName(), "err", err)
			}
		}
		// The pieces are immutable snapshots: holding them while writing
		// costs nothing, and buf is this request's until it returns.
		families := exposition.Families(o.Pieces()...)
		scrape := encoder.Text(families, buf.Bytes())
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			scrape = encoder.Gzip(families, buf.Bytes())
			w.Header().Set("Content-Encoding", "gzip")
		}
		release()
		w.Header().Set("Content-Type", string(format))
		w.Header().Set("Content-Length", strconv.FormatInt(scrape.Len(), 10))
		if _, err := scrape.WriteTo(w); err != nil {
			o.Logger.Debug("writing /metrics", "err", err) // the scraper went away
		}
	})
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

// acceptsGzip reports whether an Accept-Encoding header allows gzip
// (RFC 9110: a q of 0 refuses it; "*" stands for it).
func acceptsGzip(header string) bool {
	for _, item := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(item, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		return q > 0
	}
	return false
}
