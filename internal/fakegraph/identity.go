package fakegraph

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" // #nosec G505: x5t is defined as a SHA-1 thumbprint
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

var (
	discoveryPath = regexp.MustCompile(`^/([^/]+)/v2\.0/\.well-known/openid-configuration$`)
	tokenPath     = regexp.MustCompile(`^/([^/]+)/oauth2/v2\.0/token$`)
)

// tokenLifetime is what Entra grants app-only tokens (3599 s).
const tokenLifetime = 3599 * time.Second

// serveIdentity answers the identity platform endpoints MSAL uses for the
// client-credentials flow.
func (s *Server) serveIdentity(w *recorder, r *http.Request) {
	if m := discoveryPath.FindStringSubmatch(r.URL.Path); m != nil {
		w.tenant = m[1]
		t := s.tenant(m[1])
		switch {
		case t == nil:
			s.aadError(w, r, http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFound(m[1]))
		case r.Method != http.MethodGet:
			w.tenant = t.TenantID
			w.Header().Set("Allow", http.MethodGet)
			s.aadError(w, r, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts GET requests.")
		default:
			w.tenant = t.TenantID
			s.discovery(w, t)
		}
		return
	}
	if m := tokenPath.FindStringSubmatch(r.URL.Path); m != nil {
		w.tenant = m[1]
		if t := s.tenant(m[1]); t == nil {
			s.aadError(w, r, http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFound(m[1]))
		} else {
			w.tenant = t.TenantID
			s.token(w, r, t)
		}
		return
	}
	s.graphError(w, r, http.StatusNotFound, "ResourceNotFound", "Resource not found for the segment '"+firstSegment(r.URL.Path)+"'.", nil)
}

func tenantNotFound(id string) string {
	return fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", id)
}

// discovery is the tenant's OpenID configuration. MSAL requires
// authorization_endpoint, token_endpoint and issuer, and the issuer's host
// must equal the authority's host.
func (s *Server) discovery(w http.ResponseWriter, t *Tenant) {
	base := s.url + "/" + t.TenantID
	doc := struct {
		TokenEndpoint        string   `json:"token_endpoint"`
		TokenAuthMethods     []string `json:"token_endpoint_auth_methods_supported"`
		JWKSURI              string   `json:"jwks_uri"`
		ResponseModes        []string `json:"response_modes_supported"`
		SubjectTypes         []string `json:"subject_types_supported"`
		IDTokenAlgs          []string `json:"id_token_signing_alg_values_supported"`
		ResponseTypes        []string `json:"response_types_supported"`
		Scopes               []string `json:"scopes_supported"`
		Issuer               string   `json:"issuer"`
		RequestURIParam      bool     `json:"request_uri_parameter_supported"`
		UserinfoEndpoint     string   `json:"userinfo_endpoint"`
		AuthorizationEnpoint string   `json:"authorization_endpoint"`
		DeviceAuthEndpoint   string   `json:"device_authorization_endpoint"`
		EndSessionEndpoint   string   `json:"end_session_endpoint"`
		TenantRegionScope    string   `json:"tenant_region_scope"`
		CloudInstanceName    string   `json:"cloud_instance_name"`
		MSGraphHost          string   `json:"msgraph_host"`
	}{
		TokenEndpoint:        base + "/oauth2/v2.0/token",
		TokenAuthMethods:     []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		JWKSURI:              base + "/discovery/v2.0/keys",
		ResponseModes:        []string{"query", "fragment", "form_post"},
		SubjectTypes:         []string{"pairwise"},
		IDTokenAlgs:          []string{"RS256"},
		ResponseTypes:        []string{"code", "id_token", "code id_token", "id_token token"},
		Scopes:               []string{"openid", "profile", "email", "offline_access"},
		Issuer:               base + "/v2.0",
		UserinfoEndpoint:     s.url + "/oidc/userinfo",
		AuthorizationEnpoint: base + "/oauth2/v2.0/authorize",
		DeviceAuthEndpoint:   base + "/oauth2/v2.0/devicecode",
		EndSessionEndpoint:   base + "/oauth2/v2.0/logout",
		TenantRegionScope:    "EU",
		CloudInstanceName:    "microsoftonline.com",
		MSGraphHost:          strings.TrimPrefix(s.url, "https://"),
	}
	writeJSON(w, http.StatusOK, doc)
}

// token implements the client-credentials grant with a secret or a
// certificate assertion.
func (s *Server) token(w http.ResponseWriter, r *http.Request, t *Tenant) {
	if r.Method != http.MethodPost {
		s.aadError(w, r, http.StatusBadRequest, "invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a "+r.Method+" request.")
		return
	}
	if s.serveTokenAttack(t, w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok { // client_secret_basic
		clientID, secret = u, p
	}
	switch {
	case f.Get("grant_type") == "":
		s.aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	case f.Get("grant_type") != "client_credentials":
		s.aadError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+f.Get("grant_type")+"'.")
		return
	case clientID == "":
		s.aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	case !strings.EqualFold(clientID, t.ClientID):
		s.aadError(w, r, http.StatusUnauthorized, "invalid_client", 700016, fmt.Sprintf(
			"AADSTS700016: Application with identifier '%s' was not found in the directory '%s'. You may have sent your authentication request to the wrong tenant.", clientID, t.TenantID))
		return
	}

	switch assertion := f.Get("client_assertion"); {
	case assertion != "":
		aud := []string{s.url + r.URL.Path, s.url + "/" + t.TenantID + "/oauth2/v2.0/token"}
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			s.aadError(w, r, http.StatusBadRequest, "invalid_request", 50027, "AADSTS50027: JWT token is invalid or malformed: unsupported client_assertion_type.")
			return
		}
		if err := verifyAssertion(assertion, t.ClientCertificate, t.ClientID, aud, time.Now()); err != nil {
			s.aadError(w, r, http.StatusUnauthorized, "invalid_client", 700027, "AADSTS700027: Client assertion failed signature validation: "+err.Error()+".")
			return
		}
	case secret != "":
		if t.ClientSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(t.ClientSecret)) != 1 {
			s.aadError(w, r, http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
				"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", t.ClientID))
			return
		}
	default:
		s.aadError(w, r, http.StatusUnauthorized, "invalid_client", 7000218, "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}

	if !s.graphScope(f.Get("scope")) {
		s.aadError(w, r, http.StatusBadRequest, "invalid_scope", 70011, fmt.Sprintf(
			"AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid. Expected %s/.default.", f.Get("scope"), s.url))
		return
	}

	tok, err := s.IssueToken(t.TenantID)
	if err != nil {
		s.aadError(w, r, http.StatusInternalServerError, "server_error", 50000, "AADSTS50000: There was an error issuing a token.")
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, struct {
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
		ExtExpiresIn int    `json:"ext_expires_in"`
		AccessToken  string `json:"access_token"`
	}{"Bearer", int(tokenLifetime / time.Second), int(tokenLifetime / time.Second), tok})
}

