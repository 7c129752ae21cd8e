// Package connlimit caps the connections an HTTP server holds open without
// locking out a real client. At the cap, a new connection pushes out the
// oldest one not serving a request (none sent yet, or idle between
// keep-alive requests), from the new connection's own host if that host has
// one waiting: a client that keeps connecting displaces its own connections,
// not a scraper's. Only when every connection is serving a request is the
// new one closed instead.
//
// Set http.Server.ConnState to a Limiter's ConnState: it admits each new
// connection there and learns whether a connection is serving.
package connlimit

import (
	"container/list"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limiter counts the open connections of the servers it is the ConnState of.
type Limiter struct {
	max    int
	logger *slog.Logger // nil: no warnings

	mu      sync.Mutex
	stats   Stats
	open    map[net.Conn]*conn    // admitted and not yet closed or evicted
	waiting list.List             // *conn not serving a request, longest waiting first
	byHost  map[string]*list.List // the same per host; no empty lists
	logged  time.Time             // last warning
}

// Stats is what a Limiter has done.
type Stats struct {
	Open     int    // connections open now
	Evicted  uint64 // connections closed to make room for a new one
	Rejected uint64 // new connections closed because every open one was serving
}

// New returns a Limiter that keeps at most max (at least 1) connections
// open. logger, if not nil, is warned (at most once a minute) when the cap
// is reached.
func New(max int, logger *slog.Logger) *Limiter {
	if max < 1 {
		panic("connlimit: max must be at least 1")
	}
	return &Limiter{max: max, logger: logger, open: map[net.Conn]*conn{}, byHost: map[string]*list.List{}}
}

// Stats returns the counts so far.
func (lim *Limiter) Stats() Stats {
	lim.mu.Lock()
	defer lim.mu.Unlock()
	return lim.stats
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
	case state == http.StateIdle: // waiting again, and now the most recent to wait
		lim.unwait(c)
		lim.wait(c)
	case state == http.StateActive:
		lim.unwait(c)
	default: // closed, or hijacked and no longer the server's
		lim.release(c)
	}
}

// connected counts nc in, closing a waiting connection to make room at the
// cap, or nc itself if none is waiting.
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
	if warn {
		lim.logger.Warn("connection cap reached: closing connections not serving a request, or new ones while all are",
			"max_connections", lim.max, "evicted_total", stats.Evicted, "rejected_total", stats.Rejected)
	}
}

// admit counts nc in if there is room or a waiting connection to evict; it
// returns the connection to close (the evicted one, or nc).
func (lim *Limiter) admit(nc net.Conn) (victim net.Conn, warn bool, stats Stats) {
	host := hostOf(nc.RemoteAddr())
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if lim.stats.Open >= lim.max {
		// Once a minute at most: an attack would otherwise log at the rate it connects.
		if now := time.Now(); lim.logger != nil && now.Sub(lim.logged) >= time.Minute {
			lim.logged, warn = now, true
		}
		oldest := lim.waiting.Front()
		if own := lim.byHost[host]; own != nil {
			oldest = own.Front()
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
	c := &conn{nc: nc, host: host}
	lim.open[nc] = c
	lim.wait(c)
	lim.stats.Open++
	return victim, warn, lim.stats
}

// wait puts c last in the queues of connections to evict.
func (lim *Limiter) wait(c *conn) {
	c.elem = lim.waiting.PushBack(c)
	l := lim.byHost[c.host]
	if l == nil {
		l = list.New()
		lim.byHost[c.host] = l
	}
	c.hostElem = l.PushBack(c)
}

// unwait takes c out of the queues of connections to evict.
func (lim *Limiter) unwait(c *conn) {
	if c.elem == nil {
		return
	}
	lim.waiting.Remove(c.elem)
	l := lim.byHost[c.host]
	l.Remove(c.hostElem)
	if l.Len() == 0 {
		delete(lim.byHost, c.host)
	}
	c.elem, c.hostElem = nil, nil
}

// release stops counting c.
func (lim *Limiter) release(c *conn) {
	lim.unwait(c)
	delete(lim.open, c.nc)
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

// conn is an admitted connection.
type conn struct {
	nc             net.Conn
	host           string        // hostOf its remote address
	elem, hostElem *list.Element // in lim.waiting and lim.byHost[host], or nil while serving
}
