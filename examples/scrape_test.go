package examples

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/rules"
)

const (
	alloyPath = "alloy/entra-authmethods-exporter.alloy"
	agentPath = "prometheus-agent/prometheus.yml"
)

// alloyBlocks returns the top-level blocks of an Alloy file ("name label"
// to body) after checking that braces, brackets and strings are balanced.
// No Alloy runs here; this catches what a hand edit breaks most often.
func alloyBlocks(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Strip comments outside strings, tracking nesting.
	var code strings.Builder
	var stack []byte
	inString := false
	src := string(raw)
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case inString:
			if c == '\\' && i+1 < len(src) {
				code.WriteByte(c)
				i++
				c = src[i]
			} else if c == '"' {
				inString = false
			} else if c == '\n' {
				t.Fatalf("%s: a string runs past the end of its line", path)
			}
		case c == '"':
			inString = true
		case c == '/' && strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
			c = '\n'
		case c == '{' || c == '[':
			stack = append(stack, c)
		case c == '}' || c == ']':
			open := byte('{')
			if c == ']' {
				open = '['
			}
			if len(stack) == 0 || stack[len(stack)-1] != open {
				t.Fatalf("%s: unbalanced %c", path, c)
			}
			stack = stack[:len(stack)-1]
		}
		code.WriteByte(c)
	}
	if inString || len(stack) > 0 {
		t.Fatalf("%s: unterminated string or block", path)
	}

	blocks := map[string]string{}
	header := regexp.MustCompile(`(?m)^([a-z_]+(?:\.[a-z_]+)+) "([a-z0-9_]+)" \{`)
	text := code.String()
	for _, m := range header.FindAllStringSubmatchIndex(text, -1) {
		depth, end := 0, -1
		for j := m[1] - 1; j < len(text) && end < 0; j++ {
			switch text[j] {
			case '{':
				depth++
			case '}':
				if depth--; depth == 0 {
					end = j
				}
			}
		}
		blocks[text[m[2]:m[3]]+" "+text[m[4]:m[5]]] = text[m[1]:end]
	}
	return blocks
}

// TestAlloySnippet checks the Alloy snippet: a prometheus.scrape of the
// exporter as the rules' job, forwarding to a prometheus.remote_write the
// file defines.
func TestAlloySnippet(t *testing.T) {
	blocks := alloyBlocks(t, alloyPath)
	var scrape, label string
	for name, body := range blocks {
		if kind, l, _ := strings.Cut(name, " "); kind == "prometheus.scrape" {
			scrape, label = body, l
		}
	}
	if scrape == "" {
		t.Fatalf("%s: no prometheus.scrape block (blocks: %v)", alloyPath, blocks)
	}
	attr := func(name string) string {
		m := regexp.MustCompile(`(?m)^\s*` + name + `\s*=\s*(.+?)\s*$`).FindStringSubmatch(scrape)
		if m == nil {
			return ""
		}
		return m[1]
	}
	if got, want := attr("job_name"), `"`+rules.Defaults().Job+`"`; got != want {
		t.Errorf("%s: prometheus.scrape %q: job_name = %s, want %s (the rules' job; Alloy's default is the component's name)", alloyPath, label, got, want)
	}
	if !regexp.MustCompile(`"__address__"\s*=\s*"[^"]+:9871"`).MatchString(scrape) {
		t.Errorf("%s: prometheus.scrape %q: no target on port 9871", alloyPath, label)
	}
	m := regexp.MustCompile(`^\[\s*prometheus\.remote_write\.([a-z0-9_]+)\.receiver\s*,?\s*\]$`).FindStringSubmatch(attr("forward_to"))
	if m == nil {
		t.Fatalf("%s: forward_to = %s, want [prometheus.remote_write.<label>.receiver]", alloyPath, attr("forward_to"))
	}
	rw, ok := blocks["prometheus.remote_write "+m[1]]
	if !ok {
		t.Errorf("%s: forward_to names prometheus.remote_write.%s, which the file does not define", alloyPath, m[1])
	}
	if !regexp.MustCompile(`endpoint\s*\{[^}]*url\s*=\s*"https?://[^"]+"`).MatchString(rw) {
		t.Errorf("%s: prometheus.remote_write %s: no endpoint with a url", alloyPath, m[1])
	}
}

// TestPrometheusAgentConfig has promtool check the agent's configuration and
// checks that it scrapes the exporter as the rules' job and writes remotely.
func TestPrometheusAgentConfig(t *testing.T) {
	var c struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
		RemoteWrite []struct {
			URL string `yaml:"url"`
		} `yaml:"remote_write"`
	}
	decodeYAMLFile(t, agentPath, &c)
	if len(c.ScrapeConfigs) != 1 || c.ScrapeConfigs[0].JobName != rules.Defaults().Job {
		t.Errorf("%s: want one scrape config with job_name %s", agentPath, rules.Defaults().Job)
	}
	if len(c.RemoteWrite) == 0 || c.RemoteWrite[0].URL == "" {
		t.Errorf("%s: no remote_write url", agentPath)
	}
	if len(c.RuleFiles) > 0 {
		t.Errorf("%s: rule_files: an agent evaluates no rules", agentPath)
	}
	out, err := exec.Command(testenv.Tool(t, "promtool"), "check", "config", agentPath).CombinedOutput()
	if err != nil {
		t.Errorf("promtool check config %s: %v\n%s", agentPath, err, out)
	}
}
