// Package fakegraph is an in-process fake of the Microsoft identity platform,
// of the Microsoft Graph authentication-methods reports and of Graph's group
// membership (transitiveMembers). It speaks HTTPS with its own CA, so the
// real azidentity credentials and the exporter's Graph client run unchanged
// against it, in tests and in the exporter's --demo mode.
//
// It mimics what Graph really sends, as Microsoft documents it and as it was
// seen to answer: paging with absolute nextLinks, evolvable enums hidden
// behind Prefer: include-unknown-enum-members, 429 with a fractional
// Retry-After, the licence error, the documentation's typo keys, and
// duplicated event rows.
package fakegraph

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options tunes the fake Graph.
type Options struct {
	// PageSize is the number of rows per page of a paged report when the
	// request has no smaller $top (default 500).
	PageSize int
	// RateLimit allows at most RateLimit Graph requests per tenant in any
	// sliding window of RatePer; 0 disables throttling. Token requests are
	// not counted, nor are directory reads (group members), which Graph
	// throttles with a separate, much larger budget.
	RateLimit int
	RatePer   time.Duration
	// DirectoryRateLimit allows at most DirectoryRateLimit directory reads
	// (group members) per tenant in any sliding window of
	// DirectoryRatePer, apart from RateLimit's; 0 disables it.
	DirectoryRateLimit int
	DirectoryRatePer   time.Duration
	// NoRecording turns Requests() off, for long runs such as the demo.
	NoRecording bool
	// MinLatency and MaxLatency delay every admitted Graph answer by a
	// random time between them, as Graph's reports take 1-3 s a page.
	MinLatency, MaxLatency time.Duration
}

// Request is one request the server received, for assertions in tests.
type Request struct {
	Method, Path, RawQuery, Authorization, Prefer string
	Status                                        int    // 0 while in flight, or if an intercept hijacked the connection
	Tenant                                        string // tenant ID from the path (identity) or the token (Graph)
	Time                                          time.Time
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	opts      Options
	url       string
	caPEM     []byte
	pool      *x509.CertPool
	transport *http.Transport
	http      *http.Server
	served    chan struct{} // closed when Serve returns
	conns     sync.WaitGroup
	closeOnce sync.Once

	mu        sync.Mutex
	tenants   map[string]*Tenant // by lower-case tenant ID
	tokens    map[string]issuedToken
	requests  []Request
	reqGen    int // bumped by ResetRequests, so late status updates skip stale indexes
	intercept func(http.ResponseWriter, *http.Request) bool
	windows   map[string][]time.Time // per tenant (and per tenant's directory reads): times of recent counted Graph requests

	hostile hostileState
}

type issuedToken struct {
	tenant  string
	expires time.Time
}

// NewServer starts the fake on an ephemeral 127.0.0.1 port.
func NewServer(opts Options) (*Server, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 500
	}
	if opts.RateLimit > 0 && opts.RatePer <= 0 {
		return nil, errors.New("fakegraph: RateLimit needs a positive RatePer")
	}
	if opts.DirectoryRateLimit > 0 && opts.DirectoryRatePer <= 0 {
		return nil, errors.New("fakegraph: DirectoryRateLimit needs a positive DirectoryRatePer")
	}
	leaf, caPEM, pool, err := newCerts()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:    opts,
		url:     "https://" + ln.Addr().String(),
		caPEM:   caPEM,
		pool:    pool,
		served:  make(chan struct{}),
		tenants: map[string]*Tenant{},
		tokens:  map[string]issuedToken{},
		windows: map[string][]time.Time{},
		transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	s.http = &http.Server{
		Handler: s,
		// HTTP/1.1 only (an empty TLSNextProto disables h2), so fault
		// injection can hijack and drop a connection.
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: 10 * time.Second,
		// Clients that do not trust the CA would otherwise log handshake noise.
		ErrorLog:  log.New(io.Discard, "", 0),
		ConnState: s.trackConn,
	}
	go func() {
		defer close(s.served)
		_ = s.http.Serve(tls.NewListener(ln, s.http.TLSConfig))
	}()
	return s, nil
}

