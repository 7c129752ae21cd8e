package fakegraph

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	tenantID = "11111111-2222-3333-4444-555555555555"
	clientID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	secret   = "s3cr3t~value"
)

var fixedNow = time.Date(2025, 7, 16, 16, 19, 18, 0, time.UTC)

func newServer(t *testing.T, opts Options, users int) *Server {
	t.Helper()
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.AddTenant(&Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: secret, Data: Synthetic(1, users, fixedNow)})
	return s
}

func clientOptions(s *Server) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost()},
		Transport: s.Client(),
	}
}

func secretToken(s *Server, tenant, client, sec string) (string, error) {
	cred, err := azidentity.NewClientSecretCredential(tenant, client, sec, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: clientOptions(s), DisableInstanceDiscovery: true,
	})
	if err != nil {
		return "", err
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{s.GraphEndpoint() + "/.default"}})
	return tok.Token, err
}

func mustToken(t *testing.T, s *Server) string {
	t.Helper()
	tok, err := s.IssueToken(tenantID)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// get sends a Graph GET and decodes the JSON body into a generic map.
func get(t *testing.T, s *Server, token, pathOrURL string, hdr ...string) (*http.Response, map[string]any) {
	t.Helper()
	u := pathOrURL
	if strings.HasPrefix(u, "/") {
		u = s.GraphEndpoint() + u
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("GET %s: %d %q: %v", u, resp.StatusCode, body, err)
	}
	return resp, m
}

func errorCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func values(m map[string]any) []map[string]any {
	var out []map[string]any
	vs, _ := m["value"].([]any)
	for _, v := range vs {
		out = append(out, v.(map[string]any))
	}
	return out
}

func TestClientSecretCredential(t *testing.T) {
	s := newServer(t, Options{}, 20)
	tok, err := secretToken(s, tenantID, clientID, secret)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, s, tok, "/v1.0/reports/authenticationMethods/userRegistrationDetails")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, body)
	}
	if got := len(values(body)); got != 20 {
		t.Errorf("got %d users, want 20", got)
	}
	if resp.Header.Get("request-id") == "" || resp.Header.Get("client-request-id") == "" {
		t.Errorf("missing correlation headers: %v", resp.Header)
	}
	if ctx, _ := body["@odata.context"].(string); !strings.HasPrefix(ctx, s.GraphEndpoint()+"/v1.0/$metadata#") {
		t.Errorf("@odata.context = %q", ctx)
	}

	var paths []string
	for _, r := range s.Requests() {
		paths = append(paths, r.Method+" "+r.Path)
		if r.Tenant != tenantID || r.Status != http.StatusOK {
			t.Errorf("request %s %s: tenant %q status %d", r.Method, r.Path, r.Tenant, r.Status)
		}
	}
	want := []string{
		"GET /" + tenantID + "/v2.0/.well-known/openid-configuration",
		"POST /" + tenantID + "/oauth2/v2.0/token",
		"GET /v1.0/reports/authenticationMethods/userRegistrationDetails",
	}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("requests:\n got %q\nwant %q", paths, want)
	}
}

