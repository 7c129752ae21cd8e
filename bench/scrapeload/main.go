// Command scrapeload scrapes a /metrics URL from C concurrent clients for a
// fixed time, sending the headers Prometheus sends, and prints the scrape
// latency distribution as key=value lines.
//
// Each client scrapes again as soon as its last scrape's body has been read,
// so this is a saturation test: far more than any Prometheus would ask.
// With -every, a client waits that long between scrapes, as Prometheus does.
// Bodies are read into a buffer kept between a client's scrapes, as
// Prometheus does. Compressed bodies are read whole but not decompressed:
// on this one machine the gunzip would take CPU from the exporter, which
// Prometheus, running elsewhere, does not.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

// accept is what Prometheus 2.x/3.x sends by default.
const accept = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

type result struct {
	latency time.Duration
	bytes   int64
	err     error
}

func main() {
	target := flag.String("url", "", "the /metrics URL (required)")
	conc := flag.Int("c", 4, "concurrent clients")
	dur := flag.Duration("d", 20*time.Second, "how long to scrape")
	useGzip := flag.Bool("gzip", true, "send Accept-Encoding: gzip, as Prometheus does")
	every := flag.Duration("every", 0, "pause between a client's scrapes (0: back to back)")
	flag.Parse()
	if *target == "" || *conc < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	// DisableCompression: Go would otherwise ask for gzip itself and hide it.
	client := &http.Client{
		Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: *conc},
		Timeout:   time.Minute,
	}

	// One scrape before the load, decompressed, to count what it holds.
	series, raw, ctype, err := inspect(client, *target, *useGzip)
	if err != nil {
		fatal(err)
	}

	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	deadline := time.Now().Add(*dur)
	start := time.Now()
	for range *conc {
		wg.Go(func() {
			var mine []result
			var buf bytes.Buffer
			for time.Now().Before(deadline) {
				mine = append(mine, scrape(client, *target, *useGzip, &buf))
				time.Sleep(*every)
			}
			mu.Lock()
			results = append(results, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	var (
		ok        []time.Duration
		errs      int
		bytesRead int64
		firstErr  error
	)
	for _, r := range results {
		if r.err != nil {
			errs++
			firstErr = r.err
			continue
		}
		ok = append(ok, r.latency)
		bytesRead += r.bytes
	}
	slices.Sort(ok)
	fmt.Printf("content_type=%q gzip=%t concurrency=%d seconds=%.1f\n", ctype, *useGzip, *conc, elapsed.Seconds())
	fmt.Printf("series=%d uncompressed_bytes=%d\n", series, raw)
	fmt.Printf("scrapes=%d errors=%d scrapes_per_second=%.1f\n", len(results), errs, float64(len(results))/elapsed.Seconds())
	if len(ok) > 0 {
		fmt.Printf("bytes_per_scrape=%d\n", bytesRead/int64(len(ok)))
		fmt.Printf("p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", ms(pct(ok, 50)), ms(pct(ok, 90)), ms(pct(ok, 99)), ms(ok[len(ok)-1]))
	}
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "scrapeload: an error:", firstErr)
	}
}

func newRequest(target string, useGzip bool) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if useGzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	req.Header.Set("User-Agent", "scrapeload")
	return req, nil
}

// scrape times one request until its whole body has been read into buf, as
// Prometheus reads a body: into a buffer kept from its last scrape.
func scrape(client *http.Client, target string, useGzip bool, buf *bytes.Buffer) result {
	req, err := newRequest(target, useGzip)
	if err != nil {
		return result{err: err}
	}
	buf.Reset()
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	n, err := io.Copy(buf, resp.Body)
	lat := time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return result{latency: lat, bytes: n, err: err}
}

// inspect scrapes once and counts the samples (lines that are not comments).
func inspect(client *http.Client, target string, useGzip bool) (series, raw int, ctype string, err error) {
	req, err := newRequest(target, useGzip)
	if err != nil {
		return 0, 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, "", fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, "", err
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return 0, 0, "", err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return 0, 0, "", err
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := sc.Bytes(); len(line) > 0 && line[0] != '#' {
			series++
		}
	}
	return series, len(body), resp.Header.Get("Content-Type"), sc.Err()
}

func pct(sorted []time.Duration, p int) time.Duration {
	return sorted[min(len(sorted)-1, (len(sorted)*p+99)/100-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "scrapeload:", err)
	os.Exit(1)
}
