package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// CheckEndpoints refuses every tenant whose authority_host or
// graph_endpoint is not a national cloud's: whoever can edit the
// configuration could otherwise send the credential (a secret file's
// content, a federated token) to a host of their choosing. Without
// --config.allow-custom-endpoints the exporter runs this on every load.
// source names the configuration in the errors, as Load's do.
func CheckEndpoints(c *Config, source string) error {
	logins, graphs := cloudHosts()
	keys := map[string]string{"authority_host": "authority_host", "graph_endpoint": "graph_endpoint"}
	if source == "environment" {
		keys["authority_host"] = envKeys["authority_host"]
	}
	var errs []error
	for i, t := range c.Tenants {
		for _, e := range []struct {
			key, url string
			known    map[string]bool
			what     string
		}{
			{"authority_host", t.AuthorityHost, logins, "login"},
			{"graph_endpoint", t.GraphEndpoint, graphs, "Graph"},
		} {
			if host := endpointHost(e.url); !e.known[host] {
				errs = append(errs, fmt.Errorf("%s: tenants[%d] (%s): %s: %q is not a national cloud's %s host (%s); "+
					"the credential would go there: to allow it, start the exporter with --config.allow-custom-endpoints",
					source, i, t.Name, keys[e.key], host, e.what, strings.Join(slices.Sorted(maps.Keys(e.known)), ", ")))
			}
		}
	}
	return errors.Join(errs...)
}

// NationalLoginHost reports whether rawURL is on a national cloud's login host.
func NationalLoginHost(rawURL string) bool {
	logins, _ := cloudHosts()
	return logins[endpointHost(rawURL)]
}

// cloudHosts are the national clouds' login hosts and Graph hosts.
func cloudHosts() (logins, graphs map[string]bool) {
	logins, graphs = map[string]bool{}, map[string]bool{}
	for _, cl := range clouds {
		logins[endpointHost(cl.AuthorityHost)] = true
		graphs[endpointHost(cl.GraphEndpoint)] = true
	}
	return logins, graphs
}

// endpointHost is the host of an https URL, lower case, without the default port.
func endpointHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	host := strings.ToLower(u.Host)
	return strings.TrimSuffix(host, ":443")
}