func TestCredentialFailures(t *testing.T) {
	s := newServer(t, Options{}, 1)
	for name, tc := range map[string]struct{ tenant, client, secret, want string }{
		"wrong secret":   {tenantID, clientID, "nope", "AADSTS7000215"},
		"wrong client":   {tenantID, "99999999-bbbb-cccc-dddd-eeeeeeeeeeee", secret, "AADSTS700016"},
		"unknown tenant": {"99999999-2222-3333-4444-555555555555", clientID, secret, "AADSTS90002"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := secretToken(s, tc.tenant, tc.client, tc.secret)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}

	// The wrong secret is a 401 invalid_client, as Entra sends it.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {"nope"}, "scope": {s.GraphEndpoint() + "/.default"}}
	resp, err := s.Client().PostForm(s.URL()+"/"+tenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error      string `json:"error"`
		ErrorCodes []int  `json:"error_codes"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || body.Error != "invalid_client" || !reflect.DeepEqual(body.ErrorCodes, []int{7000215}) {
		t.Errorf("wrong secret: %d %+v", resp.StatusCode, body)
	}

	// A scope other than Graph's .default is refused.
	form.Set("client_secret", secret)
	form.Set("scope", "https://graph.microsoft.com/.default")
	resp, err = s.Client().PostForm(s.URL()+"/"+tenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || body.Error != "invalid_scope" {
		t.Errorf("wrong scope: %d %+v", resp.StatusCode, body)
	}
}

func selfSigned(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestClientCertificateCredential(t *testing.T) {
	s := newServer(t, Options{}, 1)
	cert, key := selfSigned(t)
	other, otherKey := selfSigned(t)
	s.AddTenant(&Tenant{TenantID: tenantID, ClientID: clientID, ClientCertificate: cert, Data: Synthetic(1, 1, fixedNow)})

	getToken := func(c *x509.Certificate, k *rsa.PrivateKey) error {
		cred, err := azidentity.NewClientCertificateCredential(tenantID, clientID, []*x509.Certificate{c}, k,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true})
		if err != nil {
			return err
		}
		_, err = cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{s.GraphEndpoint() + "/.default"}})
		return err
	}
	if err := getToken(cert, key); err != nil {
		t.Fatalf("registered certificate: %v", err)
	}
	if err := getToken(other, otherKey); err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Fatalf("other certificate: err = %v, want AADSTS700027", err)
	}
}

// walk follows nextLinks from path and returns the rows and the number of pages.
func walk(t *testing.T, s *Server, token, path string) (rows []map[string]any, pages int, links []string) {
	t.Helper()
	next := path
	for next != "" {
		resp, body := get(t, s, token, next)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", next, resp.StatusCode, body)
		}
		pages++
		rows = append(rows, values(body)...)
		next, _ = body["@odata.nextLink"].(string)
		if next != "" {
			links = append(links, next)
		}
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
	}
	return rows, pages, links
}

func TestPaging(t *testing.T) {
	s := newServer(t, Options{PageSize: 7}, 50)
	tok := mustToken(t, s)
	const path = "/v1.0/reports/authenticationMethods/userRegistrationDetails"

	rows, pages, links := walk(t, s, tok, path)
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r["id"].(string)] = true
	}
	if len(rows) != 50 || len(ids) != 50 || pages != 8 {
		t.Errorf("got %d rows (%d distinct) in %d pages, want 50 in 8", len(rows), len(ids), pages)
	}
	for _, l := range links {
		if !strings.HasPrefix(l, s.GraphEndpoint()+path+"?") || !strings.Contains(l, "$skiptoken=") {
			t.Errorf("nextLink %q", l)
		}
	}
	last := rows[len(rows)-1]
	if ts, _ := last["lastUpdatedDateTime"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$`).MatchString(ts) {
		t.Errorf("lastUpdatedDateTime %q", ts)
	}

	// A smaller $top is followed and kept in the nextLink; a larger one is capped.
	rows, pages, links = walk(t, s, tok, path+"?$top=5")
	if len(rows) != 50 || pages != 10 || !strings.Contains(links[0], "$top=5") {
		t.Errorf("$top=5: %d rows in %d pages, first link %q", len(rows), pages, links[0])
	}
	if _, pages, _ = walk(t, s, tok, path+"?$top=20"); pages != 8 {
		t.Errorf("$top=20: %d pages, want 8 (PageSize)", pages)
	}

	resp, body := get(t, s, tok, path+"?$top=x")
	if resp.StatusCode != http.StatusBadRequest || errorCode(body) != "BadRequest" {
		t.Errorf("$top=x: %d %v", resp.StatusCode, body)
	}
	resp, body = get(t, s, tok, path+"?$skiptoken=garbage")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad skiptoken: %d %v", resp.StatusCode, body)
	}
}

func TestPagedReports(t *testing.T) {
	s := newServer(t, Options{PageSize: 100}, 300)
	tok := mustToken(t, s)
	d := Synthetic(1, 300, fixedNow)
	for path, want := range map[string]int{
		"/beta/reports/credentialUserRegistrationDetails":                         len(d.CredentialDetails),
		"/beta/reports/userCredentialUsageDetails":                                len(d.CredentialUsage),
		"/beta/reports/authenticationMethods/userRegistrationDetails":             len(d.Users),
		"/beta/reports/authenticationMethods/userEventsSummary":                   len(d.Events),
		"/beta/reports/authenticationMethods/userMfaSignInSummary":                30,
		"/beta/reports/authenticationMethods/userPasswordResetsAndChangesSummary": 30,
	} {
		rows, _, _ := walk(t, s, tok, path)
		if len(rows) != want {
			t.Errorf("%s: %d rows, want %d", path, len(rows), want)
		}
	}
}

func TestThrottling(t *testing.T) {
	s := newServer(t, Options{RateLimit: 3, RatePer: 2 * time.Second}, 5)
	tok := mustToken(t, s)
	const path = "/beta/reports/authenticationMethods/userMfaSignInSummary"
	for i := range 3 {
		if resp, body := get(t, s, tok, path); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %v", i, resp.StatusCode, body)
		}
	}
	// Token requests do not count toward the limit.
	if _, err := secretToken(s, tenantID, clientID, secret); err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, s, tok, path)
	if resp.StatusCode != http.StatusTooManyRequests || errorCode(body) != "TooManyRequests" {
		t.Fatalf("4th request: %d %v", resp.StatusCode, body)
	}
	ra := resp.Header.Get("Retry-After")
	if !regexp.MustCompile(`^\d+\.\d{3}$`).MatchString(ra) {
		t.Fatalf("Retry-After %q is not fractional seconds", ra)
	}
	wait, _ := strconv.ParseFloat(ra, 64)
	if wait <= 0 || wait > 2 {
		t.Fatalf("Retry-After %v out of range", wait)
	}
	time.Sleep(time.Duration(wait * float64(time.Second)))
	if resp, body := get(t, s, tok, path); resp.StatusCode != http.StatusOK {
		t.Fatalf("after Retry-After: %d %v", resp.StatusCode, body)
	}
}

