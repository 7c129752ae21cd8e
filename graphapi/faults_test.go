package graphapi_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
)

// faultyHarness serves 30 users in pages of 10 and lets fault misbehave on
// the report requests it chooses (by their 1-based number).
func faultyHarness(t *testing.T, o graphapi.Options, fault func(n int32, w http.ResponseWriter, r *http.Request) bool) (*harness, *atomic.Int32) {
	t.Helper()
	h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 30, dataNow)}, o, fakegraph.Options{PageSize: 10})
	var calls atomic.Int32
	h.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/reports/") {
			return false
		}
		return fault(calls.Add(1), w, r)
	})
	return h, &calls
}

func TestTruncatedAndGarbledPagesAreFetchedAgain(t *testing.T) {
	for name, body := range map[string]string{
		"truncated": `{"value":[{"userType":"member","isAdmin":fal`,
		"garbled":   `<html>Service Unavailable</html>`,
	} {
		t.Run(name, func(t *testing.T) {
			h, calls := faultyHarness(t, graphapi.Options{}, func(n int32, w http.ResponseWriter, r *http.Request) bool {
				if n == 2 { // the second page, once
					w.Write([]byte(body))
					return true
				}
				return false
			})
			if n, err := countUsers(t, h.client); err != nil || n != 30 {
				t.Fatalf("got %d users, %v: a bad page must be fetched again, and counted once", n, err)
			}
			if calls.Load() != 4 {
				t.Errorf("%d requests, want 4 (three pages, one again)", calls.Load())
			}
		})
	}
}

func TestAPageThatStaysBadIsADecodeError(t *testing.T) {
	h, calls := faultyHarness(t, graphapi.Options{}, func(n int32, w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.RawQuery, "skiptoken") {
			w.Write([]byte(`{"value":[`))
			return true
		}
		return false
	})
	_, err := countUsers(t, h.client)
	if graphapi.ReasonOf(err) != graphapi.ReasonDecode {
		t.Fatalf("got %v, want reason decode", err)
	}
	if calls.Load() != 4 {
		t.Errorf("%d requests, want 4 (page 1, then page 2 three times)", calls.Load())
	}
}

func TestCutConnectionsAreRetried(t *testing.T) {
	h, _ := faultyHarness(t, graphapi.Options{}, func(n int32, w http.ResponseWriter, r *http.Request) bool {
		if n <= 2 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				if n == 2 { // headers, then half a body
					conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"value\":["))
				}
				conn.Close()
			}
			return true
		}
		return false
	})
	if n, err := countUsers(t, h.client); err != nil || n != 30 {
		t.Fatalf("got %d users, %v", n, err)
	}
}

