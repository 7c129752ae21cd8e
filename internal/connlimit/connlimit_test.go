package connlimit

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

// server serves with a Limiter of max; /slow waits for release.
type server struct {
	*httptest.Server
	lim     *Limiter
	entered chan struct{} // one per /slow request in its handler
	release chan struct{}
}

func newServer(t *testing.T, max int, withTLS bool) *server {
	t.Helper()
	s := &server{lim: New(max, nil), entered: make(chan struct{}, 100), release: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			s.entered <- struct{}{}
			<-s.release
		}
		io.WriteString(w, "ok")
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshakes cut short by evictions
	s.Config.ConnState = s.lim.ConnState
	if withTLS {
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

// dial connects without sending anything, over TLS if the server has it.
func (s *server) dial(t *testing.T) net.Conn {
	t.Helper()
	return s.dialFrom(t, "")
}

// dialFrom is dial from a given loopback address ("": the system's choice).
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

// closed reports whether the server has closed c (a read ends in EOF or a
// reset rather than waiting).
func closed(c net.Conn, wait time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(wait))
	defer c.SetReadDeadline(time.Time{})
	_, err := c.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestEvictsTheLongestWaiting(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		s := newServer(t, 2, withTLS)
		c1 := s.dial(t) // never sends a request
		if withTLS {
			if err := c1.(*tls.Conn).Handshake(); err != nil {
				t.Fatal(err)
			}
		}
		c2 := s.dial(t)
		mustGet(t, c2, "/") // idle since, after c1
		eventually(t, "c1 and c2 waiting", func() bool { return s.waiting() == 2 })

		c3 := s.dial(t) // at the cap: c1 waited longest
		eventually(t, "an eviction", func() bool { return s.lim.Stats().Evicted == 1 })
		if !closed(c1, 5*time.Second) {
			t.Errorf("TLS %v: the connection that never sent a request was not closed", withTLS)
		}
		mustGet(t, c2, "/") // c2 still served, and now waits after c3
		eventually(t, "c3 and c2 waiting", func() bool { return s.waiting() == 2 })

		c4 := s.dial(t)
		eventually(t, "a second eviction", func() bool { return s.lim.Stats().Evicted == 2 })
		if !closed(c3, 5*time.Second) {
			t.Errorf("TLS %v: c3 was not closed although it waited longest", withTLS)
		}
		if closed(c2, 50*time.Millisecond) {
			t.Errorf("TLS %v: c2 was closed although c3 waited longer", withTLS)
		}
		mustGet(t, c2, "/")
		mustGet(t, c4, "/")
		if st := s.lim.Stats(); st.Open != 2 || st.Rejected != 0 {
			t.Errorf("TLS %v: %+v, want 2 open and none rejected", withTLS, st)
		}
	}
}

// At the cap a host's new connection evicts that host's own longest
// waiting one, so a client that keeps connecting displaces itself; a host
// with none waiting evicts the longest waiting of all.
func TestEvictsItsOwnHostFirst(t *testing.T) {
	s := newServer(t, 3, false)
	scraper := s.dialFrom(t, "127.0.0.1") // waits longest
	attack := []net.Conn{s.dialFrom(t, "127.0.0.2"), s.dialFrom(t, "127.0.0.2")}
	eventually(t, "three waiting", func() bool { return s.waiting() == 3 })
	for i := range 5 {
		attack = append(attack, s.dialFrom(t, "127.0.0.2"))
		eventually(t, "an eviction", func() bool { return s.lim.Stats().Evicted == uint64(i+1) })
		if !closed(attack[i], 5*time.Second) {
			t.Fatalf("attack connection %d was not closed", i)
		}
	}
	mustGet(t, scraper, "/") // never displaced by the other host
	eventually(t, "the scraper idle", func() bool { return s.waiting() == 3 })

	other := s.dialFrom(t, "127.0.0.3") // nothing of its own: the longest waiting of all goes
	eventually(t, "an eviction", func() bool { return s.lim.Stats().Evicted == 6 })
	if !closed(attack[5], 5*time.Second) {
		t.Error("the longest waiting connection was not closed for a new host")
	}
	mustGet(t, other, "/")
	mustGet(t, scraper, "/")
}

// A connection serving a request is never evicted, over TLS too (where
// ConnState sees the *tls.Conn); a new connection is closed instead.
func TestBusyConnectionsAreNeverEvicted(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		s := newServer(t, 2, withTLS)
		var wg sync.WaitGroup
		busy := []net.Conn{s.dial(t), s.dial(t)}
		for _, c := range busy {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := get(c, "/slow"); err != nil {
					t.Errorf("TLS %v: a busy request failed: %v", withTLS, err)
				}
			}()
		}
		<-s.entered
		<-s.entered

		c3 := s.dial(t)
		eventually(t, "a rejection", func() bool { return s.lim.Stats().Rejected == 1 })
		if !closed(c3, 5*time.Second) {
			t.Errorf("TLS %v: the connection over the cap was not closed", withTLS)
		}
		close(s.release)
		wg.Wait() // both busy requests answered 200
		if st := s.lim.Stats(); st.Evicted != 0 {
			t.Errorf("TLS %v: a busy connection was evicted: %+v", withTLS, st)
		}

		eventually(t, "both idle", func() bool { return s.waiting() == 2 })
		c4 := s.dial(t) // now one idle connection makes room
		mustGet(t, c4, "/")
		if closed(busy[0], 2*time.Second) == closed(busy[1], 50*time.Millisecond) {
			t.Errorf("TLS %v: not exactly one idle connection was closed", withTLS)
		}
		if st := s.lim.Stats(); st.Evicted != 1 || st.Open != 2 {
			t.Errorf("TLS %v: %+v, want 1 evicted and 2 open", withTLS, st)
		}
	}
}

// Under concurrent clients the count never passes the cap and returns to
// zero once every connection has closed.
func TestCountReturnsToZero(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		s := newServer(t, 4, withTLS)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		over := make(chan int, 1)
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if n := s.lim.Stats().Open; n > 4 {
					select {
					case over <- n:
					default:
					}
				}
				time.Sleep(100 * time.Microsecond)
			}
		}()
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := s.Client()
				if i%2 == 0 { // separate connections
					client = &http.Client{Transport: s.Client().Transport.(*http.Transport).Clone()}
					defer client.CloseIdleConnections()
				}
				for range 20 {
					if resp, err := client.Get(s.URL + "/"); err == nil { // evictions make some fail
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					if c, err := net.Dial("tcp", s.Listener.Addr().String()); err == nil {
						c.Close()
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		select {
		case n := <-over:
			t.Errorf("TLS %v: %d connections open, over the cap of 4", withTLS, n)
		default:
		}
		s.Client().CloseIdleConnections()
		s.Close()
		if st := s.lim.Stats(); st.Open != 0 {
			t.Errorf("TLS %v: %+v after every connection closed, want 0 open", withTLS, st)
		}
	}
}
