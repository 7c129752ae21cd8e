package graphapi_test

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
)

// Every Graph attack of the fake ends in a classified error, within the
// request timeout, having allocated a bounded amount of memory: never the
// gigabytes a hostile answer offers.
func TestHostileGraphAnswers(t *testing.T) {
	users := func(c *graphapi.Client) (int, error) {
		return c.UserRegistrationDetailsList(context.Background(), func(*graphapi.UserRegistrationDetails) error { return nil })
	}
	signIns := func(c *graphapi.Client) (int, error) {
		return c.UserMFASignInSummaries(context.Background(), func(*graphapi.UserMFASignInSummary) error { return nil })
	}
	cases := []struct {
		attack  fakegraph.Attack
		opts    graphapi.Options
		list    func(*graphapi.Client) (int, error)
		reasons []graphapi.Reason
		text    string
	}{
		{fakegraph.AttackEndlessBody, graphapi.Options{}, users, []graphapi.Reason{graphapi.ReasonPaging}, "more than 8388608 bytes"},
		// Go's transport asks for gzip and inflates it; either way the cap holds.
		{fakegraph.AttackGzipBomb, graphapi.Options{}, users, []graphapi.Reason{graphapi.ReasonPaging, graphapi.ReasonDecode}, ""},
		{fakegraph.AttackLyingLength, graphapi.Options{RequestTimeout: 500 * time.Millisecond, MaxRetries: 1}, users, []graphapi.Reason{graphapi.ReasonTimeout}, ""},
		{fakegraph.AttackEmptyRecords, graphapi.Options{}, users, []graphapi.Reason{graphapi.ReasonPaging}, "more than 8388608 bytes"},
		{fakegraph.AttackEmptyRecords, graphapi.Options{MaxPageBytes: 32 << 20}, users, []graphapi.Reason{graphapi.ReasonDecode}, "more than 10000 records"},
		{fakegraph.AttackManyMethods, graphapi.Options{}, users, []graphapi.Reason{graphapi.ReasonDecode}, "more than 64 distinct values"},
		{fakegraph.AttackNullRows, graphapi.Options{}, users, []graphapi.Reason{graphapi.ReasonDecode}, "record 1 is null"},
		{fakegraph.AttackNegativeCounts, graphapi.Options{}, signIns, []graphapi.Reason{graphapi.ReasonDecode}, "negative"},
	}
	for _, c := range cases {
		t.Run(string(c.attack), func(t *testing.T) {
			h := newHarness(t, &fakegraph.Tenant{Attack: c.attack}, c.opts, fakegraph.Options{})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := c.list(h.client)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if !slices.Contains(c.reasons, graphapi.ReasonOf(err)) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("got %v (reason %q), want one of %v saying %q", err, graphapi.ReasonOf(err), c.reasons, c.text)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("the error is %d bytes long: it echoes what Graph sent", len(err.Error()))
			}
			// A page is at most 8 MiB (32 MiB where raised); its buffer and
			// the decoded records stay within a small multiple of that.
			limit := uint64(64 << 20)
			if c.opts.MaxPageBytes > 0 {
				limit = 4 * uint64(c.opts.MaxPageBytes)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit {
				t.Errorf("allocated %d MiB, more than %d MiB", alloc>>20, limit>>20)
			}
			t.Logf("%v after %v, %d MiB allocated", graphapi.ReasonOf(err), took.Round(time.Millisecond), (after.TotalAlloc-before.TotalAlloc)>>20)
		})
	}
}

// A Retry-After longer than a poll waits out fails the listing at once as
// throttled, and holds the tenant's next requests until it has passed:
// they fail without reaching Graph.
func TestLongRetryAfterPausesTheTenant(t *testing.T) {
	limiter := graphapi.NewLimiter(5, time.Second)
	h := newHarness(t, &fakegraph.Tenant{Attack: fakegraph.AttackRetryAfterStorm}, graphapi.Options{Limiter: limiter}, fakegraph.Options{})
	start := time.Now()
	_, err := countUsers(t, h.client)
	if graphapi.ReasonOf(err) != graphapi.ReasonThrottled {
		t.Fatalf("got %v, want throttled", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a Retry-After of 119 s held the listing %v; it should give up at once", took)
	}
	if n := len(reportRequests(h.srv)); n != 1 {
		t.Errorf("%d requests, want 1: a Retry-After past 30 s is not waited out", n)
	}
	_, err = countUsers(t, h.client)
	if graphapi.ReasonOf(err) != graphapi.ReasonThrottled || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("second listing: got %v, want throttled without a request", err)
	}
	if n := len(reportRequests(h.srv)); n != 1 {
		t.Errorf("%d requests after the pause began, want none", n-1)
	}
}

// A token endpoint that answers with a body azidentity cannot parse gets
// quoted whole in azidentity's error, token included: the error the
// exporter keeps holds no token, for every malformed answer.
func TestTokenNeverInErrors(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddTenant(&fakegraph.Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: secret, Attack: fakegraph.AttackTokenLeak})
	for i := range 9 { // one of each malformed answer
		c := newClient(t, srv, secret, graphapi.Options{MaxRetries: 1})
		_, err := countUsers(t, c)
		if err == nil {
			continue // an answer azidentity could read after all: its token is not ours to hide
		}
		if strings.Contains(err.Error(), fakegraph.LeakedTokenPrefix) {
			t.Errorf("answer %d: the error holds the token: %v", i, err)
		}
		if r := graphapi.ReasonOf(err); r != graphapi.ReasonAuth && r != graphapi.ReasonUnauthorized {
			t.Errorf("answer %d: reason %q, want auth: %v", i, r, err)
		}
	}
}

// A token endpoint that never answers fails the request as auth within the
// request timeout, not after the poll's deadline.
func TestTokenDeadlineIsRequestTimeout(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddTenant(&fakegraph.Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: secret, Attack: fakegraph.AttackTokenHang})
	c := newClient(t, srv, secret, graphapi.Options{RequestTimeout: 300 * time.Millisecond, MaxRetries: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err = c.UserRegistrationDetailsList(ctx, func(*graphapi.UserRegistrationDetails) error { return nil })
	took := time.Since(start)
	if graphapi.ReasonOf(err) != graphapi.ReasonAuth || !strings.Contains(err.Error(), "request_timeout") {
		t.Fatalf("got %v (reason %q), want auth naming request_timeout", err, graphapi.ReasonOf(err))
	}
	if took > 10*time.Second {
		t.Errorf("gave up after %v, want about the request timeout", took)
	}
}
