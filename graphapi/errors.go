package graphapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

// Reason classifies a failed request or poll. The values are the
// `reason` label values of entra_authmethods_report_errors_total (docs/operations.md, Failure reasons).
type Reason string

const (
	ReasonAuth         Reason = "auth"         // no token: bad secret or certificate, unknown tenant, authority unreachable
	ReasonUnauthorized Reason = "unauthorized" // Graph answered 401
	ReasonForbidden    Reason = "forbidden"    // Graph answered 403: a permission is missing
	ReasonUnlicensed   Reason = "unlicensed"   // 403 because the tenant has no Entra ID P1/P2 licence
	ReasonThrottled    Reason = "throttled"    // 429 after every retry
	ReasonServer       Reason = "server"       // 5xx after every retry
	ReasonTimeout      Reason = "timeout"      // a request or the poll ran out of time
	ReasonNetwork      Reason = "network"      // connection refused, reset, DNS, TLS
	ReasonDecode       Reason = "decode"       // a body that is not the JSON we expect
	ReasonPaging       Reason = "paging"       // a nextLink we refuse to follow
	ReasonOther        Reason = "other"
)

// Reasons returns every Reason, for zero-filling counters.
func Reasons() []Reason {
	return []Reason{
		ReasonAuth, ReasonUnauthorized, ReasonForbidden, ReasonUnlicensed, ReasonThrottled,
		ReasonServer, ReasonTimeout, ReasonNetwork, ReasonDecode, ReasonPaging, ReasonOther,
	}
}

// Graph's error codes of a 403 that say more than "forbidden".
const (
	codeUnlicensed      = "Authentication_RequestFromNonPremiumTenantOrB2CTenant" // a tenant without a premium licence
	codeNoDirectoryRead = "Authentication_ApplicationHasNoDirectoryReadAccess"    // an app without Directory.Read.All
)

// Error is a failed Graph call, classified. It never holds a token or secret.
type Error struct {
	Reason     Reason
	StatusCode int    // 0 when no response arrived
	Code       string // Graph's error.code
	Message    string // Graph's error.message
	RequestID  string // Graph's request-id, for Microsoft support
	Path       string // request path, without the query
	Err        error  // the underlying error, if any
}

func (e *Error) Error() string {
	s := string(e.Reason)
	if e.Path != "" {
		s += ": GET " + e.Path
	}
	if e.StatusCode != 0 {
		s += ": HTTP " + strconv.Itoa(e.StatusCode)
	}
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request-id " + e.RequestID + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return redact.String(s) // whatever went into it, no credential comes out
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason for any error a Client returned.
func ReasonOf(err error) Reason {
	var ge *Error
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ge):
		return ge.Reason
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case ne != nil:
		return ReasonNetwork
	}
	return ReasonOther
}

// HintOf says in a few words what usually fixes err: its reason's hint,
// unless Graph's error code says more precisely what is missing.
func HintOf(err error) string {
	if e, ok := errors.AsType[*Error](err); ok && e.StatusCode == http.StatusForbidden && e.Code == codeNoDirectoryRead {
		return "grant the application permission Directory.Read.All and give admin consent"
	}
	return hints[ReasonOf(err)]
}

// hints say in a few words what usually fixes an error of each reason.
var hints = map[Reason]string{
	ReasonAuth:         "check tenant_id, client_id and the secret or certificate, and that the authority host is reachable",
	ReasonUnauthorized: "the token was refused; check that the app registration lives in this tenant and cloud",
	ReasonForbidden:    "grant the application permission this report needs (Reports.Read.All or AuditLog.Read.All) and give admin consent",
	ReasonUnlicensed:   "the tenant needs a Microsoft Entra ID P1 or P2 licence; app-only calls to the beta credential reports also need Directory.Read.All",
	ReasonThrottled:    "Graph throttled every retry; lower graph_rate_limit or raise poll_interval",
}

// refusedError is a try not sent (the tenant's limiter is paused for
// longer than a poll waits) or not read (a page past the byte cap): trying
// again would only be refused again, hence NonRetriable (azcore's marker).
type refusedError struct {
	reason Reason
	msg    string
}

func (e *refusedError) Error() string { return e.msg }

func (*refusedError) NonRetriable() {}

// responseError turns a non-2xx response (whose body was already read) into an *Error.
func responseError(resp *http.Response, body []byte, path string) *Error {
	e := &Error{StatusCode: resp.StatusCode, Path: path, RequestID: resp.Header.Get("request-id")}
	var ge struct { // Graph's documented error shape
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &ge) == nil {
		e.Code, e.Message = ge.Error.Code, ge.Error.Message
		e.RequestID = cmp.Or(ge.Error.InnerError.RequestID, e.RequestID)
	}
	// Graph's own words, but a hostile answer could say anything at any length.
	e.Code, e.Message, e.RequestID = redact.Cut(e.Code, 100), redact.Cut(e.Message, 300), redact.Cut(e.RequestID, 100)
	switch code := resp.StatusCode; {
	case code == http.StatusForbidden && e.Code == codeUnlicensed:
		e.Reason = ReasonUnlicensed
	case code >= 500:
		e.Reason = ReasonServer
	default:
		e.Reason = cmp.Or(statusReasons[code], ReasonOther)
	}
	return e
}

var statusReasons = map[int]Reason{
	http.StatusUnauthorized: ReasonUnauthorized, http.StatusForbidden: ReasonForbidden,
	http.StatusTooManyRequests: ReasonThrottled, http.StatusRequestTimeout: ReasonTimeout,
}