// graphScope reports whether scope asks for Graph's .default scope. MSAL
// always appends "openid offline_access profile", which Entra ignores for
// app-only tokens, so those are ignored here too.
func (s *Server) graphScope(scope string) bool {
	var rest []string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "offline_access", "profile":
		default:
			rest = append(rest, sc)
		}
	}
	return len(rest) == 1 && rest[0] == s.GraphEndpoint()+"/.default"
}

// IssueToken returns a fresh Graph access token for the tenant, as the
// token endpoint would, for tests that skip azidentity.
func (s *Server) IssueToken(tenantID string) (string, error) {
	t := s.tenant(tenantID)
	if t == nil {
		return "", fmt.Errorf("fakegraph: unknown tenant %q", tenantID)
	}
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	now := time.Now()
	s.mu.Lock()
	for old, it := range s.tokens { // forget expired tokens, so a long demo does not grow
		if now.After(it.expires) {
			delete(s.tokens, old)
		}
	}
	s.tokens[tok] = issuedToken{tenant: t.TenantID, expires: now.Add(tokenLifetime)}
	s.mu.Unlock()
	return tok, nil
}

// verifyAssertion checks a client assertion the way MSAL builds it: an
// RS256/PS256 JWT whose x5t/x5t#S256 names cert, signed by cert's key, with
// iss = sub = client ID, aud = the token endpoint and exp in the future.
func verifyAssertion(jwt string, cert *x509.Certificate, clientID string, audiences []string, now time.Time) error {
	if cert == nil {
		return errors.New("no certificate is registered for the application")
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("the assertion is not a compact JWS")
	}
	var hdr struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Aud string      `json:"aud"`
		Iss string      `json:"iss"`
		Sub string      `json:"sub"`
		Exp json.Number `json:"exp"`
		Nbf json.Number `json:"nbf"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return errors.New("the assertion header is malformed")
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return errors.New("the assertion payload is malformed")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errors.New("the assertion signature is malformed")
	}

	s256 := sha256.Sum256(cert.Raw)
	s1 := sha1.Sum(cert.Raw) // #nosec G401
	if !thumbprintIs(hdr.X5tS256, s256[:]) && !thumbprintIs(hdr.X5t, s1[:]) {
		return errors.New("the certificate thumbprint does not match the registered certificate")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("only RSA certificates are supported")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch hdr.Alg {
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	default:
		err = fmt.Errorf("unsupported alg %q", hdr.Alg)
	}
	if err != nil {
		return errors.New("the signature does not verify")
	}

	if claims.Iss != clientID || claims.Sub != clientID {
		return errors.New("iss and sub must be the client ID")
	}
	audOK := false
	for _, a := range audiences {
		audOK = audOK || strings.EqualFold(claims.Aud, a)
	}
	if !audOK {
		return fmt.Errorf("invalid audience %q", claims.Aud)
	}
	exp, err := claims.Exp.Int64()
	if err != nil || now.Unix() >= exp {
		return errors.New("the assertion is expired")
	}
	// Entra allows some clock skew on nbf; five minutes is plenty here.
	if nbf, err := claims.Nbf.Int64(); err == nil && nbf > now.Add(5*time.Minute).Unix() {
		return errors.New("the assertion is not yet valid")
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// thumbprintIs compares a base64 thumbprint with sum. MSAL encodes it with
// padded standard base64; RFC 7515 says base64url: accept both.
func thumbprintIs(b64 string, sum []byte) bool {
	if b64 == "" {
		return false
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(b64); err == nil && subtle.ConstantTimeCompare(b, sum) == 1 {
			return true
		}
	}
	return false
}

// aadError writes the identity platform's OAuth error body.
func (s *Server) aadError(w http.ResponseWriter, r *http.Request, status int, code string, aadsts int, desc string) {
	now := time.Now().UTC()
	trace := newUUID()
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = newUUID()
	}
	if !strings.HasPrefix(desc, "AADSTS") {
		desc = fmt.Sprintf("AADSTS%d: %s", aadsts, desc)
	}
	desc += fmt.Sprintf(" Trace ID: %s Correlation ID: %s Timestamp: %s", trace, corr, now.Format("2006-01-02 15:04:05Z"))
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("client-request-id", corr)
	w.Header().Set("x-ms-request-id", trace)
	writeJSON(w, status, struct {
		Error         string `json:"error"`
		Description   string `json:"error_description"`
		Codes         []int  `json:"error_codes"`
		Timestamp     string `json:"timestamp"`
		TraceID       string `json:"trace_id"`
		CorrelationID string `json:"correlation_id"`
		ErrorURI      string `json:"error_uri"`
	}{code, desc, []int{aadsts}, now.Format("2006-01-02 15:04:05Z"), trace, corr, fmt.Sprintf("%s/error?code=%d", s.url, aadsts)})
}