func TestRegistrationCountKeys(t *testing.T) {
	s := newServer(t, Options{}, 40)
	tok := mustToken(t, s)
	check := func(path, statusKey, countKey string) {
		t.Helper()
		resp, body := get(t, s, tok, path)
		v := values(body)
		if resp.StatusCode != http.StatusOK || len(v) != 1 || v[0]["totalUserCount"] != float64(40) {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, body)
		}
		counts := v[0]["userRegistrationCounts"].([]any)
		c := counts[0].(map[string]any)
		if _, ok := c[statusKey]; !ok || len(c) != 2 {
			t.Errorf("%s: count %v, want keys %s and %s", path, c, statusKey, countKey)
		}
		if _, ok := c[countKey]; !ok {
			t.Errorf("%s: count %v, want key %s", path, c, countKey)
		}
	}
	check("/beta/reports/getCredentialUserRegistrationCount", "registrationStatus", "registrationCount")
	s.AddTenant(&Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: secret, TypoKeys: true, Data: Synthetic(1, 40, fixedNow)})
	check("/beta/reports/getCredentialUserRegistrationCount()", "userRegistrationStatus", "userRegistationCount")
}

func TestUnlicensed(t *testing.T) {
	s := newServer(t, Options{}, 1)
	s.AddTenant(&Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: secret, Unlicensed: true})
	tok := mustToken(t, s)
	resp, body := get(t, s, tok, "/v1.0/reports/authenticationMethods/userRegistrationDetails", "client-request-id", "abc")
	if resp.StatusCode != http.StatusForbidden || errorCode(body) != "Authentication_RequestFromNonPremiumTenantOrB2CTenant" {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	inner := body["error"].(map[string]any)["innerError"].(map[string]any)
	if inner["request-id"] != resp.Header.Get("request-id") || inner["client-request-id"] != "abc" || resp.Header.Get("client-request-id") != "abc" {
		t.Errorf("innerError %v, headers %v", inner, resp.Header)
	}
}

func TestPreferUnknownEnumMembers(t *testing.T) {
	s := newServer(t, Options{PageSize: 1000}, 200)
	tok := mustToken(t, s)
	const path = "/beta/reports/authenticationMethods/userEventsSummary"

	methods := func(hdr ...string) map[string]bool {
		resp, body := get(t, s, tok, path, hdr...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
		m := map[string]bool{}
		for _, v := range values(body) {
			m[v["authMethod"].(string)] = true
		}
		return m
	}
	plain := methods()
	for m := range plain {
		if !legacyUsageAuthMethods[m] {
			t.Errorf("without Prefer: got %q", m)
		}
	}
	if !plain["unknownFutureValue"] {
		t.Error("without Prefer: no unknownFutureValue")
	}
	full := methods("Prefer", "odata.maxpagesize=100, include-unknown-enum-members")
	if !full["passKeyDeviceBound"] || !full["microsoftAuthenticatorPush"] || full["unknownFutureValue"] {
		t.Errorf("with Prefer: %v", full)
	}
	if r := s.Requests(); !strings.Contains(r[len(r)-1].Prefer, "include-unknown-enum-members") {
		t.Errorf("Prefer not recorded: %+v", r[len(r)-1])
	}
}

func TestGraphErrors(t *testing.T) {
	s := newServer(t, Options{}, 30)
	tok := mustToken(t, s)
	for _, tc := range []struct {
		token, path string
		status      int
		code        string
	}{
		{"", "/beta/reports/getCredentialUserRegistrationCount", 401, "InvalidAuthenticationToken"},
		{"bogus", "/beta/reports/getCredentialUserRegistrationCount", 401, "InvalidAuthenticationToken"},
		{tok, "/beta/reports/nothingHere", 404, "ResourceNotFound"},
		{tok, "/beta/reports/getCredentialUsageSummary(period='D2')", 400, "BadRequest"},
	} {
		resp, body := get(t, s, tc.token, tc.path)
		if resp.StatusCode != tc.status || errorCode(body) != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.path, resp.StatusCode, body, tc.status, tc.code)
		}
	}
	_, body := get(t, s, "", "/beta/reports/getCredentialUserRegistrationCount")
	if msg := body["error"].(map[string]any)["message"]; msg != "Access token is empty." {
		t.Errorf("message %q", msg)
	}

	req, _ := http.NewRequest(http.MethodPost, s.GraphEndpoint()+"/beta/reports/credentialUserRegistrationDetails", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}

	// Period is case-insensitive.
	resp, body = get(t, s, tok, "/beta/reports/getCredentialUsageSummary(period='d30')", "Prefer", "include-unknown-enum-members")
	if resp.StatusCode != http.StatusOK || len(values(body)) == 0 {
		t.Errorf("period d30: %d %v", resp.StatusCode, body)
	}
}

