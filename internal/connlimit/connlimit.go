// Package connlimit caps the connections an HTTP server holds open without
// locking out a real client. At the cap, a new connection pushes out the
// oldest one not serving a request, of its own source if that source has
// one: a client that keeps connecting displaces its own connections, not a
// scraper's. Only when every connection is serving is the new one closed.
//
// A connection serves a request while a handler runs on it. Otherwise it is
// as evictable as an idle one: between keep-alive requests, and while it
// sends headers or a body (net/http reads an unread body after the handler
// returns, still StateActive), so trickling a request in holds no more than
// sending nothing.
//
// One source (an IPv4 address, an IPv6 /64) may hold at most a quarter of
// the cap; at its share its new connections push out its own oldest that
// is not serving, or are closed if all of its own are serving.
//
// Set http.Server.ConnState and ConnContext to a Limiter's and wrap the
// handler in its Handler; without ConnContext no connection ever serves.
package connlimit

import (
	"container/list"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Limiter counts the open connections of the servers it is the ConnState of.
type Limiter struct {
	max int
	// perHost is what one source may hold: max/4, at least 1. Prometheus
	// HA pairs, the kubelet's probes and a browser each come from their own
	// address, so an attacker's one address must leave them room.
	perHost int
	logger  *slog.Logger // nil: no warnings

	mu      sync.Mutex
	stats   Stats
	open    map[net.Conn]*conn // admitted and not yet closed or evicted
	waiting list.List          // *conn not serving, longest waiting first
	hosts   map[string]*host   // by hostOf; only hosts with connections open
	logged  time.Time          // last warning
}

// Stats is what a Limiter has done.
type Stats struct {
	Open     int    // connections open now
	Admitted uint64 // connections counted in
	Evicted  uint64 // connections closed to make room for a new one
	Rejected uint64 // new connections closed because all they could displace were serving
}

// New returns a Limiter of at most n (at least 1) open connections, n/4 (at
// least 1) from one source, warning logger (if any) once a minute at a cap.
func New(n int, logger *slog.Logger) *Limiter {
	if n < 1 {
		panic("connlimit: max must be at least 1")
	}
	return &Limiter{max: n, perHost: max(1, n/4), logger: logger, open: map[net.Conn]*conn{}, hosts: map[string]*host{}}
}

// Stats returns the counts so far.
func (lim *Limiter) Stats() Stats {
	lim.mu.Lock()
	defer lim.mu.Unlock()
	return lim.stats
}

// ctxKey keys a connection in the contexts of its requests.
type ctxKey struct{ lim *Limiter }

// ConnContext is for http.Server.ConnContext: it puts the connection (with
// TLS, the *tls.Conn, as ConnState gets) in its requests' contexts for Handler.
func (lim *Limiter) ConnContext(ctx context.Context, nc net.Conn) context.Context {
	return context.WithValue(ctx, ctxKey{lim}, nc)
}

// Handler marks a request's connection serving while h runs, so that it is
// not evicted; after, it waits again, as the most recent to wait.
func (lim *Limiter) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if nc, _ := r.Context().Value(ctxKey{lim}).(net.Conn); nc != nil { // nil: not our ConnContext
			lim.serving(nc, 1)
			defer lim.serving(nc, -1)
		}
		h.ServeHTTP(w, r)
	})
}

// serving counts a handler on nc in (d 1) or out (d -1). Counted, not
// flagged: HTTP/2 runs several handlers on one connection at once.
func (lim *Limiter) serving(nc net.Conn, d int) {
	lim.mu.Lock()
	defer lim.mu.Unlock()
	c := lim.open[nc]
	if c == nil { // evicted, closed or hijacked meanwhile
		return
	}
	c.serving += d
	lim.unwait(c)
	if c.serving == 0 {
		lim.wait(c)
	}
}

