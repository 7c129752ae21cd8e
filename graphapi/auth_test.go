package graphapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
)

func tokenRequests(srv *fakegraph.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/oauth2/v2.0/token") {
			n++
		}
	}
	return n
}

func TestClientCertificateCredential(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "exporter"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pemFile := filepath.Join(t.TempDir(), "cert.pem")
	pemBytes := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
	os.WriteFile(pemFile, pemBytes, 0o600)

	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddTenant(&fakegraph.Tenant{TenantID: tenantID, ClientID: clientID, ClientCertificate: cert, Data: fakegraph.Synthetic(1, 20, dataNow)})
	cred, err := graphapi.NewCredential(config.Tenant{TenantID: tenantID, ClientID: clientID, Auth: config.AuthClientCertificate,
		ClientCertificateFile: pemFile, AuthorityHost: srv.AuthorityHost(), GraphEndpoint: srv.GraphEndpoint()}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c, err := graphapi.New(graphapi.Options{Endpoint: srv.GraphEndpoint(), Credential: cred, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := countUsers(t, c); err != nil || n != 20 {
		t.Fatalf("got %d users, %v", n, err)
	}
}

func TestMissingCertificateFile(t *testing.T) {
	_, err := graphapi.NewCredential(config.Tenant{TenantID: tenantID, ClientID: clientID, Auth: config.AuthClientCertificate,
		ClientCertificateFile: "/nonexistent/cert.pem", AuthorityHost: "https://login.microsoftonline.com/"}, nil)
	if err == nil || !strings.Contains(err.Error(), "client_certificate_file") {
		t.Fatalf("got %v", err)
	}
}

func TestClientSecretFileRotation(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("first-secret\n"), 0o600)
	srv.AddTenant(&fakegraph.Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: "first-secret"})
	cred, err := graphapi.NewCredential(config.Tenant{TenantID: tenantID, ClientID: clientID, Auth: config.AuthClientSecret,
		ClientSecretFile: secretFile, AuthorityHost: srv.AuthorityHost(), GraphEndpoint: srv.GraphEndpoint()}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	opts := policy.TokenRequestOptions{Scopes: []string{srv.GraphEndpoint() + "/.default"}}
	ctx := context.Background()
	if _, err := cred.GetToken(ctx, opts); err != nil {
		t.Fatalf("first secret: %v", err)
	}

	// The secret is rotated in Entra and in the file: the next token request uses the new one.
	srv.AddTenant(&fakegraph.Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: "second-secret"})
	os.WriteFile(secretFile, []byte("second-secret"), 0o600)
	before := tokenRequests(srv)
	if _, err := cred.GetToken(ctx, opts); err != nil {
		t.Fatalf("rotated secret: %v", err)
	}
	if tokenRequests(srv) != before+1 {
		t.Errorf("no new token request after the secret file changed")
	}

	// A file holding a secret Entra does not know fails as auth, without revealing it.
	os.WriteFile(secretFile, []byte("third-secret-unknown"), 0o600)
	_, err = cred.GetToken(ctx, opts)
	if graphapi.ReasonOf(err) != graphapi.ReasonAuth || strings.Contains(err.Error(), "third-secret-unknown") {
		t.Fatalf("got %v", err)
	}
	os.WriteFile(secretFile, nil, 0o600)
	if _, err := cred.GetToken(ctx, opts); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty file: %v", err)
	}
}

func TestClientCertificateRotation(t *testing.T) {
	newCert := func() ([]byte, *x509.Certificate) {
		key, _ := rsa.GenerateKey(rand.Reader, 2048)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "exporter"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		cert, _ := x509.ParseCertificate(der)
		return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...), cert
	}
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	pemFile := filepath.Join(t.TempDir(), "cert.pem")
	first, firstCert := newCert()
	os.WriteFile(pemFile, first, 0o600)
	srv.AddTenant(&fakegraph.Tenant{TenantID: tenantID, ClientID: clientID, ClientCertificate: firstCert})
	cred, err := graphapi.NewCredential(config.Tenant{TenantID: tenantID, ClientID: clientID, Auth: config.AuthClientCertificate,
		ClientCertificateFile: pemFile, AuthorityHost: srv.AuthorityHost(), GraphEndpoint: srv.GraphEndpoint()}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	opts := policy.TokenRequestOptions{Scopes: []string{srv.GraphEndpoint() + "/.default"}}
	if _, err := cred.GetToken(context.Background(), opts); err != nil {
		t.Fatalf("first certificate: %v", err)
	}
	second, secondCert := newCert()
	srv.AddTenant(&fakegraph.Tenant{TenantID: tenantID, ClientID: clientID, ClientCertificate: secondCert})
	os.WriteFile(pemFile, second, 0o600)
	if _, err := cred.GetToken(context.Background(), opts); err != nil {
		t.Fatalf("rotated certificate: %v", err)
	}
	os.WriteFile(pemFile, []byte("not a pem"), 0o600)
	if _, err := cred.GetToken(context.Background(), opts); graphapi.ReasonOf(err) != graphapi.ReasonAuth {
		t.Fatalf("broken file: %v", err)
	}
}

