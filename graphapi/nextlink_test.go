package graphapi

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestCheckNextLinkHosts: a nextLink may spell Graph's default port out,
// and nothing else may differ from the configured endpoint.
func TestCheckNextLinkHosts(t *testing.T) {
	endpoint, _ := url.Parse("https://graph.microsoft.com")
	c := &Client{endpoint: endpoint, maxPages: 10}
	for link, ok := range map[string]bool{
		"https://graph.microsoft.com/v1.0/reports/x?$skiptoken=a":     true,
		"https://graph.microsoft.com:443/v1.0/reports/x?$skiptoken=a": true,
		"https://GRAPH.microsoft.com/beta/reports/x":                  true,
		"https://graph.microsoft.com:8443/v1.0/reports/x":             false,
		"http://graph.microsoft.com/v1.0/reports/x":                   false,
		"http://graph.microsoft.com:443/v1.0/reports/x":               false,
		"https://graph.microsoft.com.evil.example/v1.0/reports/x":     false,
		"https://evil.example/v1.0/reports/x":                         false,
		"https://graph.microsoft.com@evil.example/v1.0/reports/x":     false,
	} {
		if err := c.checkNextLink(link, map[string]bool{}); (err == nil) != ok {
			t.Errorf("%s: got %v, want accepted=%v", link, err, ok)
		}
	}
}

// TestHintOf: a 403 for want of directory read access names the permission
// it needs, not the report permissions of other 403s.
func TestHintOf(t *testing.T) {
	noDir := fmt.Errorf("poll: %w", &Error{StatusCode: 403, Code: codeNoDirectoryRead, Reason: ReasonForbidden})
	if h := HintOf(noDir); !strings.Contains(h, "Directory.Read.All") || strings.Contains(h, "AuditLog") {
		t.Errorf("hint for %s: %q", codeNoDirectoryRead, h)
	}
	other := &Error{StatusCode: 403, Code: "Authorization_RequestDenied", Reason: ReasonForbidden}
	if h := HintOf(other); h != hints[ReasonForbidden] {
		t.Errorf("hint for another 403: %q", h)
	}
}
