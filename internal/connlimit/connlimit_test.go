package connlimit

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// server serves with a Limiter of max, with TLS also HTTP/2; /slow waits
// for release.
type server struct {
	*httptest.Server
	lim     *Limiter
	entered chan struct{} // one per /slow request in its handler
	release chan struct{}
	handled atomic.Int64 // requests whose handler, lim.Handler's part included, has returned
}

func newServer(t *testing.T, max int, withTLS bool) *server {
	t.Helper()
	s := &server{lim: New(max, nil), entered: make(chan struct{}, 100), release: make(chan struct{})}
	h := s.lim.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			s.entered <- struct{}{}
			<-s.release
		}
		io.WriteString(w, "ok")
	}))
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		s.handled.Add(1)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshakes cut short by evictions
	s.Config.ConnState = s.lim.ConnState
	s.Config.ConnContext = s.lim.ConnContext
	if withTLS {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(func() {
		select {
		case <-s.release:
		default:
			close(s.release)
		}
		s.Close()
	})
	return s
}

func (s *server) waiting() int {
	s.lim.mu.Lock()
	defer s.lim.mu.Unlock()
	return s.lim.waiting.Len()
}

// openFrom is how many connections from ip are open.
func (s *server) openFrom(ip string) int {
	s.lim.mu.Lock()
	defer s.lim.mu.Unlock()
	if h := s.lim.hosts[ip]; h != nil {
		return h.open
	}
	return 0
}

// dialFrom connects from a loopback address ("": the system's choice)
// without sending anything, over TLS if the server has it.
func (s *server) dialFrom(t *testing.T, ip string) net.Conn {
	t.Helper()
	var d net.Dialer
	if ip != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ip)}
	}
	c, err := d.Dial("tcp", s.Listener.Addr().String())
	if err != nil {
		if ip != "" {
			t.Skipf("cannot connect from %s: %v", ip, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if s.TLS != nil {
		return tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	}
	return c
}

// get sends a request on c and reads the response.
func get(c net.Conn, path string) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return errors.New(resp.Status)
	}
	return nil
}

func mustGet(t *testing.T, c net.Conn, path string) {
	t.Helper()
	if err := get(c, path); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// trickle starts the attack on c: a request announcing a body the handler
// does not read, and one byte of it. The handler returns at once; the
// server then reads the rest of the body before it answers, the connection
// StateActive all along. It waits until s has handled the request.
func (s *server) trickle(t *testing.T, c net.Conn) {
	t.Helper()
	handled := s.handled.Load()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /-/healthy HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nx"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the trickling request handled", 5*time.Second, func() bool { return s.handled.Load() == handled+1 })
}

// closed reports whether the server has closed c (a read ends in EOF or a
// reset rather than waiting).
func closed(c net.Conn, wait time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(wait))
	defer c.SetReadDeadline(time.Time{})
	_, err := c.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

func TestEvictsTheLongestWaiting(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		// One connection per source: each connects from its own.
		s := newServer(t, 2, withTLS)
		c1 := s.dialFrom(t, "127.0.0.1") // never sends a request
		if withTLS {
			if err := c1.(*tls.Conn).Handshake(); err != nil {
				t.Fatal(err)
			}
		}
		c2 := s.dialFrom(t, "127.0.0.2")
		mustGet(t, c2, "/") // idle since, after c1
		testenv.Eventually(t, "c1 and c2 waiting", 5*time.Second, func() bool { return s.waiting() == 2 })

		c3 := s.dialFrom(t, "127.0.0.3") // at the cap: c1 waited longest
		testenv.Eventually(t, "an eviction", 5*time.Second, func() bool { return s.lim.Stats().Evicted == 1 })
		if !closed(c1, 5*time.Second) {
			t.Errorf("TLS %v: the connection that never sent a request was not closed", withTLS)
		}
		mustGet(t, c2, "/") // c2 still served, and now waits after c3
		testenv.Eventually(t, "c3 and c2 waiting", 5*time.Second, func() bool { return s.waiting() == 2 })

		c4 := s.dialFrom(t, "127.0.0.4")
		testenv.Eventually(t, "a second eviction", 5*time.Second, func() bool { return s.lim.Stats().Evicted == 2 })
		if !closed(c3, 5*time.Second) {
			t.Errorf("TLS %v: c3 was not closed although it waited longest", withTLS)
		}
		if closed(c2, 50*time.Millisecond) {
			t.Errorf("TLS %v: c2 was closed although c3 waited longer", withTLS)
		}
		mustGet(t, c2, "/")
		mustGet(t, c4, "/")
		if st := s.lim.Stats(); st != (Stats{Open: 2, Admitted: 4, Evicted: 2}) {
			t.Errorf("TLS %v: %+v, want 2 open, 4 admitted, 2 evicted", withTLS, st)
		}
	}
}

