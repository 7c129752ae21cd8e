package redact

import (
	"strings"
	"testing"
)

const jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJl"

func TestStringRemovesCredentials(t *testing.T) {
	for _, in := range []string{
		`ClientSecretCredential: json decode error: raw message was: {"token_type":"Bearer","expires_in":3599.5,"access_token":"opaque-token-1234"}`,
		`raw message was: {"token_type":"Bearer","access_token":"opaque-token-1234`, // cut short
		`{"access_token" : "opaque-token-1234", "expires_in": 1}`,
		`{"refresh_token":"opaque-token-1234"}`,
		`{"access_token":opaque-token-1234}`,
		`grant_type=client_credentials&client_secret=opaque-token-1234&scope=x`,
		`client_assertion=opaque-token-1234`,
		`Authorization: Bearer opaque-token-1234`,
		`token ` + jwt + ` seen`,
		strings.ToUpper(`"ACCESS_TOKEN":"opaque-token-1234"`),
	} {
		out := String(in)
		if strings.Contains(strings.ToLower(out), "opaque-token-1234") || strings.Contains(out, "eyJ0eXAi") {
			t.Errorf("String(%q) = %q: the credential is still there", in, out)
		}
		if !strings.Contains(out, Mark) {
			t.Errorf("String(%q) = %q: no %s mark", in, out, Mark)
		}
	}
}

func TestStringKeepsOrdinaryText(t *testing.T) {
	for _, in := range []string{
		"auth: getting a token: AADSTS7000215: Invalid client secret provided.",
		"server: GET /beta/reports/authenticationMethods/userEventsSummary: HTTP 503",
		"client_secret_file /run/secrets/contoso is empty",
		"",
	} {
		if out := String(in); out != in {
			t.Errorf("String(%q) = %q, want it unchanged", in, out)
		}
	}
}

func TestCut(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"longer than ten", 10, "longer tha…"},
		{"ééééé", 3, "é…"}, // never half a character
	} {
		if got := Cut(c.in, c.max); got != c.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestValue(t *testing.T) {
	if got := Value("publik"); got != `"publik"` {
		t.Errorf("Value(short) = %s", got)
	}
	secret := "abc8Q~Zx0123456789abcdefghijklmnopqrstuv"
	got := Value(secret)
	if strings.Contains(got, secret[3:]) || !strings.HasPrefix(got, `"abc…" (40 characters`) {
		t.Errorf("Value(secret) = %s", got)
	}
	if got := Value("a~b"); strings.Contains(got, "a~b") {
		t.Errorf("Value(%q) = %s: a value with ~ (as Entra secrets have) is shown whole", "a~b", got)
	}
}

func TestPath(t *testing.T) {
	if got := Path("/run/secrets/contoso"); got != `"/run/secrets/contoso"` {
		t.Errorf("Path(ordinary) = %s", got)
	}
	secret := "abc8Q~Zx0123456789abcdefghijklmnopqrstuv"
	if got := Path("/etc/exporter/" + secret); strings.Contains(got, secret[3:]) || !strings.HasPrefix(got, `"/etc/exporter/" + "abc…"`) {
		t.Errorf("Path(secret) = %s", got)
	}
}
