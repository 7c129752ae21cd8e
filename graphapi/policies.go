package graphapi

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Bounds on what one answer may make the exporter hold or do.
const (
	maxErrorBodyBytes = 64 << 10       // kept of an error answer: Graph's error JSON is a few hundred bytes
	firstReadBytes    = 1 << 20        // set aside before any byte has arrived, whatever Content-Length promises
	maxPause          = 24 * time.Hour // longest pause a Retry-After may ask: a broken one cannot silence a tenant for years
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

// pacingPolicy holds a slot of every limiter (the tenant's, then the app
// registration's) from before every try, retries included, until its
// response has arrived; a limiter paused past maxWait fails the try at once.
// The try's timeout starts after the wait (azcore's TryTimeout counts it).
func pacingPolicy(maxWait, timeout time.Duration, limiters ...*Limiter) policyFunc {
	return func(req *policy.Request) (*http.Response, error) {
		for _, l := range limiters {
			done, err := l.Wait(req.Raw().Context(), maxWait)
			if err != nil {
				return nil, err
			}
			defer done()
		}
		ctx, cancel := context.WithTimeout(req.Raw().Context(), timeout)
		defer cancel() // readBodyPolicy below has read the body by now
		return req.Clone(ctx).Next()
	}
}

// responsePolicy reports every try's status code to observe, rewrites a
// fractional Retry-After ("2.128", as Graph's docs show) into Retry-After-Ms
// (azcore parses only whole seconds and dates), and pauses the tenant's
// limiter for as long as Graph asked.
func responsePolicy(observe func(code int), tenant *Limiter) policyFunc {
	return func(req *policy.Request) (*http.Response, error) {
		resp, err := req.Next()
		if resp == nil {
			return resp, err
		}
		if observe != nil {
			observe(resp.StatusCode)
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

// retryAfter returns how long a 429 or 503 asks to wait, or 0.
func retryAfter(resp *http.Response) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	if ms, err := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("Retry-After-Ms")), 10, 64); err == nil && ms > 0 {
		return min(time.Duration(ms)*time.Millisecond, maxPause)
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(min(max(secs, 0), int64(maxPause/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(at), 0), maxPause)
	}
	return 0
}

// readBodyPolicy reads a successful response's body, at most maxBytes,
// within the try (its timeout and pacing slot). Requests must be marked with
// runtime.SkipBodyDownload; azcore reads error bodies itself (errorBodies).
func readBodyPolicy(maxBytes int64) policyFunc {
	return func(req *policy.Request) (*http.Response, error) {
		resp, err := req.Next()
		if err != nil || resp.StatusCode >= http.StatusMultipleChoices {
			return resp, err
		}
		body, err := readBody(resp.Body, resp.ContentLength, maxBytes)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		return resp, nil
	}
}

// readBody reads r to its end, or to limit bytes (then a *refusedError).
// Its buffer, never over limit+1 bytes, starts at Content-Length (at most
// firstReadBytes) and doubles only as data arrives.
func readBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	size := int64(64 << 10)
	if contentLength >= 0 {
		size = contentLength + 1 // +1 to see the end without growing
	}
	buf := make([]byte, 0, min(size, firstReadBytes, limit+1))
	for {
		if len(buf) == cap(buf) { // full, yet at most limit: past it, the switch below returned
			buf = append(make([]byte, 0, min(2*int64(cap(buf))+1, limit+1)), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case int64(len(buf)) > limit:
			return buf[:limit], &refusedError{ReasonPaging, fmt.Sprintf("a page of more than %d bytes: refusing to read it", limit)}
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
}

// sameHostClient returns hc's settings, never following a redirect to
// another host (where the bearer token would go), cutting error bodies short.
func sameHostClient(hc *http.Client) *http.Client {
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 || req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
			return http.ErrUseLastResponse
		}
		return nil
	}
	c.Transport = errorBodies{base: cmp.Or(c.Transport, http.DefaultTransport)}
	return c
}

// errorBodies cuts every answer but a success at maxErrorBodyBytes: azcore reads them whole.
type errorBodies struct{ base http.RoundTripper }

func (t errorBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.StatusCode >= http.StatusMultipleChoices {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxErrorBodyBytes), resp.Body}
	}
	return resp, err
}
