package endpoints

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
)

// maxScrapesInFlight bounds concurrent scrapes, as promhttp's handler does.
const maxScrapesInFlight = 10

// metricsHandler serves /metrics. In the text format (what Prometheus asks
// for by default) the exporter's metrics go out as encoded ahead of time,
// and only the others (Go runtime, process, handler) are encoded now.
// Other formats (OpenMetrics only when asked for, protobuf) take
// client_golang's handler over everything.
func metricsHandler(o Options) http.Handler {
	all := prometheus.Gatherers{o.Gatherer, o.PiecesGatherer}
	other := promhttp.HandlerFor(all, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		ErrorLog:            slog.NewLogLogger(o.Logger.Handler(), slog.LevelError),
		MaxRequestsInFlight: maxScrapesInFlight,
	})
	formats := expfmt.DefaultAcceptedFormats() // as client_golang's handler without OpenMetrics
	var encoder exposition.Encoder
	var buffers sync.Pool // *bytes.Buffer for the other metrics' text
	inFlight := make(chan struct{}, maxScrapesInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format := expfmt.NegotiateAccept(r.Header, formats...)
		if format.FormatType() != expfmt.TypeTextPlain {
			other.ServeHTTP(w, r)
			return
		}
		select {
		case inFlight <- struct{}{}:
			defer func() { <-inFlight }()
		default:
			http.Error(w, "Too many concurrent scrapes ("+strconv.Itoa(maxScrapesInFlight)+"); try again later.", http.StatusServiceUnavailable)
			return
		}
		others, err := o.Gatherer.Gather()
		if err != nil { // as ContinueOnError: serve what was gathered
			o.Logger.Error("gathering metrics", "err", err)
		}
		text, _ := buffers.Get().(*bytes.Buffer)
		if text == nil {
			text = &bytes.Buffer{}
		}
		defer func() { text.Reset(); buffers.Put(text) }()
		for _, mf := range others {
			if _, err := expfmt.MetricFamilyToText(text, mf); err != nil {
				o.Logger.Error("encoding metrics", "family", mf.GetName(), "err", err)
			}
		}
		families := exposition.Families(o.Pieces()...)
		scrape := encoder.Text(families, text.Bytes())
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			scrape = encoder.Gzip(families, text.Bytes())
			w.Header().Set("Content-Encoding", "gzip")
		}
		w.Header().Set("Content-Type", string(format))
		w.Header().Set("Content-Length", strconv.FormatInt(scrape.Len(), 10))
		if _, err := scrape.WriteTo(w); err != nil {
			o.Logger.Debug("writing /metrics", "err", err) // the scraper went away
		}
	})
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