func TestIntercept(t *testing.T) {
	s := newServer(t, Options{}, 1)
	tok := mustToken(t, s)
	s.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "userMfaSignInSummary") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	req, _ := http.NewRequest(http.MethodGet, s.GraphEndpoint()+"/beta/reports/authenticationMethods/userMfaSignInSummary", nil)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("intercepted: %d", resp.StatusCode)
	}
	s.SetIntercept(nil)
	if resp, _ := get(t, s, tok, "/beta/reports/authenticationMethods/userMfaSignInSummary"); resp.StatusCode != http.StatusOK {
		t.Errorf("after clearing: %d", resp.StatusCode)
	}

	// Dropping the connection simulates a network failure.
	s.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return false
		}
		conn.Close()
		return true
	})
	if resp, err := s.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("hijacked: got status %d, want an error", resp.StatusCode)
	}
	s.SetIntercept(nil)

	r := s.Requests()
	if len(r) < 3 || r[0].Status != http.StatusServiceUnavailable || r[1].Status != http.StatusOK || r[1].Tenant != tenantID || r[2].Status != 0 {
		t.Errorf("requests %+v", r)
	}
}

func TestSynthetic(t *testing.T) {
	a, b := Synthetic(7, 1000, fixedNow), Synthetic(7, 1000, fixedNow)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Synthetic is not deterministic")
	}
	if reflect.DeepEqual(a, Synthetic(8, 1000, fixedNow)) {
		t.Fatal("the seed does not matter")
	}

	checkSyntheticUsers(t, a)
	checkSyntheticEvents(t, a)
	if len(a.MFASignIns) != 30 || !a.MFASignIns[0].CreatedDateTime.Equal(time.Date(2025, 7, 15, 0, 0, 0, 0, time.UTC)) || len(a.PasswordResets) != 30 {
		t.Errorf("daily rows: %d MFA (newest %v), %d resets", len(a.MFASignIns), a.MFASignIns[0].CreatedDateTime, len(a.PasswordResets))
	}
	for _, p := range []string{"D1", "D7", "D30"} {
		if len(a.UsageSummaries[p]) == 0 {
			t.Errorf("no usage summary for %s", p)
		}
	}
	if Synthetic(1, 0, fixedNow) == nil {
		t.Error("zero users")
	}
}

// checkSyntheticUsers: guests, admins and users without methods in
// plausible shares, consistent flags, counts that add up.
func checkSyntheticUsers(t *testing.T, a *Data) {
	t.Helper()
	var guests, admins, none int
	var registered int64
	for _, u := range a.Users {
		guests += int(b2i(u.UserType == "guest"))
		admins += int(b2i(u.IsAdmin))
		none += int(b2i(len(u.MethodsRegistered) == 0))
		registered += b2i(u.IsSsprRegistered)
		if u.IsMfaCapable && !u.IsMfaRegistered || u.IsSsprCapable && !u.IsSsprRegistered {
			t.Errorf("inconsistent flags: %+v", u)
		}
	}
	if guests < 60 || guests > 140 || admins < 10 || admins > 60 || none == 0 {
		t.Errorf("guests %d, admins %d, users without methods %d", guests, admins, none)
	}
	if a.TotalUserCount != 1000 || a.RegistrationCounts[0] != (RegistrationCount{"registered", registered}) {
		t.Errorf("counts %d %v, registered %d", a.TotalUserCount, a.RegistrationCounts, registered)
	}
}

// checkSyntheticEvents: times within the window but a few older, some
// duplicates, a share of failures with varied reasons.
func checkSyntheticEvents(t *testing.T, a *Data) {
	t.Helper()
	seen := map[Event]bool{}
	var dups, old, failed, noReason int
	reasons := map[string]bool{}
	for _, e := range a.Events {
		if seen[e] {
			dups++
		}
		seen[e] = true
		if e.EventDateTime.After(fixedNow) || e.EventDateTime.Nanosecond() != 0 {
			t.Errorf("bad event time %v", e.EventDateTime)
		}
		if e.EventDateTime.Before(fixedNow.Add(-30 * day)) {
			old++
		}
		if !e.IsSuccess {
			failed++
			reasons[e.FailureReason] = true
			noReason += int(b2i(e.FailureReason == ""))
		}
	}
	if n := len(a.Events); n < 500 || dups == 0 || old == 0 || noReason == 0 || len(reasons) < 6 || failed < n/10 || failed > n/5 {
		t.Errorf("events %d: dups %d, old %d, failed %d (%d without reason), reasons %d", n, dups, old, failed, noReason, len(reasons))
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	s, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	if _, err := s.Client().Get(s.URL()); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("server still answers after Close: %v", err)
	}
}

