package endpoints

import (
	"iter"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/status"
)

// fakeSource serves snapshots of const metrics: encoded for text scrapes,
// collected for the other formats.
type fakeSource struct {
	prometheus.Collector
	pieces   func() [][]exposition.Piece
	status   []status.Tenant
	notReady bool
}

func (f *fakeSource) Pieces() iter.Seq[[]exposition.Piece] { return slices.Values(f.pieces()) }
func (f *fakeSource) Status() []status.Tenant              { return f.status }
func (f *fakeSource) Ready() bool                          { return !f.notReady }

// sourceOf serves the snapshots (nil: none) as they are when asked: a test
// may change them between scrapes.
func sourceOf(t testing.TB, snapshots *[][]prometheus.Metric) *fakeSource {
	if snapshots == nil {
		snapshots = new([][]prometheus.Metric)
	}
	return &fakeSource{
		Collector: prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
			for _, ms := range *snapshots {
				for _, m := range ms {
					ch <- m
				}
			}
		}),
		pieces: func() [][]exposition.Piece {
			var out [][]exposition.Piece
			for _, ms := range *snapshots {
				p, err := new(exposition.Encoder).Encode(ms)
				if err != nil {
					t.Error(err)
				}
				out = append(out, p)
			}
			return out
		},
	}
}