// At the cap a source's new connection evicts that source's own longest
// waiting one, even below its share, so a client that keeps connecting
// displaces itself; a source with none waiting evicts the longest waiting
// of all.
func TestEvictsItsOwnHostFirst(t *testing.T) {
	s := newServer(t, 8, false)           // 2 per source
	scraper := s.dialFrom(t, "127.0.0.1") // waits longest
	for _, ip := range []string{"127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3", "127.0.0.4", "127.0.0.4"} {
		s.dialFrom(t, ip)
	}
	attack := []net.Conn{s.dialFrom(t, "127.0.0.5")} // one, below its share
	testenv.Eventually(t, "eight waiting", 5*time.Second, func() bool { return s.waiting() == 8 })
	for i := range 5 {
		attack = append(attack, s.dialFrom(t, "127.0.0.5"))
		testenv.Eventually(t, "an eviction", 5*time.Second, func() bool { return s.lim.Stats().Evicted == uint64(i+1) })
		if !closed(attack[i], 5*time.Second) {
			t.Fatalf("attack connection %d was not closed", i)
		}
	}
	mustGet(t, scraper, "/") // never displaced by the other source
	testenv.Eventually(t, "the scraper idle", 5*time.Second, func() bool { return s.waiting() == 8 })

	other := s.dialFrom(t, "127.0.0.6") // nothing of its own: the longest waiting of all goes
	testenv.Eventually(t, "an eviction", 5*time.Second, func() bool { return s.lim.Stats().Evicted == 6 })
	if s.openFrom("127.0.0.2") != 1 {
		t.Error("the longest waiting connection, 127.0.0.2's first, was not closed for a new source")
	}
	mustGet(t, other, "/")
	mustGet(t, scraper, "/")
}

// A source holds at most max/4 connections, even with room under the cap:
// a new one evicts its own longest waiting, or is closed if all of its own
// are serving. Other sources are not affected.
func TestSourceShare(t *testing.T) {
	s := newServer(t, 8, false) // 2 per source
	var conns []net.Conn
	for i := range 6 {
		conns = append(conns, s.dialFrom(t, "127.0.0.2"))
		testenv.Eventually(t, "admitted", 5*time.Second, func() bool { return s.lim.Stats().Admitted == uint64(i+1) })
		if n := s.openFrom("127.0.0.2"); n > 2 {
			t.Fatalf("%d connections open from one source, want at most 2", n)
		}
	}
	for i, c := range conns[:4] {
		if !closed(c, 5*time.Second) {
			t.Errorf("connection %d beyond the share was not closed", i)
		}
	}

	var wg sync.WaitGroup
	for _, c := range conns[4:] {
		wg.Go(func() {
			if err := get(c, "/slow"); err != nil {
				t.Errorf("a busy request failed: %v", err)
			}
		})
	}
	<-s.entered
	<-s.entered
	over := s.dialFrom(t, "127.0.0.2") // its own all serving: closed, though 6 more would fit
	testenv.Eventually(t, "a rejection", 5*time.Second, func() bool { return s.lim.Stats().Rejected == 1 })
	if !closed(over, 5*time.Second) {
		t.Error("the connection over the share was not closed")
	}
	mustGet(t, s.dialFrom(t, "127.0.0.1"), "/")
	close(s.release)
	wg.Wait()
	if st := s.lim.Stats(); st != (Stats{Open: 3, Admitted: 7, Evicted: 4, Rejected: 1}) {
		t.Errorf("%+v, want 3 open, 7 admitted, 4 evicted, 1 rejected", st)
	}
}

