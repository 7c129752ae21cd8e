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
	var (
		cred azcore.TokenCredential
		err  error
	)
	switch t.Auth {
	case config.AuthClientSecret:
		if t.ClientSecretFile != "" {
			cred = &secretFileCredential{path: t.ClientSecretFile, tenant: t, opts: opts, disableDiscovery: disableDiscovery}
		} else {
			cred, err = azidentity.NewClientSecretCredential(t.TenantID, t.ClientID, t.ClientSecret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
		}
	case config.AuthClientCertificate:
		var pem []byte
		if pem, err = os.ReadFile(t.ClientCertificateFile); err != nil {
			return nil, fmt.Errorf("client_certificate_file: %w", err)
		}
		certs, key, perr := azidentity.ParseCertificates(pem, nil)
		if perr != nil {
			return nil, fmt.Errorf("client_certificate_file %s: %w", t.ClientCertificateFile, perr)
		}
		cred, err = azidentity.NewClientCertificateCredential(t.TenantID, t.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
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
	return authErrors{cred}, nil
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

// authErrors marks every token failure as Reason auth, so a poll that fails
// before reaching Graph says so.
type authErrors struct{ azcore.TokenCredential }

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

// secretFileCredential reads the client secret from a file each time a token
// is requested (the bearer policy asks only when its token nears expiry) and
// rebuilds the inner credential when the secret changed, so a rotated secret
// takes effect without a restart.
type secretFileCredential struct {
	path             string
	tenant           config.Tenant
	opts             azcore.ClientOptions
	disableDiscovery bool

	mu     sync.Mutex
	secret []byte
	inner  azcore.TokenCredential
}

func (s *secretFileCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	cred, err := s.current()
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return cred.GetToken(ctx, o)
}

func (s *secretFileCredential) current() (azcore.TokenCredential, error) {
	raw, err := os.ReadFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("client_secret_file: %w", err)
	}
	secret := bytes.TrimSpace(raw)
	if len(secret) == 0 {
		return nil, errors.New("client_secret_file " + s.path + " is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inner != nil && bytes.Equal(secret, s.secret) {
		return s.inner, nil
	}
	cred, err := azidentity.NewClientSecretCredential(s.tenant.TenantID, s.tenant.ClientID, string(secret),
		&azidentity.ClientSecretCredentialOptions{ClientOptions: s.opts, DisableInstanceDiscovery: s.disableDiscovery})
	if err != nil {
		return nil, err
	}
	s.secret, s.inner = secret, cred
	return cred, nil
}
