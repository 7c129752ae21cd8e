package endpoints

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

func TestTelemetryPathValidation(t *testing.T) {
	for _, bad := range []string{"", "/", "metrics", "/-/healthy", "/-/ready", "/-/reload", "/met rics", "/metrics?x=1", "/a#b", "/%6d", `/"><b>`, "/{x}"} {
		err := CheckTelemetryPath(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: the error is not one line: %q", bad, err)
		}
		if _, err := New(Options{TelemetryPath: bad}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("New with %q: %v, want an error naming the path", bad, err)
		}
	}
	for _, good := range []string{"/metrics", "/x/metrics", "/metrics/", "/-/metrics", "/m:1@x"} {
		reg := prometheus.NewRegistry()
		h, err := New(Options{TelemetryPath: good, Source: sourceOf(t, nil), Gatherer: reg, Registerer: reg, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Errorf("%q refused: %v", good, err)
			continue
		}
		for path, want := range map[string]int{good: 200, "/-/healthy": 200, good + "x": 404} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != want {
				t.Errorf("telemetry path %q: GET %s: %d, want %d", good, path, rec.Code, want)
			}
		}
	}
}

const jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJl"

// Errors reach the landing page and the reload response without a token
// and cut to maxErrorLen.
func TestErrorsAreRedactedAndCut(t *testing.T) {
	long := strings.Repeat("y", 2000)
	srv := serveError(t, true, func() error {
		return errors.New("tenants[0]: token response: raw message was: {\"access_token\":\"" + jwt + "\"} " + long)
	}, "unauthorized: Authorization: Bearer "+jwt+" "+long)
	_, page := do(t, "GET", srv.URL+"/")
	code, reload := do(t, "POST", srv.URL+"/-/reload")
	if code != 500 {
		t.Errorf("failed reload: %d", code)
	}
	for what, body := range map[string]string{"landing page": page, "reload response": reload} {
		if strings.Contains(body, "eyJ0eXAi") || strings.Contains(body, strings.Repeat("y", maxErrorLen+1)) {
			t.Errorf("%s: a token or an uncut error:\n%s", what, body)
		}
		if !strings.Contains(body, redact.Mark) {
			t.Errorf("%s lacks %s:\n%s", what, redact.Mark, body)
		}
	}
	if !strings.Contains(page, "unauthorized: Authorization: Bearer") || !strings.Contains(page, "…") {
		t.Errorf("the landing page lost the error's start or its cut mark:\n%s", page)
	}
}