func TestCACertPEM(t *testing.T) {
	s := newServer(t, Options{}, 1)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatal("CACertPEM is not PEM")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	_, port, _ := strings.Cut(strings.TrimPrefix(s.URL(), "https://"), ":")
	for _, host := range []string{"127.0.0.1", "localhost"} {
		resp, err := (&http.Client{Transport: tr}).Get("https://" + host + ":" + port + "/" + tenantID + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", host, resp.StatusCode)
		}
	}
}

// TestConcurrentUse is for -race: requests while tenants are replaced.
func TestConcurrentUse(t *testing.T) {
	s := newServer(t, Options{PageSize: 10, RateLimit: 1000, RatePer: time.Second}, 50)
	tok := mustToken(t, s)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 5 {
				if i%4 == 0 {
					s.AddTenant(&Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: secret, Data: Synthetic(int64(i), 50, fixedNow)})
					s.Requests()
				}
				req, _ := http.NewRequest(http.MethodGet, s.GraphEndpoint()+"/beta/reports/authenticationMethods/userEventsSummary", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := s.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	if n := len(s.Requests()); n != 40 {
		t.Errorf("%d requests logged, want 40", n)
	}
}

// groupTenant serves one group, id groupID, of the given members, and users.
const groupID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"

func groupServer(t *testing.T, opts Options, tenant Tenant, members []Member, users []User) (*Server, string) {
	t.Helper()
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	tenant.TenantID, tenant.ClientID, tenant.ClientSecret = tenantID, clientID, secret
	tenant.Data = &Data{Users: users, Groups: []Group{{ID: groupID, Name: "g", Members: members}}}
	s.AddTenant(&tenant)
	return s, mustToken(t, s)
}

// manyMembers is n users, with a device after every 250th.
func manyMembers(n int) []Member {
	var out []Member
	for i := range n {
		out = append(out, Member{stableUUID("user", strconv.Itoa(i)), MemberUser})
		if i%250 == 0 {
			out = append(out, Member{stableUUID("device", strconv.Itoa(i)), MemberDevice})
		}
	}
	return out
}

func TestGroupMembersPaging(t *testing.T) {
	members := manyMembers(2500)
	s, tok := groupServer(t, Options{PageSize: 7}, Tenant{}, members, nil)
	path := "/v1.0/groups/" + groupID + "/transitiveMembers/microsoft.graph.user?$select=id&$top=999"

	rows, pages, links := walk(t, s, tok, path)
	seen := map[string]bool{}
	for _, r := range rows {
		id, _ := r["id"].(string)
		if seen[id] || r["@odata.type"] != "#microsoft.graph.user" || len(r) != 2 {
			t.Fatalf("row %v (seen before: %v)", r, seen[id])
		}
		seen[id] = true
	}
	if len(rows) != 2500 || pages != 3 {
		t.Errorf("%d users in %d pages, want 2500 in 3 (the Options.PageSize of reports does not apply)", len(rows), pages)
	}
	for _, l := range links {
		if !strings.HasPrefix(l, s.GraphEndpoint()+"/v1.0/groups/"+groupID+"/transitiveMembers/microsoft.graph.user?") ||
			!strings.Contains(l, "$top=999") || !strings.Contains(l, "$select=id") || !strings.Contains(l, "$skiptoken=") {
			t.Errorf("nextLink %q", l)
		}
	}
	_, body := get(t, s, tok, path)
	if c := body["@odata.context"]; c != s.GraphEndpoint()+"/v1.0/$metadata#users(id)" {
		t.Errorf("@odata.context %v", c)
	}

	// Without the cast: every member, each with its type; 100 a page by default.
	rows, pages, _ = walk(t, s, tok, "/v1.0/groups/"+strings.ToUpper(groupID)+"/TRANSITIVEMEMBERS")
	if len(rows) != len(members) || pages != (len(members)+99)/100 {
		t.Fatalf("%d members in %d pages, want %d", len(rows), pages, len(members))
	}
	for i, r := range rows {
		if r["id"] != members[i].ID || r["@odata.type"] != "#microsoft.graph."+members[i].Type {
			t.Fatalf("member %d: %v, want %+v", i, r, members[i])
		}
	}
	_, body = get(t, s, tok, "/v1.0/groups/"+groupID+"/transitiveMembers?$top=3")
	if c := body["@odata.context"]; c != s.GraphEndpoint()+"/v1.0/$metadata#directoryObjects" {
		t.Errorf("@odata.context %v", c)
	}
}

func TestGroupMembersCast(t *testing.T) {
	users := Synthetic(1, 3, fixedNow).Users
	members := []Member{
		{users[0].ID, MemberUser}, {"d0000000-0000-4000-8000-000000000001", MemberDevice},
		{"a0000000-0000-4000-8000-000000000001", MemberGroup}, {users[1].ID, MemberUser},
		{"b0000000-0000-4000-8000-000000000001", MemberServicePrincipal}, {"c0000000-0000-4000-8000-000000000001", MemberOrgContact},
		{"e0000000-0000-4000-8000-000000000001", MemberUser}, // not in Users
		{users[1].ID, MemberUser},                            // a duplicate, served as given
	}
	s, tok := groupServer(t, Options{}, Tenant{}, members, users)

	_, body := get(t, s, tok, "/v1.0/groups/"+groupID+"/transitiveMembers/microsoft.graph.user")
	got := values(body)
	want := []string{users[0].ID, users[1].ID, "e0000000-0000-4000-8000-000000000001", users[1].ID}
	if len(got) != len(want) {
		t.Fatalf("cast: %v", got)
	}
	for i, r := range got {
		if r["id"] != want[i] || r["@odata.type"] != "#microsoft.graph.user" {
			t.Errorf("cast row %d: %v, want %s", i, r, want[i])
		}
	}
	// Without $select, the users the fake knows have their names.
	if got[0]["userPrincipalName"] != users[0].UPN || got[0]["displayName"] != users[0].DisplayName || len(got[2]) != 2 {
		t.Errorf("names: %v and %v", got[0], got[2])
	}

	_, body = get(t, s, tok, "/v1.0/groups/"+groupID+"/transitiveMembers?$select=id")
	var types []string
	for _, r := range values(body) {
		types = append(types, r["@odata.type"].(string))
		if len(r) != 2 {
			t.Errorf("$select=id: %v", r)
		}
	}
	if want := []string{"#microsoft.graph.user", "#microsoft.graph.device", "#microsoft.graph.group", "#microsoft.graph.user",
		"#microsoft.graph.servicePrincipal", "#microsoft.graph.orgContact", "#microsoft.graph.user", "#microsoft.graph.user"}; !reflect.DeepEqual(types, want) {
		t.Errorf("types %v, want %v", types, want)
	}
}

func TestGroupMembersErrors(t *testing.T) {
	s, tok := groupServer(t, Options{}, Tenant{}, manyMembers(3), nil)
	const unknown = "aaaaaaaa-0000-4000-8000-000000000000"
	for _, tc := range []struct {
		path          string
		status        int
		code, message string
	}{
		{"/v1.0/groups/not-a-guid/transitiveMembers/microsoft.graph.user", 400, "Request_BadRequest", "Invalid object identifier 'not-a-guid'."},
		{"/v1.0/groups/" + unknown + "/transitiveMembers/microsoft.graph.user?$select=id", 404, "Request_ResourceNotFound",
			"Resource '" + unknown + "' does not exist or one of its queried reference-property objects are not present."},
		{"/v1.0/groups/" + unknown + "/transitiveMembers", 404, "Request_ResourceNotFound",
			"Resource '" + unknown + "' does not exist or one of its queried reference-property objects are not present."},
		{"/v1.0/groups/" + groupID + "/transitiveMembers?$top=1000", 400, "Request_BadRequest",
			"Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{"/v1.0/groups/" + groupID + "/transitiveMembers/microsoft.graph.device", 404, "ResourceNotFound",
			"Resource not found for the segment 'microsoft.graph.device'."},
	} {
		resp, body := get(t, s, tok, tc.path)
		e, _ := body["error"].(map[string]any)
		if resp.StatusCode != tc.status || e["code"] != tc.code || e["message"] != tc.message {
			t.Errorf("%s: %d %v, want %d %s %q", tc.path, resp.StatusCode, body, tc.status, tc.code, tc.message)
		}
		if inner, _ := e["innerError"].(map[string]any); inner["request-id"] != resp.Header.Get("request-id") {
			t.Errorf("%s: innerError %v", tc.path, inner)
		}
	}

	// Without GroupMember.Read.All: 403 for any group, the reports unaffected.
	s.AddTenant(&Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: secret, NoGroupPermission: true,
		Data: &Data{Groups: []Group{{ID: groupID, Members: manyMembers(3)}}}})
	for _, id := range []string{groupID, unknown} {
		resp, body := get(t, s, tok, "/v1.0/groups/"+id+"/transitiveMembers/microsoft.graph.user?$select=id")
		e, _ := body["error"].(map[string]any)
		if resp.StatusCode != 403 || e["code"] != "Authorization_RequestDenied" || e["message"] != "Insufficient privileges to complete the operation." {
			t.Errorf("no permission: %d %v", resp.StatusCode, body)
		}
	}
	if resp, body := get(t, s, tok, "/v1.0/reports/authenticationMethods/userRegistrationDetails"); resp.StatusCode != 200 {
		t.Errorf("report without group permission: %d %v", resp.StatusCode, body)
	}

	// Unlicensed: the reports answer 403, the groups do not.
	s.AddTenant(&Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: secret, Unlicensed: true,
		Data: &Data{Groups: []Group{{ID: groupID, Members: manyMembers(3)}}}})
	if resp, body := get(t, s, tok, "/v1.0/groups/"+groupID+"/transitiveMembers/microsoft.graph.user"); resp.StatusCode != 200 || len(values(body)) != 3 {
		t.Errorf("unlicensed group: %d %v", resp.StatusCode, body)
	}
	if resp, _ := get(t, s, tok, "/v1.0/reports/authenticationMethods/userRegistrationDetails"); resp.StatusCode != 403 {
		t.Errorf("unlicensed report: %d", resp.StatusCode)
	}
}