func TestUnauthorizedIsRetriedOnceWithAFreshToken(t *testing.T) {
	var tokens []string
	h, calls := faultyHarness(t, graphapi.Options{}, func(n int32, w http.ResponseWriter, r *http.Request) bool {
		tokens = append(tokens, r.Header.Get("Authorization"))
		if n == 1 {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}`))
			return true
		}
		return false
	})
	if n, err := countUsers(t, h.client); err != nil || n != 30 {
		t.Fatalf("got %d users, %v", n, err)
	}
	if calls.Load() != 4 || tokens[0] == tokens[1] {
		t.Errorf("%d requests; the retry after 401 must carry a new token (same: %v)", calls.Load(), tokens[0] == tokens[1])
	}

	// A 401 that persists is not retried forever.
	h2, calls2 := faultyHarness(t, graphapi.Options{}, func(n int32, w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusUnauthorized)
		return true
	})
	if _, err := countUsers(t, h2.client); graphapi.ReasonOf(err) != graphapi.ReasonUnauthorized {
		t.Fatalf("got %v, want reason unauthorized", err)
	}
	if calls2.Load() != 2 {
		t.Errorf("%d requests for a lasting 401, want 2", calls2.Load())
	}
}

// throttle answers 429 with the given Retry-After: "date" for an HTTP date
// 1.5 s ahead, "" for none.
func throttle(w http.ResponseWriter, header string) {
	switch header {
	case "date":
		w.Header().Set("Retry-After", time.Now().Add(1500*time.Millisecond).UTC().Format(http.TimeFormat))
	case "":
	default:
		w.Header().Set("Retry-After", header)
	}
	w.WriteHeader(http.StatusTooManyRequests)
}

func TestRetryAfterForms(t *testing.T) {
	for name, header := range map[string]string{
		"seconds":    "1",
		"fractional": "0.4",
		"http date":  "date", // made when the 429 is sent
		"none":       "",
	} {
		t.Run(name, func(t *testing.T) {
			// RetryDelay 200ms: without Retry-After, azcore backs off
			// exponentially with jitter, (2^1-1) x 200ms x [0.8, 1.2].
			h, calls := faultyHarness(t, graphapi.Options{RetryDelay: 200 * time.Millisecond}, func(n int32, w http.ResponseWriter, r *http.Request) bool {
				if n == 1 {
					throttle(w, header)
					return true
				}
				return false
			})
			start := time.Now()
			if n, err := countUsers(t, h.client); err != nil || n != 30 {
				t.Fatalf("got %d, %v", n, err)
			}
			elapsed := time.Since(start)
			min := map[string]time.Duration{"seconds": time.Second, "fractional": 400 * time.Millisecond, "http date": 500 * time.Millisecond, "none": 160 * time.Millisecond}[name]
			if elapsed < min || elapsed > min+3*time.Second {
				t.Errorf("took %v, want at least %v", elapsed, min)
			}
			if calls.Load() != 4 {
				t.Errorf("%d requests, want 4", calls.Load())
			}
		})
	}
}

func TestEveryServerErrorIsRetried(t *testing.T) {
	for _, code := range []int{500, 502, 503, 504} {
		h, calls := faultyHarness(t, graphapi.Options{}, func(n int32, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				w.WriteHeader(code)
				return true
			}
			return false
		})
		if n, err := countUsers(t, h.client); err != nil || n != 30 || calls.Load() != 4 {
			t.Errorf("%d: got %d users in %d requests, %v", code, n, calls.Load(), err)
		}
	}
}

func TestPageCaps(t *testing.T) {
	h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 30, dataNow)}, graphapi.Options{MaxPages: 2}, fakegraph.Options{PageSize: 10})
	if _, err := countUsers(t, h.client); graphapi.ReasonOf(err) != graphapi.ReasonPaging || !strings.Contains(err.Error(), "more than 2 pages") {
		t.Errorf("page cap: got %v", err)
	}
	if n := len(reportRequests(h.srv)); n != 2 {
		t.Errorf("page cap: %d requests, want 2", n)
	}

	h = newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 30, dataNow)}, graphapi.Options{MaxPageBytes: 2000}, fakegraph.Options{PageSize: 10})
	if _, err := countUsers(t, h.client); graphapi.ReasonOf(err) != graphapi.ReasonPaging || !strings.Contains(err.Error(), "more than 2000 bytes") {
		t.Errorf("byte cap: got %v", err)
	}
	if n := len(reportRequests(h.srv)); n != 1 {
		t.Errorf("byte cap: %d requests, want 1 (an oversized page is not fetched again)", n)
	}
}

// A Content-Length far past the byte cap sets nothing aside for it: the
// page fails as too large, having allocated a few megabytes at most.
func TestHugeContentLengthIsNotTrusted(t *testing.T) {
	h, _ := faultyHarness(t, graphapi.Options{MaxPageBytes: 1 << 20, MaxRetries: 1}, func(n int32, w http.ResponseWriter, r *http.Request) bool {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return true
		}
		defer conn.Close()
		conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8000000000\r\n\r\n"))
		conn.Write([]byte(`{"value":[` + strings.Repeat(`{"userType":"member"},`, 60000)))
		return true
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := countUsers(t, h.client)
	runtime.ReadMemStats(&after)
	if graphapi.ReasonOf(err) != graphapi.ReasonPaging || !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Errorf("got %v, want a page too large", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("allocated %d MiB for a page capped at 1 MiB", alloc>>20)
	}
}

func TestRedirectToAnotherHostIsNotFollowed(t *testing.T) {
	var foreign atomic.Int32
	other := newHarness(t, &fakegraph.Tenant{}, graphapi.Options{}, fakegraph.Options{})
	other.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool { foreign.Add(1); return false })
	h, _ := faultyHarness(t, graphapi.Options{}, func(n int32, w http.ResponseWriter, r *http.Request) bool {
		http.Redirect(w, r, other.srv.GraphEndpoint()+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return true
	})
	if _, err := countUsers(t, h.client); err == nil {
		t.Fatal("a redirect to another host was followed")
	}
	if foreign.Load() != 0 {
		t.Errorf("the other host received %d requests", foreign.Load())
	}
}

// A page garbled after its nextLink (Graph writes the link before the
// records) has had its next page asked for already; fetched again, the
// same link is not taken for a loop.
func TestPageGarbledAfterItsNextLinkIsFetchedAgain(t *testing.T) {
	var inner atomic.Bool
	var h *harness
	h, calls := faultyHarness(t, graphapi.Options{}, func(n int32, w http.ResponseWriter, r *http.Request) bool {
		if n != 2 || inner.Load() {
			return false
		}
		inner.Store(true) // serve the real page with one literal broken
		rec := httptest.NewRecorder()
		h.srv.ServeHTTP(rec, r)
		body := rec.Body.String()
		if link := strings.Index(body, "@odata.nextLink"); link < 0 || link > strings.Index(body, "false") {
			t.Errorf("the fake's page does not start with its nextLink: %.200s", body)
		}
		w.Write([]byte(strings.Replace(body, "false", "fals", 1)))
		return true
	})
	if n, err := countUsers(t, h.client); err != nil || n != 30 {
		t.Fatalf("got %d users, %v: a garbled page must be fetched again, and counted once", n, err)
	}
	if got := calls.Load(); got < 5 {
		t.Errorf("%d report requests, want at least 5 (the inner one, the page again, three pages)", got)
	}
}
