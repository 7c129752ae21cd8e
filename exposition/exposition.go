// Package exposition writes Prometheus' text format from pieces encoded
// ahead of time, so a scrape only copies bytes.
//
// A snapshot's metrics are encoded once, when the snapshot is stored: one
// Piece per metric family, holding its sample lines as text. A scrape
// groups the pieces of every snapshot by family and writes them out.
// Encoding tens of thousands of series takes longer than a scrape should;
// copying them does not.
package exposition

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
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
	if err := reg.Register(metricsCollector(metrics)); err != nil {
		return nil, err
	}
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
		header, ok := e.headers.Load(string(all[:cut]))
		if !ok {
			header, _ = e.headers.LoadOrStore(string(all[:cut]), bytes.Clone(all[:cut]))
		}
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

// Families returns the pieces of every snapshot grouped by family, families
// sorted by name, and within a family in the order the snapshots are given.
func Families(snapshots ...[]Piece) [][]*Piece {
	byName := map[string][]*Piece{}
	for _, s := range snapshots {
		for i := range s {
			byName[s[i].family] = append(byName[s[i].family], &s[i])
		}
	}
	out := make([][]*Piece, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[name])
	}
	return out
}