// The attack: one source opens as many connections as the cap, each
// trickling a body its handler does not read, so each stays StateActive
// with no handler running. A keep-alive scraper from another address keeps
// its connection, and new connections from there are served.
func TestTricklingSourceCannotLockOut(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		s := newServer(t, 8, withTLS)
		scraper := s.dialFrom(t, "127.0.0.1")
		mustGet(t, scraper, "/")
		var attack []net.Conn
		for range 8 {
			c := s.dialFrom(t, "127.0.0.2")
			s.trickle(t, c)
			attack = append(attack, c)
		}
		for i, c := range attack[:6] {
			if !closed(c, 5*time.Second) {
				t.Errorf("TLS %v: attack connection %d was not closed", withTLS, i)
			}
		}
		for range 3 {
			mustGet(t, scraper, "/")
			fresh := s.dialFrom(t, "127.0.0.1")
			mustGet(t, fresh, "/")
			fresh.Close()
			testenv.Eventually(t, "the fresh connection closed", 5*time.Second, func() bool { return s.openFrom("127.0.0.1") == 1 })
		}
		mustGet(t, scraper, "/")
		if st := s.lim.Stats(); st != (Stats{Open: 3, Admitted: 12, Evicted: 6}) {
			t.Errorf("TLS %v: %+v, want 3 open, 12 admitted, 6 evicted", withTLS, st)
		}
	}
}

// A connection whose request is still arriving, no handler running, is
// evicted before an idle one that waited less, though net/http reports it
// StateActive; one whose handler runs is not.
func TestReadingARequestIsNotServing(t *testing.T) {
	s := newServer(t, 4, false) // 1 per source
	reading := s.dialFrom(t, "127.0.0.2")
	s.trickle(t, reading)
	scraper := s.dialFrom(t, "127.0.0.1")
	mustGet(t, scraper, "/") // idle, after reading
	busy := s.dialFrom(t, "127.0.0.3")
	done := make(chan error, 1)
	go func() { done <- get(busy, "/slow") }()
	<-s.entered
	s.dialFrom(t, "127.0.0.4") // the cap
	testenv.Eventually(t, "four open", 5*time.Second, func() bool { return s.lim.Stats().Open == 4 })

	s.dialFrom(t, "127.0.0.5")
	testenv.Eventually(t, "an eviction", 5*time.Second, func() bool { return s.lim.Stats().Evicted == 1 })
	if !closed(reading, 5*time.Second) {
		t.Error("the connection still sending its request was not evicted")
	}
	mustGet(t, scraper, "/")
	close(s.release)
	if err := <-done; err != nil {
		t.Errorf("the busy request failed: %v", err)
	}
}