// Group reads are not counted against the reports' budget, and have their own.
func TestGroupMembersThrottling(t *testing.T) {
	s, tok := groupServer(t, Options{RateLimit: 1, RatePer: time.Minute, DirectoryRateLimit: 3, DirectoryRatePer: time.Minute}, Tenant{}, manyMembers(3), nil)
	const report = "/beta/reports/authenticationMethods/userMfaSignInSummary"
	group := "/v1.0/groups/" + groupID + "/transitiveMembers/microsoft.graph.user?$select=id"
	if resp, _ := get(t, s, tok, report); resp.StatusCode != 200 {
		t.Fatalf("report: %d", resp.StatusCode)
	}
	for i := range 3 {
		if resp, body := get(t, s, tok, group); resp.StatusCode != 200 {
			t.Fatalf("group read %d: %d %v", i, resp.StatusCode, body)
		}
	}
	if resp, body := get(t, s, tok, group); resp.StatusCode != 429 || errorCode(body) != "TooManyRequests" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("4th group read: %d %v", resp.StatusCode, body)
	}
	if resp, _ := get(t, s, tok, report); resp.StatusCode != 429 {
		t.Errorf("2nd report: %d, want 429", resp.StatusCode)
	}
}

func TestSyntheticGroups(t *testing.T) {
	d := Synthetic(3, 2000, fixedNow)
	if !reflect.DeepEqual(d.Groups, Synthetic(3, 2000, fixedNow).Groups) {
		t.Fatal("groups are not deterministic")
	}
	if d.GroupID(GroupPilot) != Synthetic(3, 10, fixedNow).GroupID(GroupPilot) || d.GroupID(GroupPilot) == Synthetic(4, 2000, fixedNow).GroupID(GroupPilot) {
		t.Error("group ids should depend on the seed alone")
	}
	if d.GroupID("nonesuch") != "" {
		t.Error("GroupID of an unknown name")
	}
	var names []string
	for _, g := range d.Groups {
		names = append(names, g.Name)
		if !objectID.MatchString(g.ID) || d.GroupID(g.Name) != g.ID {
			t.Errorf("group %s: id %q", g.Name, g.ID)
		}
	}
	if !reflect.DeepEqual(names, SyntheticGroups()) {
		t.Errorf("groups %v, want %v", names, SyntheticGroups())
	}

	byID := map[string]User{}
	var members, admins []string
	for _, u := range d.Users {
		byID[u.ID] = u
		if u.UserType == "member" {
			members = append(members, u.ID)
		}
		if u.IsAdmin {
			admins = append(admins, u.ID)
		}
	}
	users := map[string][]string{} // group name -> user ids, in order
	strangers := map[string]bool{}
	for _, g := range d.Groups {
		seen := map[string]bool{}
		for _, m := range g.Members {
			if seen[m.ID] {
				t.Errorf("%s lists %s twice", g.Name, m.ID)
			}
			seen[m.ID] = true
			if m.Type != MemberUser {
				continue
			}
			u, ok := byID[m.ID]
			if !ok {
				strangers[m.ID] = true
				continue
			}
			if u.UserType != "member" {
				t.Errorf("%s lists guest %s", g.Name, u.UPN)
			}
			users[g.Name] = append(users[g.Name], m.ID)
		}
	}
	if len(strangers) != 3 {
		t.Errorf("%d users not in Users, want 3", len(strangers))
	}
	if !reflect.DeepEqual(users[GroupAllStaff], members) || !reflect.DeepEqual(users[GroupAdmins], admins) {
		t.Errorf("all-staff has %d of %d members, admins %d of %d", len(users[GroupAllStaff]), len(members), len(users[GroupAdmins]), len(admins))
	}
	share := func(name string) float64 { return float64(len(users[name])) / float64(len(members)) }
	for name, want := range map[string]float64{GroupPilot: 0.05, GroupFinance: 0.10, GroupEMEASales: 0.06, GroupEMEA: 0.17} {
		if got := share(name); got < want*0.7 || got > want*1.3 {
			t.Errorf("%s has %.3f of the members, want about %.2f", name, got, want)
		}
	}
	// emea lists emea-sales itself and every one of its users.
	emea := d.Groups[slices.IndexFunc(d.Groups, func(g Group) bool { return g.Name == GroupEMEA })]
	if !slices.Contains(emea.Members, Member{d.GroupID(GroupEMEASales), MemberGroup}) {
		t.Error("emea does not list emea-sales")
	}
	for _, id := range users[GroupEMEASales] {
		if !slices.Contains(users[GroupEMEA], id) {
			t.Errorf("emea-sales' %s is not in emea", id)
		}
	}
	types := map[string]int{}
	for _, m := range d.Groups[0].Members {
		types[m.Type]++
	}
	if types[MemberDevice] != 4 || types[MemberServicePrincipal] != 1 || types[MemberGroup] != 2 || types[MemberUser] != len(members)+3 {
		t.Errorf("all-staff's member types %v", types)
	}

	// Served: every synthetic group pages and filters as its Members say.
	s, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddTenant(&Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: secret, Data: d})
	tok := mustToken(t, s)
	for _, g := range d.Groups {
		rows, _, _ := walk(t, s, tok, "/v1.0/groups/"+g.ID+"/transitiveMembers/microsoft.graph.user?$select=id&$top=999")
		var want int
		for _, m := range g.Members {
			want += int(b2i(m.Type == MemberUser))
		}
		if len(rows) != want {
			t.Errorf("%s: served %d users, want %d", g.Name, len(rows), want)
		}
	}
}

