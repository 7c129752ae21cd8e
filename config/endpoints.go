package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// CheckEndpoints refuses every tenant whose authority_host or graph_endpoint
// is not a national cloud's: whoever can edit the configuration could
// otherwise send the credential to a host of their choosing. Unless given
// --config.allow-custom-endpoints, the exporter runs it on every load.
func CheckEndpoints(c *Config, source string) error {
	logins, graphs := cloudHosts()
	authorityKey := "authority_host"
	if source == "environment" {
		authorityKey = envKeys[authorityKey]
	}
	var errs []error
	for i, t := range c.Tenants {
		check := func(key, rawURL, what string, known map[string]bool) {
			if host := endpointHost(rawURL); !known[host] {
				errs = append(errs, fmt.Errorf("%s: tenants[%d] (%s): %s: %q is not a national cloud's %s host (%s); "+
					"the credential would go there: to allow it, start the exporter with --config.allow-custom-endpoints",
					source, i, t.Name, key, host, what, strings.Join(slices.Sorted(maps.Keys(known)), ", ")))
			}
		}
		check(authorityKey, t.AuthorityHost, "login", logins)
		check("graph_endpoint", t.GraphEndpoint, "Graph", graphs)
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
	return strings.TrimSuffix(strings.ToLower(u.Host), ":443")
}
