package exposition_test

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
)

var (
	usersDesc  = prometheus.NewDesc("t_users", "Users.\nSecond line of help with a \\.", []string{"tenant", "method"}, nil)
	upDesc     = prometheus.NewDesc("t_up", "Up.", []string{"tenant"}, nil)
	errorsDesc = prometheus.NewDesc("t_errors_total", "Errors.", []string{"tenant", "reason"}, nil)
)

// families groups the snapshots' pieces with a fresh Grouper.
func families(snapshots ...[]exposition.Piece) [][]*exposition.Piece {
	return new(exposition.Grouper).Group(slices.Values(snapshots))
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// Two tenants' snapshots whose families interleave, with values and label
// values that need care in the text format.
func snapshots() [][]prometheus.Metric {
	return [][]prometheus.Metric{
		{gauge(upDesc, 1, "b"), gauge(usersDesc, 3, "b", `quote " backslash \ newline`+"\n"), gauge(usersDesc, math.Inf(1), "b", "a")},
		{gauge(usersDesc, 1e-7, "a", "sms"), gauge(upDesc, 0, "a"), gauge(usersDesc, math.NaN(), "a", "fido2")},
		{prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, 12345678901, "a", "throttled")},
	}
}

// live is another family, encoded at the scrape.
const live = "# HELP t_live Live.\n# TYPE t_live gauge\nt_live 1\n"

func write(t *testing.T) []byte {
	t.Helper()
	var pieces [][]exposition.Piece
	for _, s := range snapshots() {
		p, err := new(exposition.Encoder).Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		pieces = append(pieces, p)
	}
	var buf bytes.Buffer
	scrape := exposition.Text{Families: families(pieces...), Other: []byte(live)}
	n, err := scrape.WriteTo(&buf)
	if err != nil || n != scrape.Len() || int64(buf.Len()) != n {
		t.Fatalf("wrote %d bytes (buffer %d), Len %d, err %v", n, buf.Len(), scrape.Len(), err)
	}
	return buf.Bytes()
}

// The text written from pieces is what client_golang writes for the same
// metrics gathered by one registry: the same lines, though a family's
// samples come snapshot by snapshot rather than sorted across snapshots.
// It parses, so each family is written once.
func TestTextEqualsClientGolang(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	var all []prometheus.Metric
	for _, s := range snapshots() {
		all = append(all, s...)
	}
	reg.MustRegister(fixed(all))
	var want bytes.Buffer
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		expfmt.MetricFamilyToText(&want, mf)
	}
	want.WriteString(live)
	got := write(t)
	if sortedLines(got) != sortedLines(want.Bytes()) {
		t.Errorf("got\n%s\nwant\n%s", got, want.String())
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := parser.TextToMetricFamilies(bytes.NewReader(got)); err != nil {
		t.Error(err)
	}
}

// Inconsistent metrics (a duplicate series) are reported; the others are
// still encoded.
func TestEncodeReportsInconsistentMetrics(t *testing.T) {
	p, err := new(exposition.Encoder).Encode([]prometheus.Metric{gauge(upDesc, 1, "a"), gauge(upDesc, 0, "a"), gauge(usersDesc, 1, "a", "sms")})
	if err == nil || !strings.Contains(err.Error(), "t_up") {
		t.Errorf("err = %v, want one naming t_up", err)
	}
	var buf bytes.Buffer
	exposition.Text{Families: families(p)}.WriteTo(&buf)
	if !strings.Contains(buf.String(), `t_users{method="sms",tenant="a"} 1`) {
		t.Errorf("the consistent family was lost:\n%s", buf.String())
	}
}

// A family without help text still has its header written once, and every
// sample after it.
func TestFamilyWithoutHelp(t *testing.T) {
	d := prometheus.NewDesc("t_nohelp", "", []string{"tenant"}, nil)
	var pieces [][]exposition.Piece
	for _, tenant := range []string{"a", "b"} {
		p, err := new(exposition.Encoder).Encode([]prometheus.Metric{gauge(d, 1, tenant)})
		if err != nil {
			t.Fatal(err)
		}
		pieces = append(pieces, p)
	}
	var buf bytes.Buffer
	exposition.Text{Families: families(pieces...)}.WriteTo(&buf)
	want := "# HELP t_nohelp \n# TYPE t_nohelp gauge\nt_nohelp{tenant=\"a\"} 1\nt_nohelp{tenant=\"b\"} 1\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestEmpty(t *testing.T) {
	var buf bytes.Buffer
	text := exposition.Text{Families: families()}
	if n, err := text.WriteTo(&buf); err != nil || n != 0 || buf.Len() != 0 {
		t.Errorf("wrote %d bytes (%q), err %v; want nothing", n, buf.String(), err)
	}
}

func sortedLines(b []byte) string {
	lines := strings.Split(string(b), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

type fixed []prometheus.Metric

func (fixed) Describe(chan<- *prometheus.Desc) {}
func (f fixed) Collect(ch chan<- prometheus.Metric) {
	for _, m := range f {
		ch <- m
	}
}

// A Grouper used again writes what a fresh one writes: of the snapshots it
// is given now, none of the last call's, a family gone included.
func TestGrouperReused(t *testing.T) {
	encode := func(ms ...prometheus.Metric) []exposition.Piece {
		p, err := new(exposition.Encoder).Encode(ms)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := func(families [][]*exposition.Piece) string {
		var buf bytes.Buffer
		exposition.Text{Families: families}.WriteTo(&buf)
		return buf.String()
	}
	before := [][]exposition.Piece{encode(gauge(upDesc, 1, "a"), gauge(usersDesc, 2, "a", "sms")), encode(gauge(upDesc, 0, "b"))}
	after := [][]exposition.Piece{encode(gauge(usersDesc, 3, "b", "fido2")), encode(gauge(usersDesc, 4, "a", "sms"))}
	var g exposition.Grouper
	if got, want := text(g.Group(slices.Values(before))), text(families(before...)); got != want {
		t.Errorf("first call:\n%s\nwant\n%s", got, want)
	}
	got, want := text(g.Group(slices.Values(after))), text(families(after...))
	if got != want || strings.Contains(got, "t_up") {
		t.Errorf("reused:\n%s\nwant\n%s", got, want)
	}
}