// A connection serving a request is never evicted, over TLS too (where
// ConnState sees the *tls.Conn); a new connection is closed instead.
func TestBusyConnectionsAreNeverEvicted(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		s := newServer(t, 2, withTLS)
		var wg sync.WaitGroup
		busy := []net.Conn{s.dialFrom(t, "127.0.0.1"), s.dialFrom(t, "127.0.0.2")}
		for _, c := range busy {
			wg.Go(func() {
				if err := get(c, "/slow"); err != nil {
					t.Errorf("TLS %v: a busy request failed: %v", withTLS, err)
				}
			})
		}
		<-s.entered
		<-s.entered

		c3 := s.dialFrom(t, "127.0.0.3")
		testenv.Eventually(t, "a rejection", 5*time.Second, func() bool { return s.lim.Stats().Rejected == 1 })
		if !closed(c3, 5*time.Second) {
			t.Errorf("TLS %v: the connection over the cap was not closed", withTLS)
		}
		close(s.release)
		wg.Wait() // both busy requests answered 200
		if st := s.lim.Stats(); st.Evicted != 0 {
			t.Errorf("TLS %v: a busy connection was evicted: %+v", withTLS, st)
		}

		testenv.Eventually(t, "both idle", 5*time.Second, func() bool { return s.waiting() == 2 })
		c4 := s.dialFrom(t, "127.0.0.4") // now one idle connection makes room
		mustGet(t, c4, "/")
		if closed(busy[0], 2*time.Second) == closed(busy[1], 50*time.Millisecond) {
			t.Errorf("TLS %v: not exactly one idle connection was closed", withTLS)
		}
		if st := s.lim.Stats(); st != (Stats{Open: 2, Admitted: 3, Evicted: 1, Rejected: 1}) {
			t.Errorf("TLS %v: %+v, want 2 open, 3 admitted, 1 evicted, 1 rejected", withTLS, st)
		}
	}
}

// HTTP/2 runs handlers side by side on one connection: it serves until the
// last has returned.
func TestHTTP2ServesUntilItsLastHandlerReturns(t *testing.T) {
	s := newServer(t, 1, true)
	client := s.Client()
	if resp, err := client.Get(s.URL + "/"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.ProtoMajor != 2 {
		t.Fatalf("%s, want HTTP/2", resp.Proto)
	}
	results := make(chan error, 2)
	for range 2 {
		go func() {
			resp, err := client.Get(s.URL + "/slow")
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			results <- err
		}()
	}
	<-s.entered
	<-s.entered
	if st := s.lim.Stats(); st.Admitted != 1 {
		t.Fatalf("%+v, want the requests on one connection", st)
	}
	s.dialFrom(t, "127.0.0.2")
	testenv.Eventually(t, "a rejection", 5*time.Second, func() bool { return s.lim.Stats().Rejected == 1 })

	s.release <- struct{}{} // one handler returns, the other still runs
	if err := <-results; err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the handler returned", 5*time.Second, func() bool { return s.handled.Load() == 2 })
	s.dialFrom(t, "127.0.0.3")
	testenv.Eventually(t, "a second rejection", 5*time.Second, func() bool { return s.lim.Stats().Rejected == 2 })

	s.release <- struct{}{}
	if err := <-results; err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "waiting", 5*time.Second, func() bool { return s.waiting() == 1 })
	s.dialFrom(t, "127.0.0.4")
	testenv.Eventually(t, "an eviction", 5*time.Second, func() bool { return s.lim.Stats().Evicted == 1 })
	if st := s.lim.Stats(); st != (Stats{Open: 1, Admitted: 2, Evicted: 1, Rejected: 2}) {
		t.Errorf("%+v, want 1 open, 2 admitted, 1 evicted, 2 rejected", st)
	}
}

// Without the Limiter's ConnContext, Handler only calls the handler.
func TestHandlerWithoutConnContext(t *testing.T) {
	called := false
	h := New(1, nil).Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if !called {
		t.Error("the handler was not called")
	}
}

