// Package httpattack attacks an HTTP server the way a client that means no
// good can without credentials: slow readers that ask for a large response
// and read it a byte at a time, and connections that are opened and then
// left idle. The end-to-end tests and bench/httpattack use it to check that
// the exporter keeps answering scrapes meanwhile. It is for test servers.
package httpattack

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target is the URL attacked: its host, and for slow readers its path.
type Target struct {
	URL    *url.URL
	TLS    *tls.Config // for https
	Source net.IP      // address to connect from; nil: the system's choice

	wg sync.WaitGroup
}

// NewTarget parses rawURL (http or https). With insecure, a server
// certificate is not verified.
func NewTarget(rawURL string, insecure bool) (*Target, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	t := &Target{URL: u}
	if u.Scheme == "https" {
		t.TLS = &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: insecure}
	}
	return t, nil
}

// Counters count an attack's connections.
type Counters struct {
	Open    atomic.Int64 // connected now
	Dropped atomic.Int64 // closed by the server
	Failed  atomic.Int64 // could not connect, or (Flood) no answer

	Answered atomic.Int64 // Flood: requests answered
}

func (t *Target) address() string {
	if t.URL.Port() != "" {
		return t.URL.Host
	}
	if t.TLS != nil {
		return net.JoinHostPort(t.URL.Hostname(), "443")
	}
	return net.JoinHostPort(t.URL.Hostname(), "80")
}

