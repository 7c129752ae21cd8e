package graphapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
)

const (
	tenantID = "33333333-3333-4333-8333-333333333333"
	clientID = "44444444-4444-4444-8444-444444444444"
	secret   = "graphapi-test-secret-do-not-leak"
)

// dataNow dates the fake's data, so that no test depends on the day it runs.
var dataNow = time.Date(2026, 12, 6, 0, 0, 30, 0, time.UTC)

type harness struct {
	srv    *fakegraph.Server
	client *graphapi.Client
}

// newHarness starts a fake Graph with one tenant and a client for it.
func newHarness(t *testing.T, fake *fakegraph.Tenant, o graphapi.Options, so fakegraph.Options) *harness {
	t.Helper()
	srv, err := fakegraph.NewServer(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if fake.TenantID == "" {
		fake.TenantID, fake.ClientID, fake.ClientSecret = tenantID, clientID, secret
	}
	srv.AddTenant(fake)
	return &harness{srv: srv, client: newClient(t, srv, secret, o)}
}

func newClient(t *testing.T, srv *fakegraph.Server, clientSecret string, o graphapi.Options) *graphapi.Client {
	t.Helper()
	cred, err := graphapi.NewCredential(config.Tenant{
		Name: "t", TenantID: tenantID, ClientID: clientID, Auth: config.AuthClientSecret, ClientSecret: clientSecret,
		AuthorityHost: srv.AuthorityHost(), GraphEndpoint: srv.GraphEndpoint(),
	}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	o.Endpoint, o.Credential, o.HTTPClient = srv.GraphEndpoint(), cred, srv.Client()
	if o.RetryDelay == 0 {
		o.RetryDelay = 10 * time.Millisecond
	}
	c, err := graphapi.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func countUsers(t *testing.T, c *graphapi.Client) (int, error) {
	t.Helper()
	seen := 0
	n, err := c.UserRegistrationDetailsList(context.Background(), func(*graphapi.UserRegistrationDetails) error {
		seen++
		return nil
	})
	if n != seen {
		t.Fatalf("returned %d records, handed over %d", n, seen)
	}
	return n, err
}

func reportRequests(srv *fakegraph.Server) []fakegraph.Request {
	var out []fakegraph.Request
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, "/reports/") {
			out = append(out, r)
		}
	}
	return out
}

func TestPagingReadsEveryPage(t *testing.T) {
	h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 1234, dataNow)}, graphapi.Options{}, fakegraph.Options{PageSize: 100})
	n, err := countUsers(t, h.client)
	if err != nil || n != 1234 {
		t.Fatalf("got %d users, err %v; want 1234", n, err)
	}
	reqs := reportRequests(h.srv)
	if len(reqs) != 13 {
		t.Errorf("%d requests for 1234 users in pages of 100, want 13", len(reqs))
	}
	for _, r := range reqs {
		if r.Prefer != "include-unknown-enum-members" {
			t.Errorf("request %s without the Prefer header: %q", r.Path, r.Prefer)
		}
		if !strings.HasPrefix(r.Authorization, "Bearer ") {
			t.Errorf("request %s without a bearer token", r.Path)
		}
	}
}

// A listing whose callback fails stops there: no further page is asked for.
func TestFailedListingStops(t *testing.T) {
	h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 300, dataNow)}, graphapi.Options{}, fakegraph.Options{PageSize: 100})
	stop := errors.New("stop")
	n, err := h.client.UserRegistrationDetailsList(context.Background(), func(*graphapi.UserRegistrationDetails) error { return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("got %d, %v; want 1 and the callback's error", n, err)
	}
	if got := len(reportRequests(h.srv)); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}