// syntheticBase digests what Synthetic made before it had groups and
// passkeys: the users (less the passkeys and the flags they set), the
// events and the other reports.
func syntheticBase(d *Data) string {
	h := sha256.New()
	for _, u := range d.Users {
		ms := slices.DeleteFunc(slices.Clone(u.MethodsRegistered), func(m string) bool {
			return m == "passKeySynced" || m == "macOsSecureEnclaveKey" || m == "passKeyDeviceBoundAuthenticator"
		})
		fmt.Fprintf(h, "%s|%s|%s|%s|%v|%v|%v|%v|%s|%v\n", u.ID, u.UPN, u.DisplayName, u.UserType, u.IsAdmin,
			u.IsSsprRegistered, u.IsSsprEnabled, ms, u.UserPreferredMethodForSecondaryAuthentication, u.LastUpdatedDateTime.Unix())
	}
	fmt.Fprintf(h, "%+v\n%+v\n%+v\n%+v\n%+v\n", d.Events, d.CredentialUsage, d.UsageSummaries, d.MFASignIns, d.PasswordResets)
	return fmt.Sprintf("%x", h.Sum(nil))[:16]
}

// The groups and passkeys, drawn from streams of their own, leave the rest
// of Synthetic's data as it was before them (digests taken then).
func TestSyntheticAdditionsLeaveDataAlone(t *testing.T) {
	for n, want := range map[int]string{0: "876c50714fc01e49", 1: "efd997a03f6b476d", 50: "efefd976a7e62ead", 1000: "157b66a00e6ef27d", 3000: "66596d150500eae5"} {
		if got := syntheticBase(Synthetic(7, n, fixedNow)); got != want {
			t.Errorf("Synthetic(7, %d): digest %s, want %s", n, got, want)
		}
	}
}

