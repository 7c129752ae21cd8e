package fakegraph

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	mathrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// odataJSON is the Content-Type Graph sends with JSON bodies.
const odataJSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// serveGraph authenticates, throttles and routes a Graph request.
func (s *Server) serveGraph(w *recorder, r *http.Request) {
	s.requestIDs(w, r)
	w.Header().Set("Strict-Transport-Security", "max-age=31536000")

	tenantID, reason := s.authenticate(r)
	if tenantID == "" {
		// Graph's challenge carries no claims, so azcore just reports the 401.
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+s.url+`/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
		s.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", reason, nil)
		return
	}
	w.tenant = tenantID
	t := s.tenant(tenantID)

	// Graph throttles the reports and the directory reads (groups) with
	// separate budgets, so each has its own window.
	serve, directory := s.route(r.URL.Path)
	window, limit, per := tenantID, s.opts.RateLimit, s.opts.RatePer
	if directory {
		window, limit, per = tenantID+"\x00directory", s.opts.DirectoryRateLimit, s.opts.DirectoryRatePer
	}
	if wait, ok := s.admit(window, limit, per, time.Now()); !ok {
		// Round up so a client that waits exactly Retry-After gets a slot.
		ms := max(1, int64(math.Ceil(float64(wait)/float64(time.Millisecond))))
		w.Header().Set("Retry-After", strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64))
		s.graphError(w, r, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.", &innerError{
			Code: "429", Message: "Please retry after", Status: "429",
		})
		return
	}

	if d := s.latency(); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}

	switch {
	case serve == nil:
		s.graphError(w, r, http.StatusNotFound, "ResourceNotFound", "Resource not found for the segment '"+lastSegment(r.URL.Path)+"'.", nil)
	case r.Method != http.MethodGet:
		w.Header().Set("Allow", http.MethodGet)
		s.graphError(w, r, http.StatusMethodNotAllowed, "BadRequest", "Specified HTTP method is not allowed for the request target.", nil)
	case t.Unlicensed && !directory:
		s.graphError(w, r, http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license", nil)
	default:
		d := t.Data
		if d == nil {
			d = &Data{}
		}
		g := &graphCtx{s: s, w: w, r: r, t: t, d: d, enums: preferUnknownEnums(r)}
		if g.enums {
			w.Header().Set("Preference-Applied", "include-unknown-enum-members")
		}
		if !g.serveAttack() {
			serve(g)
		}
	}
}

// latency is how long to hold this answer: uniform in [MinLatency, MaxLatency].
func (s *Server) latency() time.Duration {
	lo, hi := s.opts.MinLatency, s.opts.MaxLatency
	if hi <= lo {
		return lo
	}
	return lo + mathrand.N(hi-lo)
}

// authenticate maps the bearer token to its tenant, or explains why not.
func (s *Server) authenticate(r *http.Request) (tenant, reason string) {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", "Access token is empty."
	}
	s.mu.Lock()
	it, ok := s.tokens[tok]
	s.mu.Unlock()
	switch {
	case !ok:
		return "", "Access token validation failure. Invalid audience."
	case time.Now().After(it.expires):
		return "", "Lifetime validation failed, the token is expired."
	}
	return it.tenant, ""
}

// admit applies a sliding window of at most limit requests per per (0: no
// limit); key names the window (a tenant's reports, or its directory
// reads). Only admitted requests take a slot, so a client that honours
// Retry-After is not locked out.
func (s *Server) admit(key string, limit int, per time.Duration, now time.Time) (time.Duration, bool) {
	if limit <= 0 {
		return 0, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	win := s.windows[key]
	cut := now.Add(-per)
	i := 0
	for i < len(win) && !win[i].After(cut) {
		i++
	}
	win = win[i:]
	if len(win) < limit {
		s.windows[key] = append(win, now)
		return 0, true
	}
	s.windows[key] = win
	return win[len(win)-limit].Add(per).Sub(now), false
}

// preferUnknownEnums reports whether the client opted in to evolvable enum
// members added after unknownFutureValue.
func preferUnknownEnums(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "include-unknown-enum-members") {
				return true
			}
		}
	}
	return false
}

// requestIDs sets Graph's correlation headers once per response: a fresh
// request-id, and the client's client-request-id echoed (or the request-id).
func (s *Server) requestIDs(w http.ResponseWriter, r *http.Request) (reqID, clientReqID string) {
	reqID = w.Header().Get("request-id")
	if reqID == "" {
		reqID = newUUID()
		w.Header().Set("request-id", reqID)
	}
	clientReqID = w.Header().Get("client-request-id")
	if clientReqID == "" {
		clientReqID = r.Header.Get("client-request-id")
		if clientReqID == "" {
			clientReqID = reqID
		}
		w.Header().Set("client-request-id", clientReqID)
	}
	return reqID, clientReqID
}

type innerError struct {
	Code            string `json:"code,omitempty"`
	Date            string `json:"date"`
	Message         string `json:"message,omitempty"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
	Status          string `json:"status,omitempty"`
}

// graphError writes Graph's documented error shape.
func (s *Server) graphError(w http.ResponseWriter, r *http.Request, status int, code, message string, inner *innerError) {
	reqID, clientReqID := s.requestIDs(w, r)
	if inner == nil {
		inner = &innerError{}
	}
	inner.Date = time.Now().UTC().Format("2006-01-02T15:04:05")
	inner.RequestID, inner.ClientRequestID = reqID, clientReqID
	type body struct {
		Code       string      `json:"code"`
		Message    string      `json:"message"`
		InnerError *innerError `json:"innerError"`
	}
	w.Header().Set("Content-Type", odataJSON)
	writeJSON(w, status, struct {
		Error body `json:"error"`
	}{body{code, message, inner}})
}

// writeJSON sends v without HTML escaping: Graph writes the '&' of a
// nextLink as is, not as \u0026.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func firstSegment(p string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return seg
}

func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

// newUUID is a random version-4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return formatUUID(b)
}

// stableUUID derives a UUID from its parts, for ids that must not change
// between polls (Graph's ids are stable).
func stableUUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	var b [16]byte
	copy(b[:], sum[:])
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