func TestUserEventsAskForLargestPage(t *testing.T) {
	h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 100, dataNow)}, graphapi.Options{}, fakegraph.Options{})
	if _, err := h.client.UserEvents(context.Background(), func(*graphapi.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if q := reportRequests(h.srv)[0].RawQuery; !strings.Contains(q, "%24top=1000") && !strings.Contains(q, "$top=1000") {
		t.Errorf("first userEventsSummary request %q does not ask for $top=1000", q)
	}
}

func TestFractionalRetryAfterIsHonoured(t *testing.T) {
	var calls atomic.Int32
	// RetryDelay is 5s: had the fractional header been ignored, azcore's
	// exponential backoff would wait about that long.
	h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 10, dataNow)}, graphapi.Options{RetryDelay: 5 * time.Second}, fakegraph.Options{})
	h.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/reports/") && calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0.328")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"code":"TooManyRequests","message":"Please retry again later."}}`))
			return true
		}
		return false
	})
	start := time.Now()
	n, err := countUsers(t, h.client)
	elapsed := time.Since(start)
	if err != nil || n != 10 {
		t.Fatalf("got %d, %v", n, err)
	}
	if elapsed < 328*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("retried after %v; want about 0.328s", elapsed)
	}
}

func TestThrottlingByTheFakeIsRetried(t *testing.T) {
	var got []int
	var mu sync.Mutex
	o := graphapi.Options{OnResponse: func(code int) { mu.Lock(); got = append(got, code); mu.Unlock() }}
	h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 40, dataNow)}, o, fakegraph.Options{PageSize: 10, RateLimit: 2, RatePer: 300 * time.Millisecond})
	n, err := countUsers(t, h.client)
	if err != nil || n != 40 {
		t.Fatalf("got %d, %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	throttled := 0
	for _, c := range got {
		if c == 429 {
			throttled++
		}
	}
	if throttled == 0 {
		t.Errorf("no 429 seen (%v): the test does not exercise throttling", got)
	}
}

func TestPacingAvoidsThrottling(t *testing.T) {
	var throttled atomic.Int32
	o := graphapi.Options{
		Limiter:    graphapi.NewLimiter(2, 300*time.Millisecond),
		OnResponse: func(code int) { throttled.Add(map[bool]int32{true: 1}[code == 429]) },
	}
	h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 40, dataNow)}, o, fakegraph.Options{PageSize: 10, RateLimit: 2, RatePer: 300 * time.Millisecond})
	if n, err := countUsers(t, h.client); err != nil || n != 40 {
		t.Fatalf("got %d, %v", n, err)
	}
	if throttled.Load() != 0 {
		t.Errorf("%d requests throttled despite pacing at the server's limit", throttled.Load())
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 10, dataNow)}, graphapi.Options{}, fakegraph.Options{})
	h.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/reports/") && calls.Add(1) <= 2 {
			w.WriteHeader([]int{502, 503}[calls.Load()-1])
			return true
		}
		return false
	})
	if n, err := countUsers(t, h.client); err != nil || n != 10 {
		t.Fatalf("got %d, %v", n, err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls, want 3 (two failures, one success)", calls.Load())
	}
}

func TestServerErrorsExhaustRetries(t *testing.T) {
	h := newHarness(t, &fakegraph.Tenant{}, graphapi.Options{MaxRetries: 2}, fakegraph.Options{})
	h.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/reports/") {
			w.Header().Set("request-id", "req-500")
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return false
	})
	_, err := countUsers(t, h.client)
	if graphapi.ReasonOf(err) != graphapi.ReasonServer {
		t.Fatalf("got %v, want reason server", err)
	}
	if n := len(reportRequests(h.srv)); n != 3 {
		t.Errorf("%d requests, want 1 + 2 retries", n)
	}
	if !strings.Contains(err.Error(), "req-500") {
		t.Errorf("error does not carry the request-id: %v", err)
	}
}

func TestUnlicensedTenantIsNotRetried(t *testing.T) {
	h := newHarness(t, &fakegraph.Tenant{Unlicensed: true}, graphapi.Options{}, fakegraph.Options{})
	_, err := countUsers(t, h.client)
	if graphapi.ReasonOf(err) != graphapi.ReasonUnlicensed {
		t.Fatalf("got %v, want reason unlicensed", err)
	}
	if n := len(reportRequests(h.srv)); n != 1 {
		t.Errorf("%d requests: a licence error must not be retried", n)
	}
}

func TestTokenFailureIsAuth(t *testing.T) {
	h := newHarness(t, &fakegraph.Tenant{}, graphapi.Options{}, fakegraph.Options{})
	wrong := "wrong-secret-value-zzz"
	c := newClient(t, h.srv, wrong, graphapi.Options{})
	_, err := countUsers(t, c)
	if graphapi.ReasonOf(err) != graphapi.ReasonAuth {
		t.Fatalf("got %v, want reason auth", err)
	}
	if n := len(reportRequests(h.srv)); n != 0 {
		t.Errorf("%d report requests without a token", n)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), secret) {
		t.Errorf("error reveals a secret: %v", err)
	}
}

func TestForeignNextLinkIsRefused(t *testing.T) {
	var foreignHits atomic.Int32
	foreign := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignHits.Add(1)
		w.Write([]byte(`{"value":[]}`))
	}))
	defer foreign.Close()

	for name, link := range map[string]string{
		"other host":   foreign.URL + "/v1.0/reports/authenticationMethods/userRegistrationDetails?$skiptoken=x",
		"plain http":   "", // filled below: same host, http scheme
		"other prefix": "", // same host, outside the endpoint's path
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 10, dataNow)}, graphapi.Options{}, fakegraph.Options{})
			switch name {
			case "plain http":
				link = strings.Replace(h.srv.GraphEndpoint(), "https://", "http://", 1) + "/v1.0/x"
			case "other prefix":
				h2 := h.srv.GraphEndpoint()
				link = h2 + "x/v1.0/x"
			}
			h.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
				if strings.Contains(r.URL.Path, "userRegistrationDetails") {
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte(`{"value":[{"userType":"member"}],"@odata.nextLink":"` + link + `"}`))
					return true
				}
				return false
			})
			n, err := countUsers(t, h.client)
			if graphapi.ReasonOf(err) != graphapi.ReasonPaging {
				t.Fatalf("got %d, %v; want reason paging", n, err)
			}
			if len(reportRequests(h.srv)) != 1 {
				t.Errorf("%d requests to Graph, want 1", len(reportRequests(h.srv)))
			}
		})
	}
	if foreignHits.Load() != 0 {
		t.Errorf("the foreign host received %d requests", foreignHits.Load())
	}
}

func TestNextLinkLoopIsRefused(t *testing.T) {
	h := newHarness(t, &fakegraph.Tenant{}, graphapi.Options{}, fakegraph.Options{})
	h.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "userRegistrationDetails") {
			w.Write([]byte(`{"value":[{}],"@odata.nextLink":"` + h.srv.GraphEndpoint() + `/v1.0/reports/authenticationMethods/userRegistrationDetails?$skiptoken=same"}`))
			return true
		}
		return false
	})
	_, err := countUsers(t, h.client)
	if graphapi.ReasonOf(err) != graphapi.ReasonPaging {
		t.Fatalf("got %v, want reason paging", err)
	}
	if n := len(reportRequests(h.srv)); n != 2 {
		t.Errorf("%d requests, want 2 (the first page and the looping one)", n)
	}
}

func TestTypoKeys(t *testing.T) {
	data := &fakegraph.Data{TotalUserCount: 9, RegistrationCounts: []fakegraph.RegistrationCount{{Status: "registered", Count: 4}, {Status: "mfaRegistered", Count: 2}}}
	for _, typo := range []bool{false, true} {
		h := newHarness(t, &fakegraph.Tenant{TypoKeys: typo, Data: data}, graphapi.Options{}, fakegraph.Options{})
		got := map[string]graphapi.Count{}
		_, err := h.client.CredentialRegistrationCounts(context.Background(), func(r *graphapi.CredentialRegistrationCount) error {
			got["total"] = r.TotalUserCount
			for _, c := range r.UserRegistrationCounts {
				got[c.Status()] = c.Count()
			}
			return nil
		})
		if err != nil || got["total"] != 9 || got["registered"] != 4 || got["mfaRegistered"] != 2 {
			t.Errorf("typo=%v: got %v, %v", typo, got, err)
		}
	}
}

func TestRequestTimeout(t *testing.T) {
	h := newHarness(t, &fakegraph.Tenant{}, graphapi.Options{RequestTimeout: 100 * time.Millisecond, MaxRetries: 1}, fakegraph.Options{})
	h.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/reports/") {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return true
		}
		return false
	})
	_, err := countUsers(t, h.client)
	if r := graphapi.ReasonOf(err); r != graphapi.ReasonTimeout {
		t.Fatalf("got %v (reason %s), want timeout", err, r)
	}
}

func TestRequestLinesAreSentAsDocumented(t *testing.T) {
	h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 20, dataNow)}, graphapi.Options{}, fakegraph.Options{})
	var mu sync.Mutex
	var uris []string
	h.srv.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		uris = append(uris, r.RequestURI)
		mu.Unlock()
		return false
	})
	ctx := context.Background()
	h.client.CredentialUsageSummaries(ctx, "D30", func(*graphapi.CredentialUsageSummary) error { return nil })
	h.client.UserEvents(ctx, func(*graphapi.Event) error { return nil })
	h.client.CredentialRegistrationCounts(ctx, func(*graphapi.CredentialRegistrationCount) error { return nil })
	want := []string{
		"/beta/reports/getCredentialUsageSummary(period='D30')",
		"/beta/reports/authenticationMethods/userEventsSummary?$top=1000",
		"/beta/reports/getCredentialUserRegistrationCount",
	}
	mu.Lock()
	defer mu.Unlock()
	for _, w := range want {
		found := false
		for _, u := range uris {
			found = found || u == w
		}
		if !found {
			t.Errorf("no request line %s in %v", w, uris)
		}
	}
}

func TestPacingDoesNotCountAgainstRequestTimeout(t *testing.T) {
	// One request per 600ms and a 300ms request timeout: waiting for the pacer
	// must not time the request out.
	o := graphapi.Options{Limiter: graphapi.NewLimiter(1, 600*time.Millisecond), RequestTimeout: 300 * time.Millisecond, MaxRetries: 1}
	h := newHarness(t, &fakegraph.Tenant{Data: fakegraph.Synthetic(7, 30, dataNow)}, o, fakegraph.Options{PageSize: 10})
	if n, err := countUsers(t, h.client); err != nil || n != 30 {
		t.Fatalf("got %d, %v", n, err)
	}
	if n := len(reportRequests(h.srv)); n != 3 {
		t.Errorf("%d requests, want 3 (no retries)", n)
	}
}

func TestAppLimiterIsSharedAcrossTenants(t *testing.T) {
	// Two tenants of one app, each allowed 10 per second, the app 4 per
	// 500ms: together they must never exceed the app's limit.
	srv, err := fakegraph.NewServer(fakegraph.Options{PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	app := graphapi.NewLimiter(4, 500*time.Millisecond)
	var clients []*graphapi.Client
	for i, id := range []string{tenantID, "55555555-5555-4555-8555-555555555555"} {
		srv.AddTenant(&fakegraph.Tenant{TenantID: id, ClientID: clientID, ClientSecret: secret, Data: fakegraph.Synthetic(int64(i), 30, dataNow)})
		cred, err := graphapi.NewCredential(config.Tenant{TenantID: id, ClientID: clientID, Auth: config.AuthClientSecret, ClientSecret: secret,
			AuthorityHost: srv.AuthorityHost(), GraphEndpoint: srv.GraphEndpoint()}, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		c, err := graphapi.New(graphapi.Options{Endpoint: srv.GraphEndpoint(), Credential: cred, HTTPClient: srv.Client(),
			Limiter: graphapi.NewLimiter(10, time.Second), AppLimiter: app})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := countUsers(t, c); err != nil || n != 30 {
				t.Errorf("got %d, %v", n, err)
			}
		}()
	}
	wg.Wait()
	reqs := reportRequests(srv)
	if len(reqs) != 12 {
		t.Fatalf("%d requests, want 12", len(reqs))
	}
	for i := 4; i < len(reqs); i++ {
		if gap := reqs[i].Time.Sub(reqs[i-4].Time); gap < 500*time.Millisecond {
			t.Errorf("requests %d and %d of the app arrived %v apart: more than 4 in 500ms", i-4, i, gap)
		}
	}
}
