// Package exposition writes Prometheus' text format from pieces encoded
// ahead of time, so a scrape only copies bytes.
//
// A snapshot's metrics are encoded once, when the snapshot is stored: one
// Piece per metric family, holding the sample lines as text and as a
// self-contained deflate segment. A scrape groups the pieces of every
// snapshot by family and writes them out, plain or as one gzip member made
// of the segments laid end to end. Compressing tens of thousands of series
// takes longer than a scrape should; copying them does not.
package exposition

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Piece is one metric family's samples from one snapshot. It is immutable.
type Piece struct {
	family string
	header segment // # HELP and # TYPE lines
	body   segment // sample lines
}

// segment is text and the same text as a deflate segment that ends on a
// byte boundary (a sync flush) without a final block, so segments can be
// laid end to end into one deflate stream.
type segment struct {
	text     []byte
	deflated []byte
}

// Encoder encodes snapshots into pieces and assembles scrapes from them. It
// keeps compressors (each takes over a megabyte to set up) and write
// buffers for reuse, and is safe for concurrent use. The zero value is ready.
type Encoder struct {
	compressors sync.Pool // *flate.Writer
	buffers     sync.Pool // *bufio.Writer, for writing scrapes
	headers     sync.Map  // header text -> segment: one copy per family, not per tenant
}

func (e *Encoder) compressor(w io.Writer) *flate.Writer {
	if fw, ok := e.compressors.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return fw
	}
	// BestSpeed: storing a snapshot and scraping should both be quick.
	fw, _ := flate.NewWriter(w, flate.BestSpeed)
	return fw
}

// Encode encodes metrics into one Piece per family, sorted by family name,
// with each family's samples sorted as client_golang sorts them. It checks
// the metrics as a registry would; if some are inconsistent, the rest are
// encoded and the error says what is wrong.
func (e *Encoder) Encode(metrics []prometheus.Metric) ([]Piece, error) {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(metricsCollector(metrics)); err != nil {
		return nil, err
	}
	families, gatherErr := reg.Gather()
	pieces := make([]Piece, 0, len(families))
	var text, deflated bytes.Buffer
	fw := e.compressor(&deflated)
	defer e.compressors.Put(fw)
	encode := func(text []byte) segment {
		deflated.Reset()
		fw.Reset(&deflated)
		fw.Write(text) // writes to a bytes.Buffer cannot fail
		fw.Flush()
		return segment{text: bytes.Clone(text), deflated: bytes.Clone(deflated.Bytes())}
	}
	for _, mf := range families {
		text.Reset()
		if _, err := expfmt.MetricFamilyToText(&text, mf); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", mf.GetName(), err)
		}
		// The header is the leading comment lines (HELP, if there is help
		// text, and TYPE); HELP escapes newlines, so each is one line.
		all := text.Bytes()
		cut := 0
		for cut < len(all) && all[cut] == '#' {
			cut += bytes.IndexByte(all[cut:], '\n') + 1
		}
		header, ok := e.headers.Load(string(all[:cut]))
		if !ok {
			header, _ = e.headers.LoadOrStore(string(all[:cut]), encode(all[:cut]))
		}
		pieces = append(pieces, Piece{family: mf.GetName(), header: header.(segment), body: encode(all[cut:])})
	}
	return pieces, gatherErr
}

// metricsCollector is a fixed set of metrics. It describes nothing, making
// it an unchecked collector: the registry still checks every metric.
type metricsCollector []prometheus.Metric

func (metricsCollector) Describe(chan<- *prometheus.Desc) {}

func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}

// Families returns the pieces of every snapshot grouped by family, families
// sorted by name, and within a family in the order the snapshots are given.
func Families(snapshots ...[]Piece) [][]*Piece {
	// Two passes, so all the groups share one allocation: this runs at
	// every scrape.
	index := map[string]int{}
	var sizes []int
	total := 0
	for _, s := range snapshots {
		for i := range s {
			n, ok := index[s[i].family]
			if !ok {
				n = len(sizes)
				index[s[i].family] = n
				sizes = append(sizes, 0)
			}
			sizes[n]++
			total++
		}
	}
	all := make([]*Piece, total)
	out := make([][]*Piece, len(sizes))
	for n, size := range sizes {
		out[n], all = all[:0:size], all[size:]
	}
	for _, s := range snapshots {
		for i := range s {
			n := index[s[i].family]
			out[n] = append(out[n], &s[i])
		}
	}
	slices.SortFunc(out, func(a, b []*Piece) int { return strings.Compare(a[0].family, b[0].family) })
	return out
}