func TestTokenFailuresAreAuth(t *testing.T) {
	srv, err := fakegraph.NewServer(fakegraph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddTenant(&fakegraph.Tenant{TenantID: tenantID, ClientID: clientID, ClientSecret: secret})
	// An authority nobody listens on: a port just closed.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	unreachable := "https://" + l.Addr().String() + "/"
	l.Close()
	for name, tenant := range map[string]config.Tenant{
		"unknown tenant":        {TenantID: "99999999-9999-4999-8999-999999999999", ClientID: clientID, ClientSecret: secret, AuthorityHost: srv.AuthorityHost()},
		"unknown client":        {TenantID: tenantID, ClientID: "88888888-8888-4888-8888-888888888888", ClientSecret: secret, AuthorityHost: srv.AuthorityHost()},
		"unreachable authority": {TenantID: tenantID, ClientID: clientID, ClientSecret: secret, AuthorityHost: unreachable},
	} {
		t.Run(name, func(t *testing.T) {
			tenant.Auth, tenant.GraphEndpoint = config.AuthClientSecret, srv.GraphEndpoint()
			cred, err := graphapi.NewCredential(tenant, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err = cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{srv.GraphEndpoint() + "/.default"}})
			if graphapi.ReasonOf(err) != graphapi.ReasonAuth {
				t.Fatalf("got %v (reason %q), want auth", err, graphapi.ReasonOf(err))
			}
			if strings.Contains(err.Error(), secret) {
				t.Error("the error reveals the secret")
			}
		})
	}
}

// Every broken credential file is found when the credential is built (at
// start-up, on reload and by --config.check), with a message that names the
// file and says what is wrong with it, never what it holds.
func TestCredentialFilesAreCheckedWhenBuilt(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	key, other := newKey(), newKey()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "exporter"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := func(k *rsa.PrivateKey) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	const contents = "SECRET-FILE-CONTENTS"

	cases := []struct {
		name string
		t    config.Tenant
		want string
	}{
		{"missing secret file", config.Tenant{Auth: config.AuthClientSecret, ClientSecretFile: filepath.Join(dir, "nope")}, "cannot read the file: no such file or directory"},
		{"empty secret file", config.Tenant{Auth: config.AuthClientSecret, ClientSecretFile: write("empty", []byte(" \n"))}, "the file is empty"},
		{"secret file is a directory", config.Tenant{Auth: config.AuthClientSecret, ClientSecretFile: dir}, "cannot read the file: not a regular file: it is a directory"},
		{"secret file too large", config.Tenant{Auth: config.AuthClientSecret, ClientSecretFile: write("huge", make([]byte, 1<<20+1))},
			"the file is larger than 1048576 bytes: not a secret or a PEM certificate"},
		{"certificate too large", config.Tenant{Auth: config.AuthClientCertificate, ClientCertificateFile: write("huge.pem", make([]byte, 1<<20+1))},
			"the file is larger than 1048576 bytes"},
		{"missing certificate", config.Tenant{Auth: config.AuthClientCertificate, ClientCertificateFile: filepath.Join(dir, "nope.pem")}, "cannot read the file: no such file or directory"},
		{"empty certificate", config.Tenant{Auth: config.AuthClientCertificate, ClientCertificateFile: write("empty.pem", nil)}, "the file is empty"},
		{"garbage", config.Tenant{Auth: config.AuthClientCertificate, ClientCertificateFile: write("garbage.pem", []byte(contents))}, "no PEM certificate or key in it"},
		{"encrypted key", config.Tenant{Auth: config.AuthClientCertificate, ClientCertificateFile: write("enc.pem",
			append(append([]byte{}, certPEM...), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte(contents)})...))}, "the private key is encrypted"},
		{"certificate only", config.Tenant{Auth: config.AuthClientCertificate, ClientCertificateFile: write("cert.pem", certPEM)}, "a certificate but no private key"},
		{"key only", config.Tenant{Auth: config.AuthClientCertificate, ClientCertificateFile: write("key.pem", keyPEM(key))}, "a private key but no certificate"},
		{"mismatched key", config.Tenant{Auth: config.AuthClientCertificate, ClientCertificateFile: write("mismatch.pem", append(append([]byte{}, certPEM...), keyPEM(other)...))}, "the private key does not match the certificate"},
		{"not RSA", config.Tenant{Auth: config.AuthClientCertificate, ClientCertificateFile: write("ec.pem",
			append(append([]byte{}, certPEM...), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})...))}, "not an RSA key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.t.TenantID, c.t.ClientID, c.t.AuthorityHost, c.t.GraphEndpoint = tenantID, clientID, "https://login.microsoftonline.com/", "https://graph.microsoft.com"
			_, err := graphapi.NewCredential(c.t, nil)
			if err == nil {
				t.Fatal("no error")
			}
			file := c.t.ClientSecretFile + c.t.ClientCertificateFile
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), file) {
				t.Errorf("got %q, want it to name %s and say %q", err, file, c.want)
			}
			if strings.Contains(err.Error(), contents) || strings.Contains(err.Error(), "BEGIN") {
				t.Errorf("the error shows the file's contents: %v", err)
			}
		})
	}
}
