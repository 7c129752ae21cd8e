package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
)

// --config.check refuses exactly what start-up refuses: every broken
// credential file fails both, with the same message naming the file, and
// neither shows what the file holds.
func TestConfigCheckAgreesWithStartUp(t *testing.T) {
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o600)
		return p
	}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "exporter"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := func(k *rsa.PrivateKey) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	}
	const contents = "FILE-CONTENTS-NOT-TO-SHOW"

	cases := []struct{ name, key, file, want string }{
		{"missing certificate", "client_certificate_file", filepath.Join(dir, "nope.pem"), "no such file or directory"},
		{"empty certificate", "client_certificate_file", write("empty.pem", nil), "the file is empty"},
		{"garbage certificate", "client_certificate_file", write("garbage.pem", []byte(contents)), "no PEM certificate or key"},
		{"encrypted key", "client_certificate_file", write("enc.pem", append(append([]byte{}, certPEM...),
			pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte(contents)})...)), "the private key is encrypted"},
		{"certificate only", "client_certificate_file", write("cert.pem", certPEM), "no private key"},
		{"mismatched key", "client_certificate_file", write("mismatch.pem", append(append([]byte{}, certPEM...), keyPEM(other)...)), "does not match"},
		{"missing secret file", "client_secret_file", filepath.Join(dir, "nope.txt"), "no such file or directory"},
		{"empty secret file", "client_secret_file", write("empty.txt", []byte("\n")), "the file is empty"},
		{"secret file is a directory", "client_secret_file", dir, "is a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := write(strings.ReplaceAll(c.name, " ", "_")+".yaml", []byte("tenants:\n  - name: a\n"+
				"    tenant_id: 00000000-0000-0000-0000-000000000001\n    client_id: 00000000-0000-0000-0000-000000000002\n"+
				"    "+c.key+": "+c.file+"\n"))
			check, checkErr := exec.Command(bin, "--config.file="+cfg, "--config.check").CombinedOutput()
			// Start-up: it must refuse before it listens; bound it anyway.
			cmd := exec.Command(bin, "--config.file="+cfg, "--web.listen-address="+testenv.FreeAddr(t))
			done := make(chan struct{})
			time.AfterFunc(20*time.Second, func() {
				select {
				case <-done:
				default:
					cmd.Process.Kill()
				}
			})
			run, runErr := cmd.CombinedOutput()
			close(done)
			for what, got := range map[string]struct {
				out []byte
				err error
			}{"--config.check": {check, checkErr}, "start-up": {run, runErr}} {
				var exit *exec.ExitError
				if !errors.As(got.err, &exit) || exit.ExitCode() != 1 {
					t.Errorf("%s: %v, want exit status 1\n%s", what, got.err, got.out)
				}
				if !strings.Contains(string(got.out), c.want) || !strings.Contains(string(got.out), c.file) {
					t.Errorf("%s does not say %q about %s:\n%s", what, c.want, c.file, got.out)
				}
				if strings.Contains(string(got.out), contents) || strings.Contains(string(got.out), "BEGIN") {
					t.Errorf("%s shows the file's contents:\n%s", what, got.out)
				}
			}
		})
	}
}
