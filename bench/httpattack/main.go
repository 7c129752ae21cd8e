// Command httpattack attacks a running exporter without credentials, with
// slow readers of /metrics, many idle connections, requests whose bodies
// trickle in and floods of filtered and protobuf requests, and meanwhile
// scrapes it as Prometheus would, printing each scrape's latency. It exits 1
// if any scrape fails.
//
//	go run ./bench/httpattack -target http://127.0.0.1:9871/metrics -slow 12 -idle 20000
//	go run ./bench/httpattack -source 127.0.0.2 -slow 0 -idle 0 -slow-body 514 -flood 16
//
// This process needs a file descriptor per connection: raise `ulimit -n`
// above -idle first.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/httpattack"
)

func main() {
	target := flag.String("target", "http://127.0.0.1:9871/metrics", "URL scraped and slowly read; user:password@ in it is sent as basic auth")
	slow := flag.Int("slow", 12, "slow readers: each pipelines -pipeline scrapes and reads one byte per second")
	pipeline := flag.Int("pipeline", 100, "scrapes each slow reader asks for at once")
	idle := flag.Int("idle", 2000, "idle connections: half send one request to /-/healthy and then nothing, half never send a byte")
	redial := flag.Duration("redial", 0, "reopen an idle connection this long after the exporter closes it (0: never)")
	slowBody := flag.Int("slow-body", 0, "connections sending GET /-/healthy with a body of 100,000 bytes announced, a byte of it every 5 s")
	flood := flag.Int("flood", 0, "workers requesting /metrics with a name[] filter (half) or as protobuf (half) as fast as they are answered")
	duration := flag.Duration("duration", 30*time.Second, "how long to scrape under attack")
	every := flag.Duration("every", time.Second, "time between scrapes")
	timeout := flag.Duration("timeout", 5*time.Second, "a scrape slower than this fails")
	insecure := flag.Bool("insecure", false, "with https, do not verify the exporter's certificate")
	source := flag.String("source", "", "address to attack from, such as 127.0.0.2 (scrapes come from the default one)")
	flag.Parse()

	t, err := httpattack.NewTarget(*target, *insecure)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *source != "" {
		if t.Source = net.ParseIP(*source); t.Source == nil {
			fmt.Fprintf(os.Stderr, "-source %q is no IP address\n", *source)
			os.Exit(2)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	slowCs := t.Slow(ctx, *slow, *pipeline, time.Second)
	idleCs := t.Idle(ctx, *idle, 64, "/-/healthy", *redial)
	bodyCs := t.SlowBody(ctx, *slowBody, 64, "/-/healthy", 5*time.Second)
	// The floods, each a Target of its own URL, from the same source.
	filtered, _ := httpattack.NewTarget(*target, *insecure) // parsed above
	filtered.Source = t.Source
	query := filtered.URL.Query()
	query.Set("name[]", "entra_authmethods_report_up")
	filtered.URL.RawQuery = query.Encode()
	protobuf, _ := httpattack.NewTarget(*target, *insecure)
	protobuf.Source = t.Source
	floodA := filtered.Flood(ctx, *flood/2, nil)
	floodB := protobuf.Flood(ctx, *flood-*flood/2, http.Header{"Accept": {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"}})
	fmt.Printf("attack attached in %v: %d of %d slow readers, %d of %d idle connections open (%d could not connect)\n",
		time.Since(start).Round(time.Millisecond), slowCs.Open.Load(), *slow, idleCs.Open.Load(), *idle, idleCs.Failed.Load())

	client := &http.Client{Timeout: *timeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: *insecure}}}
	var took []time.Duration
	failed := 0
	end := time.Now().Add(*duration)
	for time.Now().Before(end) {
		began := time.Now()
		status, n, err := scrape(client, *target)
		d := time.Since(began)
		state := fmt.Sprintf("slow readers %d open (%d dropped), idle %d open (%d dropped), slow bodies %d open (%d dropped), flood %d answered",
			slowCs.Open.Load(), slowCs.Dropped.Load(), idleCs.Open.Load(), idleCs.Dropped.Load(), bodyCs.Open.Load(), bodyCs.Dropped.Load(),
			floodA.Answered.Load()+floodB.Answered.Load())
		if err != nil || status != http.StatusOK {
			failed++
			fmt.Printf("scrape FAILED after %v: status %d, %v; %s\n", d.Round(time.Millisecond), status, err, state)
		} else {
			took = append(took, d)
			fmt.Printf("scrape %v, %d bytes; %s\n", d.Round(time.Millisecond), n, state)
		}
		time.Sleep(time.Until(began.Add(*every)))
	}
	cancel()
	t.Wait()
	filtered.Wait()
	protobuf.Wait()

	slices.Sort(took)
	q := func(f float64) time.Duration {
		if len(took) == 0 {
			return 0
		}
		return took[int(f*float64(len(took)-1))].Round(time.Millisecond)
	}
	fmt.Printf("%d scrapes, %d failed; latency p50 %v, p90 %v, max %v\n", len(took)+failed, failed, q(0.5), q(0.9), q(1))
	if failed > 0 {
		os.Exit(1)
	}
}

// scrape GETs url as Prometheus does and reads the whole body.
func scrape(client *http.Client, url string) (status int, n int64, err error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=0.3,*/*;q=0.2")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, n, err
}
