// Package connlimit caps the connections an HTTP server holds open without
// locking out a real client. At the cap, a new connection pushes out the
// oldest one not serving a request (none sent yet, or idle between
// keep-alive requests), from the new connection's own host if that host has
// one waiting: a client that keeps connecting displaces its own connections,
// not a scraper's. Only when every connection is serving a request is the
// new one closed instead.
//
// Wrap each listener with the same Limiter and set http.Server.ConnState to
// its ConnState, which is how it learns whether a connection is serving.
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

// Limiter counts the open connections of the listeners it wraps.
type Limiter struct {
	max    int
	logger *slog.Logger // nil: no warnings

	mu      sync.Mutex
	stats   Stats
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
	return &Limiter{max: max, logger: logger, byHost: map[string]*list.List{}}
}

// Wrap returns l with its connections counted against the cap.
func (lim *Limiter) Wrap(l net.Listener) net.Listener {
	return &listener{Listener: l, lim: lim}
}

// Stats returns the counts so far.
func (lim *Limiter) Stats() Stats {
	lim.mu.Lock()
	defer lim.mu.Unlock()
	return lim.stats
}

// ConnState is for http.Server.ConnState. Connections that are not from a
// listener of lim are ignored.
func (lim *Limiter) ConnState(nc net.Conn, state http.ConnState) {
	if tc, ok := nc.(*tls.Conn); ok { // with TLS the server sees the TLS layer
		nc = tc.NetConn()
	}
	c, ok := nc.(*conn)
	if !ok || c.lim != lim {
		return
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if c.closed {
		return
	}
	switch state {
	case http.StateNew: // already waiting since it was accepted
	case http.StateIdle: // waiting again, and now the most recent to wait
		lim.unwait(c)
		lim.wait(c)
	default: // active, hijacked or closed: not to be evicted
		lim.unwait(c)
	}
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

// admit counts nc in if there is room or a waiting connection to evict;
// it returns the connection to serve (nil: close nc) and the one to close.
func (lim *Limiter) admit(nc net.Conn) (c, victim *conn, warn bool) {
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
			return nil, nil, warn
		}
		victim = oldest.Value.(*conn)
		lim.releaseLocked(victim)
		lim.stats.Evicted++
	}
	c = &conn{Conn: nc, lim: lim, host: host}
	lim.wait(c)
	lim.stats.Open++
	return c, victim, warn
}

func (lim *Limiter) releaseLocked(c *conn) {
	if !c.closed {
		c.closed = true
		lim.stats.Open--
		lim.unwait(c)
	}
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

type listener struct {
	net.Listener
	lim *Limiter
}

// Accept returns the next connection admitted. It closes the connections
// it turns away or evicts itself and goes on accepting: an error would make
// http.Server back off or stop.
func (l *listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c, victim, warn := l.lim.admit(nc)
		if victim != nil {
			victim.Conn.Close() // its server goroutine sees the error and ends
		}
		if warn {
			s := l.lim.Stats()
			l.lim.logger.Warn("connection cap reached: closing connections not serving a request, or new ones while all are",
				"max_connections", l.lim.max, "evicted_total", s.Evicted, "rejected_total", s.Rejected)
		}
		if c != nil {
			return c, nil
		}
		nc.Close()
	}
}

// conn is an admitted connection; closing it frees its place.
type conn struct {
	net.Conn
	lim  *Limiter
	host string // hostOf its remote address

	// Guarded by lim.mu.
	elem, hostElem *list.Element // in lim.waiting and lim.byHost[host], or nil while serving
	closed         bool
}

func (c *conn) Close() error {
	c.lim.mu.Lock()
	c.lim.releaseLocked(c)
	c.lim.mu.Unlock()
	return c.Conn.Close()
}

// CloseWrite half-closes as net/http does after some errors, when the
// connection underneath can (TCP and TLS ones can).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
