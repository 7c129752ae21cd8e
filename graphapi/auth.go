package graphapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
)

// NewCredential returns the token source for a tenant's app registration,
// sending its token requests through hc (nil: the default client). Every
// error it returns from GetToken is an *Error with Reason auth.
func NewCredential(t config.Tenant, hc *http.Client) (azcore.TokenCredential, error) {
	opts := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: t.AuthorityHost}}
	if hc != nil {
		opts.Transport = hc
	}
	disableDiscovery := !knownAuthorityHost(t.AuthorityHost)
	build := func() (azcore.TokenCredential, error) {
		return newCredential(t, opts, disableDiscovery)
	}
	cred, err := build()
	if err != nil {
		return nil, err
	}
	return authErrors{&resettable{build: build, inner: cred}}, nil
}

// newCredential builds the azidentity credential of t's kind.
func newCredential(t config.Tenant, opts azcore.ClientOptions, disableDiscovery bool) (cred azcore.TokenCredential, err error) {
	switch t.Auth {
	case config.AuthClientSecret:
		if t.ClientSecretFile != "" {
			cred = &fileCredential{key: "client_secret_file", path: t.ClientSecretFile, build: func(raw []byte) (azcore.TokenCredential, error) {
				secret := bytes.TrimSpace(raw)
				if len(secret) == 0 {
					return nil, errors.New("client_secret_file " + t.ClientSecretFile + " is empty")
				}
				return azidentity.NewClientSecretCredential(t.TenantID, t.ClientID, string(secret),
					&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
			}}
		} else {
			cred, err = azidentity.NewClientSecretCredential(t.TenantID, t.ClientID, t.ClientSecret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
		}
	case config.AuthClientCertificate:
		fc := &fileCredential{key: "client_certificate_file", path: t.ClientCertificateFile, build: func(pem []byte) (azcore.TokenCredential, error) {
			certs, key, err := azidentity.ParseCertificates(pem, nil)
			if err != nil {
				return nil, fmt.Errorf("client_certificate_file %s: %w", t.ClientCertificateFile, err)
			}
			return azidentity.NewClientCertificateCredential(t.TenantID, t.ClientID, certs, key,
				&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
		}}
		// Read it now too, so a missing or broken file is found at start-up or reload.
		if _, err = fc.current(); err != nil {
			return nil, err
		}
		cred = fc
	case config.AuthWorkloadIdentity:
		cred, err = azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, TenantID: t.TenantID, ClientID: t.ClientID, DisableInstanceDiscovery: disableDiscovery})
	case config.AuthManagedIdentity:
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if t.ClientID != "" {
			mo.ID = azidentity.ClientID(t.ClientID)
		}
		cred, err = azidentity.NewManagedIdentityCredential(mo)
	case config.AuthAzureCLI:
		cred, err = azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: t.TenantID})
	case config.AuthDefault, "":
		cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			ClientOptions: opts, TenantID: t.TenantID, DisableInstanceDiscovery: disableDiscovery})
	default:
		return nil, fmt.Errorf("unknown auth %q", t.Auth)
	}
	if err != nil {
		return nil, fmt.Errorf("%s credential: %w", t.Auth, err)
	}
	return cred, nil
}

// knownAuthorityHost reports whether host is a national cloud's login host,
// where instance discovery works; elsewhere (private or test endpoints) it
// must be off or token requests fail.
func knownAuthorityHost(host string) bool {
	u, err := url.Parse(host)
	if err != nil {
		return false
	}
	for _, c := range config.Clouds() {
		if k, err := url.Parse(c.AuthorityHost); err == nil && strings.EqualFold(k.Host, u.Host) {
			return true
		}
	}
	return false
}

// resettable can throw its credential away, so that the next token comes
// from a new one: azidentity caches tokens, and after Graph refused one (a
// 401) asking the same credential again would only return it again.
type resettable struct {
	build func() (azcore.TokenCredential, error)
	mu    sync.Mutex
	inner azcore.TokenCredential
}

func (r *resettable) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	r.mu.Lock()
	cred := r.inner
	if cred == nil {
		var err error
		if cred, err = r.build(); err != nil {
			r.mu.Unlock()
			return azcore.AccessToken{}, err
		}
		r.inner = cred
	}
	r.mu.Unlock()
	return cred.GetToken(ctx, o)
}

// Reset drops the credential and its cached tokens.
func (r *resettable) Reset() {
	r.mu.Lock()
	r.inner = nil
	r.mu.Unlock()
}

// authErrors marks every token failure as Reason auth, so a poll that fails
// before reaching Graph says so.
type authErrors struct{ azcore.TokenCredential }

// Reset makes the next token a fresh one.
func (a authErrors) Reset() {
	if r, ok := a.TokenCredential.(interface{ Reset() }); ok {
		r.Reset()
	}
}

func (a authErrors) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := a.TokenCredential.GetToken(ctx, o)
	if err != nil {
		reason := ReasonAuth
		if ctx.Err() != nil {
			reason = ReasonTimeout
		}
		return tok, &Error{Reason: reason, Err: fmt.Errorf("getting a token: %w", err)}
	}
	return tok, nil
}

// fileCredential reads a secret or certificate file each time a token is
// requested (the bearer policy asks only when its token nears expiry) and
// rebuilds the inner credential when the file changed, so a rotated secret
// or certificate takes effect without a restart.
type fileCredential struct {
	key   string // the config key naming the file, for errors
	path  string
	build func(contents []byte) (azcore.TokenCredential, error)

	mu       sync.Mutex
	contents []byte
	inner    azcore.TokenCredential
}

func (f *fileCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	cred, err := f.current()
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return cred.GetToken(ctx, o)
}

func (f *fileCredential) current() (azcore.TokenCredential, error) {
	raw, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.key, err) // names the file, never its contents
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inner != nil && bytes.Equal(raw, f.contents) {
		return f.inner, nil
	}
	cred, err := f.build(raw)
	if err != nil {
		return nil, err
	}
	f.contents, f.inner = raw, cred
	return cred, nil
}
