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
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/exposition"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/status"
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
		h, err := New(Options{TelemetryPath: good, Gatherer: reg, Registerer: reg, Pieces: func() [][]exposition.Piece { return nil },
			PiecesGatherer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)})
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
func bigServer(t *testing.T, maxUnwritten int64) *httptest.Server {
	t.Helper()
	d := prometheus.NewDesc("x_big", "Many series.", []string{"tenant", "i"}, nil)
	ms := make([]prometheus.Metric, 10000)
	for i := range ms {
		ms[i] = prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(i), "contoso", fmt.Sprint(i))
	}
	pieces, err := new(exposition.Encoder).Encode(ms)
	if err != nil {
		t.Fatal(err)
	}
	snapshots := prometheus.NewRegistry()
	snapshots.MustRegister(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		for _, m := range ms {
			ch <- m
		}
	}))
	h, err := New(Options{TelemetryPath: "/metrics", Gatherer: prometheus.NewRegistry(), Registerer: prometheus.NewRegistry(),
		Pieces: func() [][]exposition.Piece { return [][]exposition.Piece{pieces} }, PiecesGatherer: snapshots,
		Status: func() []status.Tenant { return nil }, Ready: func() bool { return true }, Logger: slog.New(slog.DiscardHandler), MaxUnwritten: maxUnwritten})
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

// More slow readers than scrape slots, each holding a response it reads no
// further, must not make a concurrent scrape get 503: a slot is held while
// a response is built, not while it is written.
func TestSlowReadersDoNotTakeScrapeSlots(t *testing.T) {
	srv := bigServer(t, 0)
	for _, accept := range []string{"text/plain;version=0.0.4", protobufAccept} {
		var slow []net.Conn
		for range maxScrapesInFlight + 2 {
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

		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		req.Header.Set("Accept", accept)
		client := &http.Client{Timeout: 30 * time.Second}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if resp.StatusCode == 200 {
			dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
			for {
				if err := dec.Decode(new(dto.MetricFamily)); err != nil {
					if err != io.EOF {
						t.Errorf("Accept %s: decoding: %v", accept, err)
					}
					break
				}
				n++
			}
		}
		resp.Body.Close()
		client.CloseIdleConnections()
		if resp.StatusCode != 200 || n != 1 {
			t.Errorf("Accept %s: scrape with %d slow readers attached: %d, %d families", accept, len(slow), resp.StatusCode, n)
		}
		t.Logf("Accept %s: scrape in %v with %d slow readers attached", accept, time.Since(start).Round(time.Millisecond), len(slow))
		for _, c := range slow {
			c.Close()
		}
	}
}

// Responses in other formats waiting for slow clients are bounded in bytes:
// past the bound such a scrape gets 503, while text scrapes go on.
func TestUnwrittenResponsesAreBounded(t *testing.T) {
	scrape := func(srv *httptest.Server, accept string) (int, int) {
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		req.Header.Set("Accept", accept)
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, len(b)
	}
	_, size := scrape(bigServer(t, 0), protobufAccept)
	srv := bigServer(t, int64(size)*3/2) // room for one response, not two

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: %s\r\nAccept-Encoding: identity\r\n\r\n", protobufAccept)
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if code, _ := scrape(srv, protobufAccept); code != http.StatusServiceUnavailable {
		t.Errorf("protobuf scrape past the bound: %d, want 503", code)
	}
	if code, _ := scrape(srv, "text/plain"); code != 200 {
		t.Errorf("text scrape while a protobuf response waits: %d", code)
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, n := scrape(srv, protobufAccept)
		if code == 200 && n == size {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("protobuf scrape after the slow client left: %d, %d bytes", code, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A request with a body, even one that never arrives, is answered at once
// and its connection closed: it cannot hold the connection, or a health
// probe's answer, until the server's ReadTimeout.
func TestBodiesAreRefusedAtOnce(t *testing.T) {
	srv := httptest.NewUnstartedServer(must(New(Options{TelemetryPath: "/metrics", Gatherer: prometheus.NewRegistry(), Registerer: prometheus.NewRegistry(),
		Pieces: func() [][]exposition.Piece { return nil }, PiecesGatherer: prometheus.NewRegistry(),
		Status: func() []status.Tenant { return nil }, Ready: func() bool { return true }, Reload: func() error { return nil },
		Logger: slog.New(slog.DiscardHandler)})))
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
	slow := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		gathering <- struct{}{}
		<-unblock
		return nil, nil
	})
	srv := httptest.NewServer(must(New(Options{TelemetryPath: "/metrics", Gatherer: prometheus.NewRegistry(), Registerer: prometheus.NewRegistry(),
		Pieces: func() [][]exposition.Piece { return nil }, PiecesGatherer: slow,
		Status: func() []status.Tenant { return nil }, Ready: func() bool { return true }, Logger: slog.New(slog.DiscardHandler)})))
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
		case <-time.After(slotWait + 5*time.Second):
			t.Fatal("a filtered request beyond the slots did not give up waiting")
		}
	}
}

func must(h http.Handler, err error) http.Handler {
	if err != nil {
		panic(err)
	}
	return h
}
