package graphapi

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/safefile"
)

// NewCredential returns the token source for a tenant's app registration,
// sending its token requests through hc (nil: the default client). Every
// error it returns from GetToken is an *Error with Reason auth.
func NewCredential(t config.Tenant, hc *http.Client) (azcore.TokenCredential, error) {
	r := &resettable{tenant: t, hc: hc}
	// Built now, so that a missing or broken credential file is found at
	// start-up, on reload and by --config.check, not at every poll.
	if _, err := r.current(); err != nil {
		return nil, err
	}
	return r, nil
}

// newCredential builds the azidentity credential of t's kind, from file if it reads one.
func newCredential(t config.Tenant, hc *http.Client, file []byte) (cred azcore.TokenCredential, err error) {
	opts := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: t.AuthorityHost}}
	if hc != nil {
		opts.Transport = hc
	}
	// Instance discovery works on a national cloud's login host only;
	// elsewhere (private or test endpoints) token requests fail with it on.
	disableDiscovery := !config.NationalLoginHost(t.AuthorityHost)
	switch t.Auth {
	case config.AuthClientSecret:
		secret := t.ClientSecret
		if t.ClientSecretFile != "" {
			if secret = string(bytes.TrimSpace(file)); secret == "" {
				return nil, errors.New("client_secret_file " + redact.Path(t.ClientSecretFile) + ": the file is empty")
			}
		}
		cred, err = azidentity.NewClientSecretCredential(t.TenantID, t.ClientID, secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
	case config.AuthClientCertificate:
		certs, key, err := parseCertificate(file)
		if err == nil {
			cred, cerr := azidentity.NewClientCertificateCredential(t.TenantID, t.ClientID, certs, key,
				&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
			if cerr == nil {
				return cred, nil
			}
			err = certificateError(cerr)
		}
		return nil, fmt.Errorf("client_certificate_file %s: %w", redact.Path(t.ClientCertificateFile), err)
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

// resettable builds its credential anew once reset (azidentity would hand
// back a cached token Graph refused with a 401) and whenever its file changed,
// read at every token request: a rotated secret takes effect without a
// restart. Every token failure is an *Error, Reason auth unless a timeout.
type resettable struct {
	tenant config.Tenant
	hc     *http.Client

	mu    sync.Mutex
	file  []byte // what inner was built from
	inner azcore.TokenCredential
}

// Reset drops the credential and its cached tokens.
func (r *resettable) Reset() {
	r.mu.Lock()
	r.inner = nil
	r.mu.Unlock()
}

// current returns the credential, built anew if it was reset or its file changed.
func (r *resettable) current() (azcore.TokenCredential, error) {
	file, err := readCredentialFile(r.tenant)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inner != nil && bytes.Equal(file, r.file) {
		return r.inner, nil
	}
	cred, err := newCredential(r.tenant, r.hc, file)
	if err != nil {
		return nil, err
	}
	r.file, r.inner = file, cred
	return cred, nil
}

func (r *resettable) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	cred, err := r.current()
	var tok azcore.AccessToken
	if err == nil {
		tok, err = cred.GetToken(ctx, o)
	}
	if _, ours := errors.AsType[*Error](err); err == nil || ours { // from tokenDeadline or a credential file: already classified and clean
		return tok, err
	}
	reason := ReasonAuth
	if ctx.Err() != nil {
		reason = ReasonTimeout
	}
	// azidentity's errors quote the token endpoint's answer, which may hold a
	// token (a body it could not parse): keep only the text, redacted, on one
	// line of at most 600 bytes without rules of dashes, and drop the chain.
	text := strings.Join(strings.Fields(strings.ReplaceAll(redact.String(err.Error()), "----------", "")), " ")
	text = redact.Cut(strings.ReplaceAll(text, "--", ""), 600)
	return tok, &Error{Reason: reason, Err: errors.New("getting a token: " + text)}
}

// tokenDeadline bounds getting a token by the request timeout: a token
// endpoint that never answers fails the poll as auth, not at its deadline.
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

// maxCredentialFileBytes bounds a secret or certificate file: a PEM chain and key is a few kilobytes.
const maxCredentialFileBytes = 1 << 20

// readCredentialFile reads t's secret or certificate file, if it has one,
// never blocking on one that is not a regular file (a FIFO). Its errors name
// the file by key and path, never by its contents, and say what is wrong.
func readCredentialFile(t config.Tenant) ([]byte, error) {
	key, path := "client_secret_file", t.ClientSecretFile
	switch {
	case t.Auth == config.AuthClientCertificate:
		key, path = "client_certificate_file", t.ClientCertificateFile
	case t.Auth != config.AuthClientSecret || path == "":
		return nil, nil
	}
	raw, err := safefile.Read(path, maxCredentialFileBytes)
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		err = pe.Err // the path is named below, carefully
	}
	switch {
	case errors.Is(err, safefile.ErrTooLarge):
		return nil, fmt.Errorf("%s %s: the file is larger than %d bytes: not a secret or a PEM certificate", key, redact.Path(path), maxCredentialFileBytes)
	case err != nil:
		return nil, fmt.Errorf("%s %s: cannot read the file: %v", key, redact.Path(path), err)
	}
	return raw, nil
}

// parseCertificate reads a PEM certificate and its private key, saying exactly what is wrong.
func parseCertificate(data []byte) ([]*x509.Certificate, crypto.PrivateKey, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, errors.New("the file is empty")
	}
	var certs, keys, encrypted int
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
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
