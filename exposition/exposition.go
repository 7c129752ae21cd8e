// Package exposition writes Prometheus' text format from pieces encoded
// ahead of time, as encoding tens of thousands of series takes longer than a
// scrape should: a stored snapshot's metrics become one Piece of sample lines
// per family, and a scrape writes every snapshot's pieces grouped by family.
package exposition

import (
	"bytes"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Piece is one metric family's samples from one snapshot. It is immutable.
type Piece struct {
	family string
	header []byte // # HELP and # TYPE lines, shared by the family's pieces
	body   []byte // sample lines
}

// Encoder encodes snapshots into pieces. It is safe for concurrent use; the
// zero value is ready.
type Encoder struct {
	headers sync.Map // header text -> []byte: one copy per family, not per tenant
}

// Encode encodes metrics into one Piece per family, sorted by family name,
// with each family's samples sorted as client_golang sorts them. It checks
// the metrics as a registry would; if some are inconsistent, the rest are
// encoded and the error says what is wrong.
func (e *Encoder) Encode(metrics []prometheus.Metric) ([]Piece, error) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metricsCollector(metrics)) // a collector that describes nothing registers
	families, gatherErr := reg.Gather()
	pieces := make([]Piece, 0, len(families))
	var text bytes.Buffer
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
		header, _ := e.headers.LoadOrStore(string(all[:cut]), bytes.Clone(all[:cut]))
		pieces = append(pieces, Piece{family: mf.GetName(), header: header.([]byte), body: bytes.Clone(all[cut:])})
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

// Grouper groups pieces by family, reusing its memory from one call to the
// next: a scrape of 1,000 tenants groups some 60,000 pieces, megabytes of
// garbage a scrape would otherwise leave behind. It holds the last call's
// pieces until the next call. The zero value is ready; it is not safe for
// concurrent use.
type Grouper struct {
	byName   map[string][]*Piece
	families [][]*Piece
}

// Group returns the snapshots' pieces grouped by family, families sorted by
// name, and within a family in the order the snapshots come; valid until the
// next call.
func (g *Grouper) Group(snapshots iter.Seq[[]Piece]) [][]*Piece {
	if g.byName == nil {
		g.byName = map[string][]*Piece{}
	}
	for name, pieces := range g.byName {
		clear(pieces) // a snapshot replaced since is held no longer
		g.byName[name] = pieces[:0]
	}
	for s := range snapshots {
		for i := range s {
			g.byName[s[i].family] = append(g.byName[s[i].family], &s[i])
		}
	}
	clear(g.families)
	g.families = g.families[:0]
	for _, pieces := range g.byName {
		if len(pieces) > 0 {
			g.families = append(g.families, pieces)
		}
	}
	slices.SortFunc(g.families, func(a, b []*Piece) int { return strings.Compare(a[0].family, b[0].family) })
	return g.families
}

// Text is the body of a scrape in the text format: the families' pieces,
// then Other, the text of families encoded at the scrape. Its length is
// known before it is written, so it can go out with a Content-Length.
type Text struct {
	Families [][]*Piece
	Other    []byte
}

// Len is the number of bytes WriteTo writes.
func (t Text) Len() int64 {
	n := int64(len(t.Other))
	for _, family := range t.Families {
		n += int64(len(family[0].header))
		for _, p := range family {
			n += int64(len(p.body))
		}
	}
	return n
}

// WriteTo writes the text to w, each family's header once before its
// pieces' samples. The pieces are many and small: w should buffer (a
// bufio.Writer, a gzip writer).
func (t Text) WriteTo(w io.Writer) (int64, error) {
	var n int64
	write := func(b []byte) error {
		m, err := w.Write(b)
		n += int64(m)
		return err
	}
	for _, family := range t.Families {
		if err := write(family[0].header); err != nil {
			return n, err
		}
		for _, p := range family {
			if err := write(p.body); err != nil {
				return n, err
			}
		}
	}
	return n, write(t.Other)
}