// Under concurrent clients from several sources the count never passes the
// cap, nor a source's count its share, and both return to zero once every
// connection has closed.
func TestCountReturnsToZero(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		s := newServer(t, 8, withTLS)      // 2 per source
		s.dialFrom(t, "127.0.0.3").Close() // skip if only 127.0.0.1 works
		testenv.Eventually(t, "the probe closed", 5*time.Second, func() bool { return s.lim.Stats().Open == 0 })
		var wg sync.WaitGroup
		stop := make(chan struct{})
		over := make(chan string, 1)
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.lim.mu.Lock()
				sum := 0
				for ip, h := range s.lim.hosts {
					sum += h.open
					if h.open > s.lim.perHost {
						select {
						case over <- ip + " over its share":
						default:
						}
					}
				}
				if n := s.lim.stats.Open; n > 8 || n != sum {
					select {
					case over <- "over the cap, or not the sum of the sources":
					default:
					}
				}
				s.lim.mu.Unlock()
				time.Sleep(100 * time.Microsecond)
			}
		}()
		for i := range 16 {
			wg.Go(func() {
				ip := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}[i%3]
				d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
				tr := s.Client().Transport.(*http.Transport).Clone()
				tr.DialContext = d.DialContext
				client := &http.Client{Transport: tr}
				defer client.CloseIdleConnections()
				for range 20 {
					if resp, err := client.Get(s.URL + "/"); err == nil { // evictions make some fail
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					if c, err := d.Dial("tcp", s.Listener.Addr().String()); err == nil {
						c.Close()
					}
				}
			})
		}
		wg.Wait()
		close(stop)
		select {
		case msg := <-over:
			t.Errorf("TLS %v: %s", withTLS, msg)
		default:
		}
		s.Close()
		s.lim.mu.Lock()
		st, hosts, waiting := s.lim.stats, len(s.lim.hosts), s.lim.waiting.Len()
		s.lim.mu.Unlock()
		if st.Open != 0 || hosts != 0 || waiting != 0 || st.Admitted <= 8 {
			t.Errorf("TLS %v: %+v, %d sources, %d waiting after every connection closed, want 0 open, none, none", withTLS, st, hosts, waiting)
		}
	}
}

// fakeConn is a connection from a given address.
type fakeConn struct {
	net.Conn
	remote net.Addr
}

func (c *fakeConn) RemoteAddr() net.Addr { return c.remote }

func newFakeConn(t *testing.T, ip string) *fakeConn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return &fakeConn{Conn: a, remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
}

func TestCollector(t *testing.T) {
	lim := New(4, nil) // 1 per source
	connect := func(ip string) net.Conn {
		c := newFakeConn(t, ip)
		lim.ConnState(c, http.StateNew)
		return c
	}
	connect("192.0.2.1")
	busy := connect("192.0.2.2") // evicts nothing
	lim.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		connect("192.0.2.2") // its share, serving: rejected
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(lim.ConnContext(context.Background(), busy), "GET", "/", nil))
	connect("192.0.2.2") // its share: evicts busy, waiting again
	gone := connect("192.0.2.3")
	connect("192.0.2.4")
	connect("192.0.2.5") // the cap: evicts 192.0.2.1
	lim.ConnState(gone, http.StateClosed)

	const want = `
# HELP entra_authmethods_exporter_http_connections_admitted_total HTTP connections accepted and counted against the connection cap.
# TYPE entra_authmethods_exporter_http_connections_admitted_total counter
entra_authmethods_exporter_http_connections_admitted_total 6
# HELP entra_authmethods_exporter_http_connections_evicted_total HTTP connections not serving a request closed to make room for a new one.
# TYPE entra_authmethods_exporter_http_connections_evicted_total counter
entra_authmethods_exporter_http_connections_evicted_total 2
# HELP entra_authmethods_exporter_http_connections_open HTTP connections open now, counted against the connection cap.
# TYPE entra_authmethods_exporter_http_connections_open gauge
entra_authmethods_exporter_http_connections_open 3
# HELP entra_authmethods_exporter_http_connections_rejected_total New HTTP connections closed at once because all the connections they could displace were serving a request.
# TYPE entra_authmethods_exporter_http_connections_rejected_total counter
entra_authmethods_exporter_http_connections_rejected_total 1
`
	c := lim.Collector("entra_authmethods_exporter")
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