// bigServer serves /metrics with a response far larger than the socket
// buffers between it and a client that stops reading.
func bigServer(t *testing.T) *httptest.Server {
	t.Helper()
	d := prometheus.NewDesc("x_big", "Many series.", []string{"tenant", "i"}, nil)
	ms := make([]prometheus.Metric, 10000)
	for i := range ms {
		ms[i] = prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(i), "contoso", fmt.Sprint(i))
	}
	snaps := [][]prometheus.Metric{ms}
	h, err := New(Options{TelemetryPath: "/metrics", Source: sourceOf(t, &snaps), Gatherer: prometheus.NewRegistry(), Registerer: prometheus.NewRegistry(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if tc, ok := c.(*net.TCPConn); ok && s == http.StateNew {
			tc.SetWriteBuffer(4096) // so that a write blocks soon
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

const protobufAccept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"

// More slow readers than there are slots, of text and of protobuf, each
// holding a response it reads no further, must not make a text scrape get
// 503: a text scrape's slot is held while its body is built, not while it
// is written, and protobuf responses (written as they are encoded) hold
// slots of their own.
func TestSlowReadersDoNotTakeScrapeSlots(t *testing.T) {
	srv := bigServer(t)
	var slow []net.Conn
	for i := range maxScrapesInFlight + maxOthersInFlight + 4 {
		accept := "text/plain;version=0.0.4"
		if i%2 == 1 {
			accept = protobufAccept
		}
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
		t.Cleanup(func() { c.Close() }) // before srv.Close, which waits for their handlers
		c.(*net.TCPConn).SetReadBuffer(4096)
		fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: %s\r\nAccept-Encoding: identity\r\n\r\n", accept)
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil { // the response has started; read no further
			t.Fatalf("slow reader: %v", err)
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	start := time.Now()
	resp, err := client.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if resp.StatusCode != 200 || err != nil || len(families["x_big"].GetMetric()) != 10000 {
		t.Errorf("text scrape with %d slow readers attached: %d, %v, %d series", len(slow), resp.StatusCode, err, len(families["x_big"].GetMetric()))
	}
	t.Logf("text scrape in %v with %d slow readers attached", time.Since(start).Round(time.Millisecond), len(slow))
}

// A request with a body, even one that never arrives, is answered at once
// and its connection closed: it cannot hold the connection, or a health
// probe's answer, until the server's ReadTimeout.
func TestBodiesAreRefusedAtOnce(t *testing.T) {
	srv := httptest.NewUnstartedServer(must(New(Options{TelemetryPath: "/metrics", Source: sourceOf(t, nil), Gatherer: prometheus.NewRegistry(), Registerer: prometheus.NewRegistry(),
		Reload: func() error { return nil }, Logger: slog.New(slog.DiscardHandler)})))
	srv.Config.ReadTimeout = time.Minute
	srv.Start()
	t.Cleanup(srv.Close)
	for _, req := range []string{
		"GET /-/healthy HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nA",
		"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n",
		"POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n",
	} {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		io.WriteString(c, req)
		out, err := io.ReadAll(c) // to the end: the server closes the connection
		took := time.Since(start)
		if err != nil || !strings.HasPrefix(string(out), "HTTP/1.1 413 ") || !strings.Contains(string(out), "Connection: close") {
			t.Errorf("%q: %v after %v:\n%s", strings.SplitN(req, "\r\n", 2)[0], err, took, out)
		}
		if took > 2*time.Second {
			t.Errorf("%q: answered and closed after %v", strings.SplitN(req, "\r\n", 2)[0], took)
		}
	}
	// Without a body, the same connection serves on.
	if code, _ := do(t, "GET", srv.URL+"/-/healthy"); code != 200 {
		t.Errorf("healthy: %d", code)
	}
}

// Filtered and protobuf requests, which gather every metric, have slots of
// their own: with all of them taken, text scrapes still answer 200, and a
// further filtered request waits, then gets 503.
func TestOtherRequestsDoNotTakeTextSlots(t *testing.T) {
	gathering, unblock := make(chan struct{}, 100), make(chan struct{})
	source := sourceOf(t, nil)
	source.Collector = uncheckedCollector(func(chan<- prometheus.Metric) {
		gathering <- struct{}{}
		<-unblock
	})
	srv := httptest.NewServer(must(New(Options{TelemetryPath: "/metrics", Source: source, Gatherer: prometheus.NewRegistry(), Registerer: prometheus.NewRegistry(),
		Logger: slog.New(slog.DiscardHandler)})))
	t.Cleanup(srv.Close)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(unblock)
	// More of them than there are text slots: when they shared slots, these
	// alone took them all.
	const others = maxScrapesInFlight + 2
	codes := make(chan int, others)
	for i := range others {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", srv.URL+"/metrics?name[]=x", nil)
			if i%2 == 1 {
				req, _ = http.NewRequest("GET", srv.URL+"/metrics", nil)
				req.Header.Set("Accept", protobufAccept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	for range maxOthersInFlight {
		<-gathering // every slot of the others taken
	}
	for range 3 * maxScrapesInFlight {
		if code, _ := do(t, "GET", srv.URL+"/metrics"); code != 200 {
			t.Fatalf("text scrape with the other slots taken: %d", code)
		}
	}
	for range others - maxOthersInFlight {
		select {
		case code := <-codes:
			if code != http.StatusServiceUnavailable {
				t.Errorf("a filtered request beyond the slots: %d, want 503", code)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a filtered request beyond the slots was not refused")
		}
	}
}

func must(h http.Handler, err error) http.Handler {
	if err != nil {
		panic(err)
	}
	return h
}

// uncheckedCollector collects with its function and describes nothing, so
// that registering it does not collect.
type uncheckedCollector func(chan<- prometheus.Metric)

func (uncheckedCollector) Describe(chan<- *prometheus.Desc)      {}
func (c uncheckedCollector) Collect(ch chan<- prometheus.Metric) { c(ch) }
