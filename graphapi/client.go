// Package graphapi is a small client for Microsoft Graph's authentication
// methods reports: credentials, a paced and retrying request pipeline
// (azcore), streaming pagination and tolerant decoding of each report. It
// knows nothing of Prometheus.
package graphapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

// Options configures a Client.
type Options struct {
	Endpoint       string                 // Graph root, e.g. https://graph.microsoft.com
	Credential     azcore.TokenCredential // token source for Endpoint+"/.default"
	HTTPClient     *http.Client           // nil: http.DefaultClient's settings with the system CA pool
	RequestTimeout time.Duration          // one try of one request, and getting a token (default 60s)
	Limiter        *Limiter               // client-side pacing of this tenant; nil: none
	AppLimiter     *Limiter               // pacing shared by the tenants of one app registration; nil: none
	MaxRetries     int                    // retries of 408, 429, 5xx and network errors (default 5)
	RetryDelay     time.Duration          // base of the exponential backoff when no Retry-After is sent (default 1s)
	MaxRetryAfter  time.Duration          // the longest Retry-After waited out within a poll (default 30s)
	MaxPages       int                    // pages one listing may read (default 10000)
	MaxPageBytes   int64                  // bytes one page may have (default 8 MiB)
	OnResponse     func(statusCode int)   // called for every HTTP response, retries included
	UserAgent      string                 // User-Agent of every Graph request
}

// Client reads reports from one tenant's Graph endpoint. It is safe for
// concurrent use, though the exporter reads one report at a time per tenant.
type Client struct {
	endpoint *url.URL
	pipeline runtime.Pipeline
	cred     azcore.TokenCredential
	maxPages int
	retry    policy.RetryOptions
}

// The default caps on what one listing may read. Graph's pages hold about
// 1,000 records of under a kilobyte each; a page of ten times those records
// or eight times those bytes is a hostile or broken answer.
const (
	DefaultMaxPages          = 10000   // pages one listing may read
	DefaultMaxPageBytes      = 8 << 20 // bytes one page may have
	DefaultMaxRecordsPerPage = 10000   // records one page may hold
)

// New returns a Client for o.Endpoint.
func New(o Options) (*Client, error) {
	ep, err := url.Parse(strings.TrimRight(o.Endpoint, "/"))
	if err != nil || ep.Scheme != "https" || ep.Host == "" {
		return nil, fmt.Errorf("graph endpoint %q: must be an absolute https URL", redact.Cut(o.Endpoint, 100))
	}
	if o.Credential == nil {
		return nil, errors.New("graph client: no credential")
	}
	o.RequestTimeout = positiveOr(o.RequestTimeout, 60*time.Second)
	o.MaxRetries = positiveOr(o.MaxRetries, 5)
	o.RetryDelay = positiveOr(o.RetryDelay, time.Second)
	o.MaxRetryAfter = positiveOr(o.MaxRetryAfter, 30*time.Second)
	o.MaxPages = positiveOr(o.MaxPages, DefaultMaxPages)
	o.MaxPageBytes = positiveOr(o.MaxPageBytes, DefaultMaxPageBytes)
	// A Retry-After past MaxRetryAfter is not waited out: the poll fails as
	// throttled at once, and the tenant's limiter holds its next requests
	// until then (azcore's MaxRetryDelay gives up on such an answer).
	retry := policy.RetryOptions{
		MaxRetries:    int32(o.MaxRetries),
		RetryDelay:    o.RetryDelay,
		MaxRetryDelay: o.MaxRetryAfter,
		StatusCodes:   []int{408, 429, 500, 502, 503, 504}, // the answers worth trying again
	}
	pl := runtime.NewPipeline("entra-authmethods-exporter", "", runtime.PipelineOptions{
		PerCall: []policy.Policy{headersPolicy(o.UserAgent)},
		PerRetry: []policy.Policy{
			runtime.NewBearerTokenPolicy(tokenDeadline{cred: o.Credential, timeout: o.RequestTimeout}, []string{ep.String() + "/.default"}, nil),
			pacingPolicy(o.MaxRetryAfter, o.RequestTimeout, o.Limiter, o.AppLimiter),
			responsePolicy(o.OnResponse, o.Limiter),
			readBodyPolicy(o.MaxPageBytes),
		},
	}, &policy.ClientOptions{
		Transport: sameHostClient(o.HTTPClient),
		Retry:     retry,
		Telemetry: policy.TelemetryOptions{Disabled: true},
	})
	return &Client{endpoint: ep, pipeline: pl, cred: o.Credential, maxPages: o.MaxPages, retry: retry}, nil
}

func positiveOr[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// WithFewerRetries returns a context under which c's requests are retried
// once, not MaxRetries times: for a round's rest after a report failed them all.
func (c *Client) WithFewerRetries(ctx context.Context) context.Context {
	r := c.retry
	r.MaxRetries = 1
	return policy.WithRetryOptions(ctx, r)
}

// get sends one GET through the pipeline and returns the body of a 2xx
// response, or an *Error; a 401 is tried once more, with a token fetched anew.
func (c *Client) get(ctx context.Context, rawURL string) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		req, err := runtime.NewRequest(ctx, http.MethodGet, rawURL)
		if err != nil {
			return nil, &Error{Reason: ReasonOther, Err: err}
		}
		path := req.Raw().URL.Path
		runtime.SkipBodyDownload(req) // readBodyPolicy has read it, bounded
		resp, err := c.pipeline.Do(req)
		if err != nil {
			return nil, classifyTransportError(ctx, path, err)
		}
		body, err := io.ReadAll(resp.Body) // already in memory
		resp.Body.Close()
		if err != nil {
			return nil, &Error{Reason: ReasonNetwork, Path: path, Err: err}
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 1 {
			if r, ok := c.cred.(*resettable); ok {
				r.Reset() // the policy dropped its token; the credential must not hand it back
			}
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, responseError(resp, body, path)
		}
		return body, nil
	}
}

// classifyTransportError names an error that came back without a response.
func classifyTransportError(ctx context.Context, path string, err error) error {
	var refused *refusedError
	var ge *Error
	reason := ReasonOf(err)
	switch {
	case errors.As(err, &refused):
		return &Error{Reason: refused.reason, Path: path, Err: refused}
	case errors.As(err, &ge): // from our credential wrapper: already classified
		return withPath(ge, path)
	case ctx.Err() != nil:
		reason = ReasonTimeout
	case reason == ReasonOther:
		reason = ReasonNetwork
	}
	return &Error{Reason: reason, Path: path, Err: err}
}
