// Command bareclient is the yardstick for the exporter's poll: the simplest
// serial paging client one would write by hand, with net/http and
// encoding/json only (no azcore, no retries, no pacing, no aggregation). It
// reads userRegistrationDetails of one tenant of the fake that
// bench/fakegraph started, decoding every page into typed records, and
// prints one machine-readable line:
//
//	records=300000 pages=300 seconds=4.123 rss_mib=21.5
//
// seconds runs from the first page request to the last page decoded; the
// token request is not included.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
)

// userRegistrationDetail is the v1.0 resource, every field typed, as a
// straightforward client would declare it.
type userRegistrationDetail struct {
	ID                                            string    `json:"id"`
	UserPrincipalName                             string    `json:"userPrincipalName"`
	UserDisplayName                               string    `json:"userDisplayName"`
	UserType                                      string    `json:"userType"`
	IsAdmin                                       *bool     `json:"isAdmin"` // nullable, as the exporter decodes it
	IsSsprRegistered                              bool      `json:"isSsprRegistered"`
	IsSsprEnabled                                 bool      `json:"isSsprEnabled"`
	IsSsprCapable                                 bool      `json:"isSsprCapable"`
	IsMfaRegistered                               bool      `json:"isMfaRegistered"`
	IsMfaCapable                                  bool      `json:"isMfaCapable"`
	IsPasswordlessCapable                         bool      `json:"isPasswordlessCapable"`
	MethodsRegistered                             []string  `json:"methodsRegistered"`
	SystemPreferredAuthenticationMethods          []string  `json:"systemPreferredAuthenticationMethods"`
	UserPreferredMethodForSecondaryAuthentication string    `json:"userPreferredMethodForSecondaryAuthentication"`
	LastUpdatedDateTime                           time.Time `json:"lastUpdatedDateTime"`
	IsSystemPreferredAuthenticationMethodEnabled  bool      `json:"isSystemPreferredAuthenticationMethodEnabled"`
}

type page struct {
	NextLink string                   `json:"@odata.nextLink"`
	Value    []userRegistrationDetail `json:"value"`
}

func main() {
	dir := flag.String("dir", "", "directory holding the fake's config.yaml and ca.pem (required)")
	tenant := flag.Int("tenant", 0, "index of the tenant in config.yaml")
	flag.Parse()
	if *dir == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	// The exporter's own loader, only to read the URLs and the credential.
	cfg, err := config.Load(filepath.Join(*dir, "config.yaml"))
	if err != nil {
		fatal(err)
	}
	if *tenant < 0 || *tenant >= len(cfg.Tenants) {
		fatal(fmt.Errorf("no tenant %d in config.yaml", *tenant))
	}
	t := cfg.Tenants[*tenant]
	caPEM, err := os.ReadFile(filepath.Join(*dir, "ca.pem"))
	if err != nil {
		fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		fatal(errors.New("ca.pem holds no certificate"))
	}
	client := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		Timeout:   time.Minute,
	}

	token, err := getToken(client, t)
	if err != nil {
		fatal(err)
	}

	start := time.Now()
	records, pages := 0, 0
	next := t.GraphEndpoint + "/v1.0/reports/authenticationMethods/userRegistrationDetails"
	for next != "" {
		var p page
		if err := getJSON(client, next, token, &p); err != nil {
			fatal(fmt.Errorf("page %d: %w", pages+1, err))
		}
		records += len(p.Value)
		pages++
		next = p.NextLink
	}
	elapsed := time.Since(start)
	fmt.Printf("records=%d pages=%d seconds=%.3f rss_mib=%s\n", records, pages, elapsed.Seconds(), peakRSSMiB())
}

// getToken runs the client-credentials grant against the tenant's token endpoint.
func getToken(client *http.Client, t config.Tenant) (string, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {t.ClientID},
		"client_secret": {t.ClientSecret},
		"scope":         {t.GraphEndpoint + "/.default"},
	}
	resp, err := client.PostForm(t.AuthorityHost+t.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("token: %s: %s", resp.Status, b)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return tok.AccessToken, nil
}

// getJSON GETs u with the bearer token and decodes the body into v.
func getJSON(client *http.Client, u, token string, v any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body) // drain, so the connection is reused
	return err
}

// peakRSSMiB is this process's VmHWM, for comparison with the exporter's.
func peakRSSMiB() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "NA"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			var kb float64
			if _, err := fmt.Sscan(f[1], &kb); err == nil {
				return fmt.Sprintf("%.1f", kb/1024)
			}
		}
	}
	return "NA"
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bareclient:", err)
	os.Exit(1)
}