func TestSyntheticPasskeys(t *testing.T) {
	d := Synthetic(7, 3000, fixedNow)
	rank := func(m string) int { return slices.Index(methodOrder, m) }
	var members, synced int
	for _, u := range d.Users {
		for i, m := range u.MethodsRegistered {
			if rank(m) < 0 || i > 0 && rank(u.MethodsRegistered[i-1]) >= rank(m) {
				t.Fatalf("methods out of methodOrder: %v", u.MethodsRegistered)
			}
		}
		if u.UserType == "member" {
			members++
		}
		if slices.Contains(u.MethodsRegistered, "passKeySynced") {
			synced++
			if u.UserType != "member" || !u.IsMfaRegistered || !u.IsMfaCapable || !u.IsPasswordlessCapable {
				t.Errorf("passkey user %+v", u)
			}
		}
	}
	if share := float64(synced) / float64(members); share < 0.03 || share > 0.05 {
		t.Errorf("%d of %d members have a synced passkey", synced, members)
	}

	// RegisterPasskeys: n members more, the users given unchanged.
	before := Synthetic(7, 3000, fixedNow).Users
	at := fixedNow.Add(90 * time.Second)
	next := RegisterPasskeys(mathrand.New(mathrand.NewPCG(1, 2)), d.Users, 5, at)
	if !reflect.DeepEqual(d.Users, before) {
		t.Fatal("RegisterPasskeys changed the users it was given")
	}
	if !reflect.DeepEqual(next, RegisterPasskeys(mathrand.New(mathrand.NewPCG(1, 2)), d.Users, 5, at)) {
		t.Error("RegisterPasskeys is not deterministic")
	}
	var changed int
	for i, u := range next {
		if reflect.DeepEqual(u, before[i]) {
			continue
		}
		changed++
		if !slices.Contains(u.MethodsRegistered, "passKeySynced") || slices.Contains(before[i].MethodsRegistered, "passKeySynced") ||
			!u.IsMfaRegistered || !u.IsMfaCapable || !u.IsPasswordlessCapable || !u.LastUpdatedDateTime.Equal(at) || u.UserType != "member" {
			t.Errorf("registered %+v", u)
		}
	}
	if changed != 5 {
		t.Errorf("%d users changed, want 5", changed)
	}
	if got := RegisterPasskeys(mathrand.New(mathrand.NewPCG(1, 2)), d.Users, 0, at); &got[0] != &d.Users[0] {
		t.Error("no registration should return the users as they were")
	}
}