// trackConn counts open connections so Close can wait for their goroutines.
// StateNew runs on the Serve goroutine, which Close waits for before Wait.
func (s *Server) trackConn(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.conns.Add(1)
	case http.StateClosed, http.StateHijacked:
		s.conns.Done()
	}
}

// Close stops the server and waits until its connections and handlers are
// gone. An intercept function that blocks must return once r.Context() is done.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		_ = s.http.Close()
		<-s.served
		s.conns.Wait()
		s.transport.CloseIdleConnections()
	})
}

// URL is the server's base URL, https://127.0.0.1:PORT.
func (s *Server) URL() string { return s.url }

// AuthorityHost is the identity platform root, for azcore's cloud configuration.
func (s *Server) AuthorityHost() string { return s.url + "/" }

// GraphEndpoint is the Graph root; the token scope is GraphEndpoint()+"/.default".
func (s *Server) GraphEndpoint() string { return s.url }

// CertPool trusts the server's CA.
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// CACertPEM is the CA certificate, e.g. to write a file for SSL_CERT_FILE.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.caPEM...) }

// Client returns an HTTP client that trusts the server's CA. Clients share
// one transport, whose idle connections Close shuts.
func (s *Server) Client() *http.Client { return &http.Client{Transport: s.transport} }

// AddTenant adds the tenant, or replaces the one with the same TenantID.
// Tokens already issued stay valid and see the new data.
func (s *Server) AddTenant(t *Tenant) {
	c := *t
	s.mu.Lock()
	s.tenants[strings.ToLower(t.TenantID)] = &c
	s.mu.Unlock()
}

func (s *Server) tenant(id string) *Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenants[strings.ToLower(id)]
}

// Requests returns a copy of every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.requests = nil
	s.reqGen++
	s.mu.Unlock()
}

// SetIntercept installs f, called first for every request; if f returns true
// it has written the response and the server does nothing more. nil clears it.
func (s *Server) SetIntercept(f func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	s.intercept = f
	s.mu.Unlock()
}

// ServeHTTP records the request and dispatches it to the identity platform
// or to Graph.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	idx, gen := len(s.requests), s.reqGen
	if s.opts.NoRecording {
		gen = -1 // never matches: nothing to complete
	} else {
		s.requests = append(s.requests, Request{
			Method:        r.Method,
			Path:          r.URL.Path,
			RawQuery:      r.URL.RawQuery,
			Authorization: r.Header.Get("Authorization"),
			Prefer:        strings.Join(r.Header.Values("Prefer"), ", "),
			Time:          time.Now(),
		})
	}
	intercept := s.intercept
	s.mu.Unlock()

	// The entry is completed when the status is written, before the client
	// can see the response, so Requests() right after a call includes it.
	rec := &recorder{ResponseWriter: w, logged: func(status int, tenant string) {
		s.mu.Lock()
		if gen == s.reqGen {
			s.requests[idx].Status = status
			s.requests[idx].Tenant = tenant
		}
		s.mu.Unlock()
	}}
	if intercept != nil && intercept(rec, r) {
		if !rec.wrote {
			rec.WriteHeader(http.StatusOK) // what net/http would send anyway
		}
		return
	}
	p := r.URL.Path
	if strings.HasPrefix(p, "/v1.0/") || strings.HasPrefix(p, "/beta/") {
		s.serveGraph(rec, r)
	} else {
		s.serveIdentity(rec, r)
	}
}

// recorder logs the status code and tenant as the header is written. It
// passes Flush and Hijack through so intercept functions can use them.
type recorder struct {
	http.ResponseWriter
	tenant string // set by the handler once known
	logged func(status int, tenant string)
	wrote  bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		w.logged(code, w.tenant)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *recorder) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("fakegraph: hijacking not supported")
	}
	w.wrote = true // the log keeps Status 0
	return h.Hijack()
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
