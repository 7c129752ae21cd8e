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
	MaxRecords     int                    // records one page may have (default 10000)
	OnResponse     func(statusCode int)   // called for every HTTP response, retries included
	UserAgent      string                 // User-Agent of every Graph request
}

// Client reads reports from one tenant's Graph endpoint. It is safe for
// concurrent use, though the exporter reads one report at a time per tenant.
type Client struct {
	endpoint   *url.URL
	pipeline   runtime.Pipeline
	cred       azcore.TokenCredential
	maxPages   int
	maxRecords int
	retry      policy.RetryOptions
}

// DefaultMaxPages is the default cap on the pages one listing may read.
const DefaultMaxPages = 10000

// New returns a Client for o.Endpoint.
func New(o Options) (*Client, error) {
	ep, err := url.Parse(strings.TrimRight(o.Endpoint, "/"))
	if err != nil || ep.Scheme != "https" || ep.Host == "" {
		return nil, fmt.Errorf("graph endpoint %q: must be an absolute https URL", redact.Cut(o.Endpoint, 100))
	}
	if o.Credential == nil {
		return nil, errors.New("graph client: no credential")
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 60 * time.Second
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 5
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 30 * time.Second
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.MaxPageBytes <= 0 {
		o.MaxPageBytes = DefaultMaxPageBytes
	}
	if o.MaxRecords <= 0 {
		o.MaxRecords = DefaultMaxRecordsPerPage
	}
	cred := tokenDeadline{cred: o.Credential, timeout: o.RequestTimeout}
	bearer := runtime.NewBearerTokenPolicy(cred, []string{ep.String() + "/.default"}, nil)
	// A Retry-After past MaxRetryAfter is not waited out: the poll fails as
	// throttled at once, and the tenant's limiter holds its next requests
	// until then (azcore's MaxRetryDelay gives up on such an answer).
	retry := policy.RetryOptions{
		MaxRetries:    int32(o.MaxRetries),
		RetryDelay:    o.RetryDelay,
		MaxRetryDelay: o.MaxRetryAfter,
		StatusCodes:   retryStatusCodes,
	}
	pl := runtime.NewPipeline("entra-authmethods-exporter", "", runtime.PipelineOptions{
		PerCall: []policy.Policy{headersPolicy(o.UserAgent)},
		PerRetry: []policy.Policy{
			bearer,
			pacingPolicy(o.MaxRetryAfter, o.Limiter, o.AppLimiter),
			timeoutPolicy(o.RequestTimeout),
			observePolicy(o.OnResponse),
			retryAfterPolicy(o.Limiter),
			readBodyPolicy(o.MaxPageBytes),
		},
	}, &policy.ClientOptions{
		Transport: sameHostClient(o.HTTPClient),
		Retry:     retry,
		Telemetry: policy.TelemetryOptions{Disabled: true},
	})
	return &Client{endpoint: ep, pipeline: pl, cred: o.Credential, maxPages: o.MaxPages, maxRecords: o.MaxRecords, retry: retry}, nil
}

// retryStatusCodes are the answers worth trying again.
var retryStatusCodes = []int{408, 429, 500, 502, 503, 504}

// WithFewerRetries returns a context under which c's requests are retried
// once rather than MaxRetries times. A poller uses it for the rest of a round
// once a report has failed after every retry: Graph is most likely down,
// and a round of full backoffs would only delay saying so.
func (c *Client) WithFewerRetries(ctx context.Context) context.Context {
	r := c.retry
	r.MaxRetries = 1
	return policy.WithRetryOptions(ctx, r)
}

// sameHostClient returns an HTTP client that never follows a redirect to
// another host, so a bearer token cannot leave the Graph endpoint that way,
// and that cuts error bodies short.
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
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = errorBodies{base: base}
	return c
}

// url returns the absolute URL of a path below the endpoint. The path is
// sent as written, so OData function calls keep their literal parentheses
// and quotes (getCredentialUsageSummary(period='D30')) and query names
// their literal $ ($top=1000), as Graph's documentation writes them.
func (c *Client) url(path, query string) string {
	if query != "" {
		return c.endpoint.String() + path + "?" + query
	}
	return c.endpoint.String() + path
}

// get sends one GET through the pipeline and returns the body of a 2xx
// response. Other statuses become an *Error. A 401 is tried once more, with
// a token fetched anew.
func (c *Client) get(ctx context.Context, rawURL string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, &Error{Reason: ReasonOther, Err: err}
	}
	for attempt := 1; ; attempt++ {
		req, err := runtime.NewRequest(ctx, http.MethodGet, rawURL)
		if err != nil {
			return nil, &Error{Reason: ReasonOther, Path: u.Path, Err: err}
		}
		runtime.SkipBodyDownload(req) // readBodyPolicy has read it, bounded
		resp, err := c.pipeline.Do(req)
		if err != nil {
			return nil, classifyTransportError(ctx, u.Path, err)
		}
		body, err := io.ReadAll(resp.Body) // already in memory
		resp.Body.Close()
		if err != nil {
			return nil, &Error{Reason: ReasonNetwork, Path: u.Path, Err: err}
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 1 {
			if r, ok := c.cred.(resetter); ok {
				r.Reset() // the policy dropped its token; the credential must not hand it back
			}
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, responseError(resp, body, u.Path)
		}
		return body, nil
	}
}

// classifyTransportError names an error that came back without a response.
func classifyTransportError(ctx context.Context, path string, err error) error {
	var tooLarge *pageTooLargeError
	if errors.As(err, &tooLarge) {
		return &Error{Reason: ReasonPaging, Path: path, Err: tooLarge}
	}
	var paused *pausedError
	if errors.As(err, &paused) {
		return &Error{Reason: ReasonThrottled, Path: path, Err: paused}
	}
	var ge *Error
	if errors.As(err, &ge) { // from our credential wrapper: already classified
		if ge.Path == "" {
			ge.Path = path
		}
		return ge
	}
	reason := ReasonOf(err)
	if ctx.Err() != nil {
		reason = ReasonTimeout
	}
	if reason == ReasonOther {
		reason = ReasonNetwork
	}
	return &Error{Reason: reason, Path: path, Err: err}
}
