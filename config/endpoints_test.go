package config

import (
	"strings"
	"testing"
)

func TestCheckEndpoints(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       string // "": accepted; else the whole error
	}{
		{"public cloud by default", "tenants: [{name: a, tenant_id: t, client_id: c, client_secret: s}]", ""},
		{"every national cloud", `tenants:
  - {name: a, tenant_id: t, client_id: c, client_secret: s, cloud: china}
  - {name: b, tenant_id: t, client_id: c2, client_secret: s, cloud: usgovernment_dod}
  - {name: c, tenant_id: t, client_id: c3, client_secret: s, authority_host: "https://LOGIN.microsoftonline.com:443/", graph_endpoint: "https://graph.microsoft.com/"}`, ""},
		{"a foreign login host", "tenants: [{name: a, tenant_id: t, client_id: c, client_secret: s, authority_host: 'https://attacker.example/'}]",
			`f.yml: tenants[0] (a): authority_host: "attacker.example" is not a national cloud's login host (login.chinacloudapi.cn, login.microsoftonline.com, login.microsoftonline.us); the credential would go there: to allow it, start the exporter with --config.allow-custom-endpoints`},
		{"another port", "tenants: [{name: a, tenant_id: t, client_id: c, client_secret: s, authority_host: 'https://login.microsoftonline.com:8443/'}]",
			`f.yml: tenants[0] (a): authority_host: "login.microsoftonline.com:8443" is not a national cloud's login host (login.chinacloudapi.cn, login.microsoftonline.com, login.microsoftonline.us); the credential would go there: to allow it, start the exporter with --config.allow-custom-endpoints`},
		{"a foreign Graph host, inherited", `defaults: {graph_endpoint: "https://graph.example.test"}
tenants: [{name: a, tenant_id: t, client_id: c, client_secret: s}]`,
			`f.yml: tenants[0] (a): graph_endpoint: "graph.example.test" is not a national cloud's Graph host (dod-graph.microsoft.us, graph.microsoft.com, graph.microsoft.us, microsoftgraph.chinacloudapi.cn); the credential would go there: to allow it, start the exporter with --config.allow-custom-endpoints`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(c.yaml), "f.yml")
			if err != nil {
				t.Fatal(err)
			}
			err = CheckEndpoints(cfg, "f.yml")
			if got := errText(err); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	cfg, err := FromEnv(envMap{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s",
		"AZURE_AUTHORITY_HOST": "https://attacker.example/"}.get)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckEndpoints(cfg, "environment"); err == nil || !strings.HasPrefix(err.Error(), `environment: tenants[0] (default): AZURE_AUTHORITY_HOST: "attacker.example" is not`) {
		t.Errorf("from the environment: %v", err)
	}
}

type envMap map[string]string

func (m envMap) get(k string) string { return m[k] }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestNationalLoginHost(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://login.microsoftonline.com/": true, "https://LOGIN.microsoftonline.us:443/": true, "https://login.chinacloudapi.cn": true,
		"https://login.microsoftonline.com:8443/": false, "https://127.0.0.1:8443/": false, "https://graph.microsoft.com": false, "::": false,
	} {
		if got := NationalLoginHost(raw); got != want {
			t.Errorf("NationalLoginHost(%q) = %v, want %v", raw, got, want)
		}
	}
}
