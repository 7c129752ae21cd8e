package graphapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// policyFunc adapts a function to azcore's policy.Policy.
type policyFunc func(*policy.Request) (*http.Response, error)

func (f policyFunc) Do(req *policy.Request) (*http.Response, error) { return f(req) }

// headersPolicy asks Graph for the evolvable enum members added after
// unknownFutureValue (passKeyDeviceBound and friends) and for JSON, and names
// the exporter in User-Agent (azcore's telemetry policy would cut it short).
func headersPolicy(userAgent string) policyFunc {
	return func(req *policy.Request) (*http.Response, error) {
		h := req.Raw().Header
		h.Set("Prefer", "include-unknown-enum-members")
		h.Set("Accept", "application/json")
		if userAgent != "" {
			h.Set("User-Agent", userAgent)
		}
		return req.Next()
	}
}

// pacingPolicy waits for a slot of every limiter (the tenant's, then the
// app registration's) before every try, so retries are paced like first
// attempts, and holds the slots until the response has arrived. A limiter
// that Graph has paused for longer than maxWait fails the request at once.
func pacingPolicy(maxWait time.Duration, limiters ...*Limiter) policyFunc {
	return func(req *policy.Request) (*http.Response, error) {
		for _, l := range limiters {
			done, err := l.Wait(req.Raw().Context(), maxWait)
			if err != nil {
				return nil, err
			}
			defer done() // the body download policy below has read the body by now
		}
		return req.Next()
	}
}

// timeoutPolicy bounds one try, download of the body included, after the
// pacer has let it go: time spent waiting for the rate limit is not the
// request's. (azcore's TryTimeout would also count the pacing wait.)
func timeoutPolicy(d time.Duration) policyFunc {
	return func(req *policy.Request) (*http.Response, error) {
		ctx, cancel := context.WithTimeout(req.Raw().Context(), d)
		defer cancel() // the body download policy below has read the body by now
		return req.Clone(ctx).Next()
	}
}

// observePolicy reports every response's status code (one per try).
func observePolicy(observe func(code int)) policyFunc {
	return func(req *policy.Request) (*http.Response, error) {
		resp, err := req.Next()
		if resp != nil && observe != nil {
			observe(resp.StatusCode)
		}
		return resp, err
	}
}

// retryAfterPolicy rewrites a fractional Retry-After ("2.128", as Graph's
// throttling docs show) into Retry-After-Ms, which azcore's retry policy
// honours (azcore itself only parses whole seconds and HTTP dates), and
// pauses the tenant's limiter for as long as Graph asked, so that no other
// request of the tenant goes out before then.
func retryAfterPolicy(tenant *Limiter) policyFunc {
	return func(req *policy.Request) (*http.Response, error) {
		resp, err := req.Next()
		if resp == nil {
			return resp, err
		}
		if v := strings.TrimSpace(resp.Header.Get("Retry-After")); strings.ContainsRune(v, '.') {
			if secs, perr := strconv.ParseFloat(v, 64); perr == nil && secs > 0 && secs < 3600 {
				ms := int64(secs*1000 + 0.999) // round up: never retry early
				resp.Header.Set("Retry-After-Ms", strconv.FormatInt(ms, 10))
			}
		}
		if d := retryAfter(resp); d > 0 {
			tenant.PauseUntil(time.Now().Add(d))
		}
		return resp, err
	}
}

// maxPause is the longest pause a Retry-After can ask for; longer is taken
// as this, so a broken header cannot silence a tenant for years.
const maxPause = 24 * time.Hour

// retryAfter returns how long a 429 or 503 asks to wait, or 0.
func retryAfter(resp *http.Response) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	if v := resp.Header.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && ms > 0 {
			return min(time.Duration(ms)*time.Millisecond, maxPause)
		}
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxPause/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(at), 0), maxPause)
	}
	return 0
}
