package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

// Reason classifies a failed request or poll. The values are the
// `reason` label values of entra_authmethods_report_errors_total (README, Metrics).
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

// reasons lists every Reason, for zero-filling counters.
var reasons = []Reason{
	ReasonAuth, ReasonUnauthorized, ReasonForbidden, ReasonUnlicensed, ReasonThrottled,
	ReasonServer, ReasonTimeout, ReasonNetwork, ReasonDecode, ReasonPaging, ReasonOther,
}

// Reasons returns every Reason (a copy), for zero-filling counters.
func Reasons() []Reason { return slices.Clone(reasons) }

// codeUnlicensed is the error code Graph sends to tenants without a premium licence.
const codeUnlicensed = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"

// codeNoDirectoryRead is the 403 an app gets without Directory.Read.All.
const codeNoDirectoryRead = "Authentication_ApplicationHasNoDirectoryReadAccess"

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
	var b strings.Builder
	b.WriteString(string(e.Reason))
	if e.Path != "" {
		b.WriteString(": GET ")
		b.WriteString(e.Path)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request-id %s)", e.RequestID)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return redact.String(b.String()) // whatever went into it, no credential comes out
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason for any error a Client returned.
func ReasonOf(err error) Reason {
	var ge *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ge):
		return ge.Reason
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return ReasonTimeout
		}
		return ReasonNetwork
	}
	return ReasonOther
}

// HintOf says in a few words what usually fixes err: its reason's hint,
// unless Graph's error code says more precisely what is missing.
func HintOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.StatusCode == http.StatusForbidden && e.Code == codeNoDirectoryRead {
		return "grant the application permission Directory.Read.All and give admin consent"
	}
	return ReasonOf(err).Hint()
}

// Hint says in a few words what usually fixes an error of this reason.
func (r Reason) Hint() string {
	switch r {
	case ReasonAuth:
		return "check tenant_id, client_id and the secret or certificate, and that the authority host is reachable"
	case ReasonUnauthorized:
		return "the token was refused; check that the app registration lives in this tenant and cloud"
	case ReasonForbidden:
		return "grant the application permission this report needs (Reports.Read.All or AuditLog.Read.All) and give admin consent"
	case ReasonUnlicensed:
		return "the tenant needs a Microsoft Entra ID P1 or P2 licence; app-only calls to the beta credential reports also need Directory.Read.All"
	case ReasonThrottled:
		return "Graph throttled every retry; lower graph_rate_limit or raise poll_interval"
	}
	return ""
}

// graphErrorBody is Graph's documented error shape.
type graphErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// responseError turns a non-2xx response (whose body was already read) into an *Error.
func responseError(resp *http.Response, body []byte, path string) *Error {
	e := &Error{StatusCode: resp.StatusCode, Path: path, RequestID: resp.Header.Get("request-id")}
	var ge graphErrorBody
	if json.Unmarshal(body, &ge) == nil {
		e.Code, e.Message = ge.Error.Code, ge.Error.Message
		if id := ge.Error.InnerError.RequestID; id != "" {
			e.RequestID = id
		}
	}
	// Graph's own words, but a hostile answer could say anything at any length.
	e.Code, e.Message, e.RequestID = redact.Cut(e.Code, 100), redact.Cut(e.Message, 300), redact.Cut(e.RequestID, 100)
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		e.Reason = ReasonUnauthorized
	case code == http.StatusForbidden && e.Code == codeUnlicensed:
		e.Reason = ReasonUnlicensed
	case code == http.StatusForbidden:
		e.Reason = ReasonForbidden
	case code == http.StatusTooManyRequests:
		e.Reason = ReasonThrottled
	case code == http.StatusRequestTimeout:
		e.Reason = ReasonTimeout
	case code >= 500:
		e.Reason = ReasonServer
	default:
		e.Reason = ReasonOther
	}
	return e
}
