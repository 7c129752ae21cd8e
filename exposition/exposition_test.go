package exposition_test

import (
	"bytes"
	"compress/gzip"
	"io"
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

func write(t *testing.T, gz bool) []byte {
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
	var w exposition.Encoder
	scrape := w.Text(exposition.Families(pieces...), []byte(live))
	if gz {
		scrape = w.Gzip(exposition.Families(pieces...), []byte(live))
	}
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
	got := write(t, false)
	if sortedLines(got) != sortedLines(want.Bytes()) {
		t.Errorf("got\n%s\nwant\n%s", got, want.String())
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := parser.TextToMetricFamilies(bytes.NewReader(got)); err != nil {
		t.Error(err)
	}
}

// The gzip form is one gzip member (not several) whose content, checksum
// and size are right.
func TestGzipIsOneMemberOfTheSameText(t *testing.T) {
	body := bytes.NewReader(write(t, true)) // a ByteReader: gzip reads no further than it must
	zr, err := gzip.NewReader(body)
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	got, err := io.ReadAll(zr) // checks CRC-32 and size at the end
	if err != nil {
		t.Fatal(err)
	}
	if want := write(t, false); !bytes.Equal(got, want) {
		t.Errorf("gunzipped\n%s\nwant\n%s", got, want)
	}
	if body.Len() != 0 {
		t.Errorf("%d bytes follow the gzip member", body.Len())
	}
}

// Large enough that each segment spans several deflate blocks.
func TestGzipOfLargePieces(t *testing.T) {
	var ms []prometheus.Metric
	for i := range 20000 {
		ms = append(ms, gauge(usersDesc, float64(i), "t", strings.Repeat("m", i%50)+string(rune('a'+i%26))+string(rune(i))))
	}
	p, err := new(exposition.Encoder).Encode(ms)
	if err != nil {
		t.Fatal(err)
	}
	var w exposition.Encoder
	var plain, gz bytes.Buffer
	w.Text(exposition.Families(p, p[:0]), nil).WriteTo(&plain)
	w.Gzip(exposition.Families(p, p[:0]), nil).WriteTo(&gz)
	zr, err := gzip.NewReader(&gz)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, plain.Bytes()) {
		t.Fatalf("gunzipped %d bytes, err %v; want %d bytes", len(got), err, plain.Len())
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
	new(exposition.Encoder).Text(exposition.Families(p), nil).WriteTo(&buf)
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
	new(exposition.Encoder).Text(exposition.Families(pieces...), nil).WriteTo(&buf)
	want := "# HELP t_nohelp \n# TYPE t_nohelp gauge\nt_nohelp{tenant=\"a\"} 1\nt_nohelp{tenant=\"b\"} 1\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestEmpty(t *testing.T) {
	var buf bytes.Buffer
	if _, err := new(exposition.Encoder).Gzip(nil, nil).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(zr); err != nil || len(got) != 0 {
		t.Errorf("got %q, %v; want nothing", got, err)
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
