//go:build unix

package graphapi_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/graphapi"
)

// A FIFO as a credential file is refused at once: opening it used to block
// until a writer came, and --config.check, reloads and shutdown with it.
func TestCredentialFileFIFO(t *testing.T) {
	for _, auth := range []string{config.AuthClientSecret, config.AuthClientCertificate} {
		t.Run(auth, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "credential")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			tenant := config.Tenant{TenantID: tenantID, ClientID: clientID, Auth: auth,
				AuthorityHost: "https://login.microsoftonline.com/", GraphEndpoint: "https://graph.microsoft.com"}
			key := "client_secret_file"
			if auth == config.AuthClientSecret {
				tenant.ClientSecretFile = fifo
			} else {
				tenant.ClientCertificateFile, key = fifo, "client_certificate_file"
			}
			done := make(chan error, 1)
			go func() { _, err := graphapi.NewCredential(tenant, nil); done <- err }()
			select {
			case err := <-done:
				want := key + ` "` + fifo + `": cannot read the file: not a regular file: it is a FIFO (named pipe)`
				if err == nil || err.Error() != want {
					t.Errorf("got %v, want %s", err, want)
				}
			case <-time.After(time.Second):
				// Release the reader, so that the test can end.
				if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					w.Close()
				}
				t.Fatal("NewCredential blocked on a FIFO")
			}
		})
	}
}

// A credential file may be a symlink to a regular file, as Kubernetes
// mounts a Secret.
func TestCredentialFileSymlink(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "..data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "..data", "secret"), []byte("a-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "secret")
	if err := os.Symlink(filepath.Join("..data", "secret"), link); err != nil {
		t.Fatal(err)
	}
	_, err := graphapi.NewCredential(config.Tenant{TenantID: tenantID, ClientID: clientID, Auth: config.AuthClientSecret,
		ClientSecretFile: link, AuthorityHost: "https://login.microsoftonline.com/", GraphEndpoint: "https://graph.microsoft.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
}