// request is a GET of path with the URL's credentials if it has any.
func (t *Target) request(path string) string {
	var b strings.Builder
	b.WriteString("GET " + path + " HTTP/1.1\r\nHost: " + t.URL.Host + "\r\nAccept-Encoding: identity\r\n")
	if u := t.URL.User; u != nil {
		pass, _ := u.Password()
		b.WriteString("Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// dial connects, with a small receive buffer if readBuffer > 0 so that
// the server's writes stall sooner.
func (t *Target) dial(ctx context.Context, readBuffer int) (net.Conn, error) {
	var d net.Dialer
	if t.Source != nil {
		d.LocalAddr = &net.TCPAddr{IP: t.Source}
	}
	c, err := d.DialContext(ctx, "tcp", t.address())
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok && readBuffer > 0 {
		tc.SetReadBuffer(readBuffer)
	}
	if t.TLS == nil {
		return c, nil
	}
	tc := tls.Client(c, t.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

// Slow starts n slow readers until ctx ends. Each sends pipelined requests
// for the URL at once and then reads the answers one byte per every, so
// the server's writes stall; when the server drops it, it connects again.
// Slow returns once every reader has had its first byte or lost its first
// connection.
func (t *Target) Slow(ctx context.Context, n, pipelined int, every time.Duration) *Counters {
	cs := &Counters{}
	req := strings.Repeat(t.request(t.URL.RequestURI()), pipelined)
	var started sync.WaitGroup
	for range n {
		started.Add(1)
		t.wg.Go(func() {
			tried := sync.OnceFunc(started.Done)
			defer tried()
			for ctx.Err() == nil {
				if err := t.slowRead(ctx, req, every, cs, tried); err != nil {
					cs.Failed.Add(1)
				}
				tried()
				select { // then again
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
	started.Wait()
	return cs
}

// slowRead is one slow reader's connection.
func (t *Target) slowRead(ctx context.Context, req string, every time.Duration, cs *Counters, started func()) error {
	c, err := t.dial(ctx, 4096)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	cs.Open.Add(1)
	defer cs.Open.Add(-1)
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		return err
	}
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			if ctx.Err() == nil {
				cs.Dropped.Add(1)
			}
			return nil
		}
		started()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// Idle opens n connections, workers at a time, and keeps them until ctx
// ends. Every other one sends one request for path and nothing more, so it
// sits idle between keep-alive requests; the others never send a byte. One the server closes is opened again after redial, or
// never if redial is 0. Idle returns once every connection has been
// tried.
func (t *Target) Idle(ctx context.Context, n, workers int, path string, redial time.Duration) *Counters {
	cs := &Counters{}
	req := []byte(t.request(path))
	t.keep(ctx, n, workers, redial, func(i int, tried func()) { t.idle(ctx, i%2 == 1, req, cs, tried) })
	return cs
}

// keep runs n connections, workers at a time, each by conn (i: which one;
// tried: to call once it has connected or failed to), again after redial
// each time it ends (never if redial is 0), until ctx ends. It returns once
// every connection has been tried.
func (t *Target) keep(ctx context.Context, n, workers int, redial time.Duration, conn func(i int, tried func())) {
	sem := make(chan struct{}, workers)
	var tried sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		tried.Add(1)
		t.wg.Go(func() {
			tryDone := sync.OnceFunc(func() { <-sem; tried.Done() })
			defer tryDone()
			for ctx.Err() == nil {
				conn(i, tryDone)
				if redial == 0 {
					return
				}
				select {
				case <-ctx.Done():
				case <-time.After(redial):
				}
			}
		})
	}
	tried.Wait()
}

// idle is one Idle connection: it sends req if asked, then reads whatever
// comes until the server closes it or ctx ends.
func (t *Target) idle(ctx context.Context, send bool, req []byte, cs *Counters, tried func()) {
	c, err := t.dial(ctx, 0)
	if err != nil {
		cs.Failed.Add(1)
		tried()
		return
	}
	if send {
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		c.Write(req)
	}
	cs.Open.Add(1)
	tried()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	// The answer, if any, then nothing until the server closes; a small
	// buffer, as 20,000 of these may wait at once.
	for buf := make([]byte, 512); ; {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	stop()
	c.Close()
	cs.Open.Add(-1)
	if ctx.Err() == nil {
		cs.Dropped.Add(1)
	}
}

// SlowBody keeps n connections, workers at a time, each sending a GET of
// path that announces a body of 100,000 bytes and then sends one byte of it
// per every: a request that, read to the end before it is answered, would
// hold its connection for days. A connection the server closes is opened
// again after 100 ms. SlowBody returns once every connection has been tried.
func (t *Target) SlowBody(ctx context.Context, n, workers int, path string, every time.Duration) *Counters {
	cs := &Counters{}
	req := []byte(strings.Replace(t.request(path), "\r\n\r\n", "\r\nContent-Length: 100000\r\n\r\n", 1))
	t.keep(ctx, n, workers, 100*time.Millisecond, func(_ int, tried func()) { t.trickle(ctx, req, every, cs, tried) })
	return cs
}

// trickle is one SlowBody connection: the request's head, then a byte of
// its body per every, until the server closes it or ctx ends.
func (t *Target) trickle(ctx context.Context, req []byte, every time.Duration, cs *Counters, tried func()) {
	c, err := t.dial(ctx, 0)
	if err != nil {
		cs.Failed.Add(1)
		tried()
		return
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	cs.Open.Add(1)
	defer cs.Open.Add(-1)
	tried()
	closed := make(chan struct{})
	go func() { // whatever the server answers, until it closes
		io.Copy(io.Discard, c)
		close(closed)
	}()
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for _, err := c.Write(req); err == nil; _, err = c.Write([]byte("x")) {
		select {
		case <-ctx.Done():
			return
		case <-closed:
			cs.Dropped.Add(1)
			return
		case <-time.After(every):
		}
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	}
	if ctx.Err() == nil {
		cs.Dropped.Add(1)
	}
}

// Flood has workers request the URL with header (such as a protobuf Accept,
// or with a name[] filter in the URL) one after another, as fast as they
// are answered, until ctx ends: requests that each gather every metric.
func (t *Target) Flood(ctx context.Context, workers int, header http.Header) *Counters {
	cs := &Counters{}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: t.TLS, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		if t.Source != nil {
			d.LocalAddr = &net.TCPAddr{IP: t.Source}
		}
		return d.DialContext(ctx, "tcp", t.address())
	}}}
	for range workers {
		t.wg.Go(func() {
			defer client.CloseIdleConnections()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.URL.String(), nil)
				maps.Copy(req.Header, header)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						cs.Failed.Add(1)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				cs.Answered.Add(1)
			}
		})
	}
	return cs
}

// Wait waits for every connection of the attacks on t to end, once their
// ctx has.
func (t *Target) Wait() { t.wg.Wait() }