// ConnState is for http.Server.ConnState: the server calls it with
// StateNew before it reads from a new connection, and at each change after.
func (lim *Limiter) ConnState(nc net.Conn, state http.ConnState) {
	if state == http.StateNew {
		lim.connected(nc)
		return
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	c := lim.open[nc]
	switch {
	case c == nil: // turned away or evicted: closed already
	case state == http.StateActive:
		// A request arrived, but only a running handler (Handler) serves:
		// it keeps its place while the server reads headers or body.
	case state == http.StateIdle:
		if c.serving == 0 { // waiting again, and now the most recent to wait
			lim.unwait(c)
			lim.wait(c)
		}
	default: // closed, or hijacked and no longer the server's
		lim.release(c)
	}
}

// connected counts nc in, closing a waiting connection to make room at a
// cap, or nc itself if none may go.
func (lim *Limiter) connected(nc net.Conn) {
	victim, warn, stats := lim.admit(nc)
	if victim != nil {
		// Underneath TLS: closing a *tls.Conn may first wait to send an
		// alert. Its server goroutine sees the error and ends.
		if tc, ok := victim.(*tls.Conn); ok {
			victim = tc.NetConn()
		}
		victim.Close()
	}
	if warn != nil {
		lim.logger.Warn("connection cap reached: closing connections not serving a request, or new ones while all are",
			append(warn, "max_connections", lim.max, "max_connections_per_source", lim.perHost,
				"evicted_total", stats.Evicted, "rejected_total", stats.Rejected)...)
	}
}

// admit counts nc in if there is room or a waiting connection to evict, and
// returns the one to close (evicted, or nc) and what to warn of, if anything.
func (lim *Limiter) admit(nc net.Conn) (victim net.Conn, warn []any, stats Stats) {
	key := hostOf(nc.RemoteAddr())
	lim.mu.Lock()
	defer lim.mu.Unlock()
	h := lim.hosts[key]
	var full string // the cap reached
	var oldest *list.Element
	switch {
	case h != nil && h.open >= lim.perHost: // only its own may make room
		full, oldest = "per_source", h.waiting.Front()
	case lim.stats.Open >= lim.max:
		full, oldest = "total", lim.waiting.Front()
		if h != nil && h.waiting.Len() > 0 {
			oldest = h.waiting.Front()
		}
	}
	if full != "" {
		// Once a minute at most: an attack would otherwise log at the rate it connects.
		if now := time.Now(); lim.logger != nil && now.Sub(lim.logged) >= time.Minute {
			lim.logged, warn = now, []any{"cap", full, "source", key}
		}
		if oldest == nil {
			lim.stats.Rejected++
			return nc, warn, lim.stats
		}
		v := oldest.Value.(*conn)
		lim.release(v)
		lim.stats.Evicted++
		victim = v.nc
	}
	c := &conn{nc: nc, host: key}
	lim.open[nc] = c
	h = lim.hosts[key] // gone if it was its only connection and evicted
	if h == nil {
		h = &host{}
		lim.hosts[key] = h
	}
	h.open++
	lim.wait(c)
	lim.stats.Open++
	lim.stats.Admitted++
	return victim, warn, lim.stats
}

// wait puts c last in the queues of connections to evict.
func (lim *Limiter) wait(c *conn) {
	c.elem = lim.waiting.PushBack(c)
	c.hostElem = lim.hosts[c.host].waiting.PushBack(c)
}

// unwait takes c out of the queues of connections to evict.
func (lim *Limiter) unwait(c *conn) {
	if c.elem == nil {
		return
	}
	lim.waiting.Remove(c.elem)
	lim.hosts[c.host].waiting.Remove(c.hostElem)
	c.elem, c.hostElem = nil, nil
}

// release stops counting c.
func (lim *Limiter) release(c *conn) {
	lim.unwait(c)
	delete(lim.open, c.nc)
	if h := lim.hosts[c.host]; h.open == 1 {
		delete(lim.hosts, c.host)
	} else {
		h.open--
	}
	lim.stats.Open--
}

// hostOf groups connections by where they come from: an IPv4 address, an
// IPv6 /64 (one host may well hold a whole /64), or else the network.
func hostOf(a net.Addr) string {
	switch a := a.(type) {
	case nil:
		return ""
	case *net.TCPAddr:
		if ip4 := a.IP.To4(); ip4 != nil {
			return ip4.String()
		}
		return a.IP.Mask(net.CIDRMask(64, 128)).String()
	}
	return a.Network()
}

// host is the connections from one source.
type host struct {
	open    int       // admitted and not yet released
	waiting list.List // its *conn not serving, longest waiting first
}

// conn is an admitted connection.
type conn struct {
	nc             net.Conn
	host           string        // hostOf its remote address
	serving        int           // handlers running on it
	elem, hostElem *list.Element // in lim.waiting and its host's waiting, or nil while serving
}

// Collector exports the Stats as metrics named <namespace>_http_connections_….
func (lim *Limiter) Collector(namespace string) prometheus.Collector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "http_connections", name), help, nil, nil)
	}
	return &collector{
		lim:      lim,
		open:     desc("open", "HTTP connections open now, counted against the connection cap."),
		admitted: desc("admitted_total", "HTTP connections accepted and counted against the connection cap."),
		evicted:  desc("evicted_total", "HTTP connections not serving a request closed to make room for a new one."),
		rejected: desc("rejected_total", "New HTTP connections closed at once because all the connections they could displace were serving a request."),
	}
}

type collector struct {
	lim                               *Limiter
	open, admitted, evicted, rejected *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.lim.Stats()
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(st.Open))
	ch <- prometheus.MustNewConstMetric(c.admitted, prometheus.CounterValue, float64(st.Admitted))
	ch <- prometheus.MustNewConstMetric(c.evicted, prometheus.CounterValue, float64(st.Evicted))
	ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(st.Rejected))
}
