package graphapi

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
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
		if t.ClientSecretFile == "" {
			cred, err = azidentity.NewClientSecretCredential(t.TenantID, t.ClientID, t.ClientSecret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
			break
		}
		fc := &fileCredential{key: "client_secret_file", path: t.ClientSecretFile, build: func(raw []byte) (azcore.TokenCredential, error) {
			secret := bytes.TrimSpace(raw)
			if len(secret) == 0 {
				return nil, errors.New("client_secret_file " + redact.Path(t.ClientSecretFile) + ": the file is empty")
			}
			return azidentity.NewClientSecretCredential(t.TenantID, t.ClientID, string(secret),
				&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
		}}
		// Read it now, so a missing or broken file is found at start-up, on
		// reload and by --config.check, not at every poll.
		if _, err = fc.current(); err != nil {
			return nil, err
		}
		cred = fc
	case config.AuthClientCertificate:
		fc := &fileCredential{key: "client_certificate_file", path: t.ClientCertificateFile, build: func(pem []byte) (azcore.TokenCredential, error) {
			certs, key, err := parseCertificate(pem)
			if err == nil {
				var cred azcore.TokenCredential
				cred, err = azidentity.NewClientCertificateCredential(t.TenantID, t.ClientID, certs, key,
					&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
				if err == nil {
					return cred, nil
				}
				err = certificateError(err)
			}
			return nil, fmt.Errorf("client_certificate_file %s: %w", redact.Path(t.ClientCertificateFile), err)
		}}
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

// resetter is a credential that can drop its cached token, so that the
// next token is a fresh one (after Graph refused the cached one).
type resetter interface{ Reset() }

// authErrors marks every token failure as Reason auth, so a poll that fails
// before reaching Graph says so.
type authErrors struct{ azcore.TokenCredential }

// Reset makes the next token a fresh one.
func (a authErrors) Reset() {
	if r, ok := a.TokenCredential.(resetter); ok {
		r.Reset()
	}
}

func (a authErrors) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := a.TokenCredential.GetToken(ctx, o)
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) { // ours (tokenDeadline, a credential file): already classified and clean
			return tok, err
		}
		reason := ReasonAuth
		if ctx.Err() != nil {
			reason = ReasonTimeout
		}
		// azidentity's errors quote the token endpoint's answer, which may
		// hold a token (a body it could not parse): keep only the text,
		// redacted, and drop the chain that holds the raw response.
		return tok, &Error{Reason: reason, Err: errors.New("getting a token: " + tokenErrorText(err))}
	}
	return tok, nil
}

// tokenErrorText is an azidentity error as one redacted line of at most
// 600 bytes: its rules of dashes and newlines folded into spaces.
func tokenErrorText(err error) string {
	text := redact.String(err.Error())
	text = strings.Join(strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
	text = strings.Join(strings.Fields(strings.ReplaceAll(text, "----------", "")), " ")
	text = strings.ReplaceAll(text, "--", "")
	return redact.Cut(text, 600)
}

// tokenDeadline bounds getting a token by the request timeout: a token
// endpoint that never answers must fail the poll as auth within it, rather
// than hold the poll for its whole deadline.
type tokenDeadline struct {
	cred    azcore.TokenCredential
	timeout time.Duration
}

func (t tokenDeadline) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tctx, cancel := context.WithTimeoutCause(ctx, t.timeout, errTokenDeadline)
	defer cancel()
	tok, err := t.cred.GetToken(tctx, o)
	if err != nil && ctx.Err() == nil && context.Cause(tctx) == errTokenDeadline {
		return tok, &Error{Reason: ReasonAuth, Err: fmt.Errorf("no token within request_timeout (%s): the authority host did not answer in time", t.timeout)}
	}
	return tok, err
}

var errTokenDeadline = errors.New("token deadline")

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
	raw, err := readCredentialFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %s", f.key, redact.Path(f.path), err) // never its contents
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

// maxCredentialFileBytes bounds what is read of a secret or certificate
// file: a PEM certificate chain with its key is a few kilobytes.
const maxCredentialFileBytes = 1 << 20

// readCredentialFile reads a secret or certificate file. Its errors leave
// out the path (the caller names it, carefully) and say what is wrong.
func readCredentialFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read the file: %v", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxCredentialFileBytes+1))
	switch {
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read the file: %v", err)
	case len(raw) > maxCredentialFileBytes:
		return nil, fmt.Errorf("the file is larger than %d bytes: not a secret or a PEM certificate", maxCredentialFileBytes)
	}
	return raw, nil
}

// parseCertificate reads a PEM file of a certificate and its private key,
// saying exactly what is wrong with one that will not do.
func parseCertificate(data []byte) ([]*x509.Certificate, crypto.PrivateKey, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, errors.New("the file is empty")
	}
	var certs, keys, encrypted int
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		switch {
		case block.Type == "CERTIFICATE":
			certs++
		case block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED"):
			encrypted++
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			keys++
		}
	}
	switch {
	case certs == 0 && keys == 0 && encrypted == 0:
		return nil, nil, errors.New("no PEM certificate or key in it; it must be a PEM file with the certificate and its unencrypted private key")
	case encrypted > 0 && keys == 0:
		return nil, nil, errors.New("the private key is encrypted; the exporter needs it unencrypted (openssl pkey -in key.pem -out plain.pem)")
	case keys == 0:
		return nil, nil, errors.New("it holds a certificate but no private key; put the private key in the same PEM file")
	case certs == 0:
		return nil, nil, errors.New("it holds a private key but no certificate; put the certificate in the same PEM file")
	}
	certList, key, err := azidentity.ParseCertificates(data, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot parse it: %v", err)
	}
	return certList, key, nil
}

// certificateError rewords MSAL's complaints about a certificate and key.
func certificateError(err error) error {
	switch msg := err.Error(); {
	case strings.Contains(msg, "doesn't match"):
		return errors.New("the private key does not match the certificate")
	case strings.Contains(msg, "RSA"):
		return errors.New("the private key is not an RSA key; Entra accepts RSA certificates only")
	}
	return err
}
