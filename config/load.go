package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

// authKeyValues lists the values the `auth` key accepts.
var authKeyValues = []string{AuthWorkloadIdentity, AuthManagedIdentity, AuthAzureCLI, AuthDefault}

// Limits on graph_rate_limit: beyond them the pacing is surely a typo
// (Graph's own limit is 5 requests per 10s).
const (
	maxRateRequests = 1000
	maxRatePer      = time.Hour
)

// rawConfig mirrors the file. Pointers tell "absent" (take the default)
// from an explicit value that must be validated.
type rawConfig struct {
	PollInterval      *duration     `yaml:"poll_interval"`
	RequestTimeout    *duration     `yaml:"request_timeout"`
	GraphRateLimit    *rawRateLimit `yaml:"graph_rate_limit"`
	GraphAppRateLimit *rawRateLimit `yaml:"graph_app_rate_limit"`
	MaxFailureReasons *int          `yaml:"max_failure_reasons"`
	MaxLabelValues    *int          `yaml:"max_label_values"`
	MaxPagesPerPoll   *int          `yaml:"max_pages_per_poll"`
	Tenants           []rawTenant   `yaml:"tenants"`
}

type rawRateLimit struct {
	Requests *int      `yaml:"requests"`
	Per      *duration `yaml:"per"`
}

type rawTenant struct {
	Name                  string   `yaml:"name"`
	TenantID              string   `yaml:"tenant_id"`
	ClientID              string   `yaml:"client_id"`
	ClientSecret          string   `yaml:"client_secret"`
	ClientSecretFile      string   `yaml:"client_secret_file"`
	ClientCertificateFile string   `yaml:"client_certificate_file"`
	Auth                  string   `yaml:"auth"`
	Cloud                 string   `yaml:"cloud"`
	AuthorityHost         string   `yaml:"authority_host"`
	GraphEndpoint         string   `yaml:"graph_endpoint"`
	Reports               []string `yaml:"reports"`
	UsageSummaryPeriods   []string `yaml:"usage_summary_periods"`
}

// duration keeps the text and line of a duration value, so that validation
// can name both the key and the line when the value is wrong.
type duration struct {
	text string
	line int
}

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		// A TypeError (not a plain error) lets the decoder go on and report
		// the file's other problems too.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a duration such as 30s, 15m or 1h", n.Line)}}
	}
	d.text, d.line = n.Value, n.Line
	return nil
}

// Load reads and validates the configuration file at path. Relative
// credential file paths are taken relative to the file's directory, as
// Prometheus does.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	c, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for i := range c.Tenants {
		t := &c.Tenants[i]
		t.ClientSecretFile = relativeTo(dir, t.ClientSecretFile)
		t.ClientCertificateFile = relativeTo(dir, t.ClientCertificateFile)
	}
	return c, nil
}

func relativeTo(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// Parse decodes and validates a configuration file's content. source names
// the file in error messages. All problems are reported together, one per
// line, each starting with source.
func Parse(data []byte, source string) (*Config, error) {
	var raw rawConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	switch err := dec.Decode(&raw); {
	case errors.Is(err, io.EOF): // empty file: reported below as "no tenants"
	case err != nil:
		return nil, yamlError(source, err)
	default:
		// A second document would otherwise be silently ignored.
		var extra yaml.Node
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: only one YAML document is allowed", source)
		}
	}
	return build(raw, source, nil)
}

// FromEnv builds a one-tenant configuration, named "default", from the
// environment variables azidentity reads: AZURE_TENANT_ID, AZURE_CLIENT_ID,
// and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH. Without either,
// AZURE_FEDERATED_TOKEN_FILE selects workload identity, and otherwise the
// tenant uses azidentity's default chain. AZURE_AUTHORITY_HOST overrides the
// login host; a national cloud's host selects that cloud's Graph endpoint.
func FromEnv(getenv func(string) string) (*Config, error) {
	t := rawTenant{
		Name:                  DefaultTenantName,
		TenantID:              getenv("AZURE_TENANT_ID"),
		ClientID:              getenv("AZURE_CLIENT_ID"),
		ClientSecret:          getenv("AZURE_CLIENT_SECRET"),
		ClientCertificateFile: getenv("AZURE_CLIENT_CERTIFICATE_PATH"),
		AuthorityHost:         getenv("AZURE_AUTHORITY_HOST"),
	}
	if t.ClientSecret == "" && t.ClientCertificateFile == "" && getenv("AZURE_FEDERATED_TOKEN_FILE") != "" {
		t.Auth = AuthWorkloadIdentity
	}
	// A national cloud's login host implies its Graph endpoint too.
	t.Cloud = cloudOf(t.AuthorityHost)
	c, err := build(rawConfig{Tenants: []rawTenant{t}}, "environment", envKeys)
	if t.ClientCertificateFile != "" && getenv("AZURE_CLIENT_CERTIFICATE_PASSWORD") != "" {
		err = errors.Join(err, errors.New("environment: AZURE_CLIENT_CERTIFICATE_PASSWORD: not supported; use an unencrypted PEM file"))
		c = nil
	}
	return c, err
}

// envKeys names FromEnv's variables in place of the file keys they fill.
var envKeys = map[string]string{
	"tenant_id":               "AZURE_TENANT_ID",
	"client_id":               "AZURE_CLIENT_ID",
	"client_secret":           "AZURE_CLIENT_SECRET",
	"client_certificate_file": "AZURE_CLIENT_CERTIFICATE_PATH",
	"authority_host":          "AZURE_AUTHORITY_HOST",
}

// cloudOf returns the first cloud, in name order, whose login host is
// authorityHost, or "" (the default cloud) when none is.
func cloudOf(authorityHost string) string {
	h := strings.ToLower(strings.TrimRight(authorityHost, "/") + "/")
	for _, name := range slices.Sorted(maps.Keys(clouds)) {
		if clouds[name].AuthorityHost == h {
			return name
		}
	}
	return ""
}

var (
	unknownFieldRE = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)
	cannotDecodeRE = regexp.MustCompile(`^line (\d+): cannot unmarshal !!(\w+)(?: (` + "`.*`" + `))? into (.+)$`)
)

// yamlError rewrites yaml.v3's messages, which name Go types, into ones
// that name the file's keys and lines.
func yamlError(source string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %s", source, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	errs := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("line %s: unknown key %q%s", m[1], m[2], typeWords[m[3]].where)
		} else if m := cannotDecodeRE.FindStringSubmatch(msg); m != nil {
			want := typeWords[m[4]].what
			if want == "" {
				want = m[4]
			}
			// yaml.v3 already shortens long values, so little of a
			// misplaced value can show.
			msg = fmt.Sprintf("line %s: expected %s, got %s %s", m[1], want, yamlKinds[m[2]], yamlValue(m[3]))
		}
		errs = append(errs, fmt.Errorf("%s: %s", source, strings.TrimSpace(msg)))
	}
	return errors.Join(errs...)
}

// yamlValue is the value yaml.v3 quotes in a message (`abc`, already cut
// to seven characters and "..." when longer) as it may be echoed: a long
// one, or one with an Entra secret's '~', may be a secret in the wrong
// place, so at most its first three characters are shown.
func yamlValue(quoted string) string {
	v := strings.Trim(quoted, "`")
	if strings.HasSuffix(v, "...") || strings.Contains(v, "~") {
		return "`" + redact.Cut(v, 3) + "` (not shown whole in case it is a secret)"
	}
	return quoted
}

// urlValue echoes a URL that was refused: whole when it is plainly a URL
// (short, no query, no '~'), else its scheme, host and path only (its query
// may hold anything), else as redact.Value echoes any value.
func urlValue(u *url.URL, raw string) string {
	switch {
	case len(raw) <= 200 && !strings.ContainsAny(raw, "~?#"):
		return strconv.Quote(raw)
	case u.Host != "" && !strings.Contains(u.Path, "~"):
		return strconv.Quote(redact.Cut(u.Scheme+"://"+u.Host+u.Path, 200)) + " (the rest not shown)"
	}
	return redact.Value(raw)
}

var typeWords = map[string]struct{ what, where string }{
	"config.rawConfig":     {"a mapping of settings", ""},
	"config.rawRateLimit":  {"a mapping with requests and per", " in a rate limit"},
	"*config.rawRateLimit": {"a mapping with requests and per", " in a rate limit"},
	"config.rawTenant":     {"a tenant (a mapping)", " in a tenant"},
	"[]config.rawTenant":   {"a list of tenants", ""},
	"[]string":             {"a list", ""},
	"string":               {"a string", ""},
	"int":                  {"an integer", ""},
}

var yamlKinds = map[string]string{
	"str": "a string", "int": "a number", "float": "a number", "bool": "a boolean",
	"seq": "a list", "map": "a mapping", "null": "nothing", "binary": "binary data", "timestamp": "a timestamp",
}

// problems collects every validation error, each prefixed with the source.
type problems struct {
	source string
	errs   []error
}

func (p *problems) add(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", p.source, fmt.Sprintf(format, args...)))
}

// build applies defaults and validates. keys renames keys in messages
// (for FromEnv); nil keeps the file's names.
func build(raw rawConfig, source string, keys map[string]string) (*Config, error) {
	p := &problems{source: source}
	c := &Config{
		PollInterval:      positiveDuration(p, "poll_interval", raw.PollInterval, DefaultPollInterval, maxPollInterval),
		RequestTimeout:    positiveDuration(p, "request_timeout", raw.RequestTimeout, DefaultRequestTimeout, maxRequestTimeout),
		GraphRateLimit:    RateLimit{Requests: DefaultRateRequests, Per: DefaultRatePer},
		GraphAppRateLimit: RateLimit{Requests: DefaultAppRateRequests, Per: DefaultAppRatePer},
		MaxFailureReasons: DefaultMaxFailureReasons,
		MaxLabelValues:    DefaultMaxLabelValues,
		MaxPagesPerPoll:   DefaultMaxPagesPerPoll,
	}
	// Shorter polls could only hammer Graph (and the token endpoint) in a loop.
	if c.PollInterval > 0 && c.PollInterval < minPollInterval {
		p.add("poll_interval: must be at least %s, got %s", model.Duration(minPollInterval), model.Duration(c.PollInterval))
	}
	c.GraphRateLimit = rateLimit(p, "graph_rate_limit", raw.GraphRateLimit, c.GraphRateLimit)
	c.GraphAppRateLimit = rateLimit(p, "graph_app_rate_limit", raw.GraphAppRateLimit, c.GraphAppRateLimit)
	c.MaxPagesPerPoll = atLeastOne(p, "max_pages_per_poll", raw.MaxPagesPerPoll, c.MaxPagesPerPoll)
	c.MaxFailureReasons = atLeastOne(p, "max_failure_reasons", raw.MaxFailureReasons, c.MaxFailureReasons)
	c.MaxLabelValues = atLeastOne(p, "max_label_values", raw.MaxLabelValues, c.MaxLabelValues)
	if len(raw.Tenants) == 0 {
		p.add("tenants: no tenants configured; list at least one")
	}
	seen := map[string]int{}
	for i, rt := range raw.Tenants {
		label := fmt.Sprintf("tenants[%d]", i)
		if rt.Name != "" {
			label += fmt.Sprintf(" (%s)", rt.Name)
		}
		tp := &tenantProblems{p: p, label: label, keys: keys}
		if j, dup := seen[rt.Name]; dup && rt.Name != "" {
			tp.add("name", "%s is already used by tenants[%d]", redact.Value(rt.Name), j)
		} else {
			seen[rt.Name] = i
		}
		c.Tenants = append(c.Tenants, buildTenant(rt, tp))
	}
	sameApp(p, c.Tenants)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

// atLeastOne returns *v (or def when absent), checking that it is at least 1.
func atLeastOne(p *problems, key string, v *int, def int) int {
	if v == nil {
		return def
	}
	if *v < 1 {
		p.add("%s: must be at least 1, got %d", key, *v)
	}
	return *v
}

// sameApp refuses two tenants that read one directory with one app
// registration: they would share Graph's throttle budget for that pair,
// each poll the same reports, and export the same numbers twice.
func sameApp(p *problems, tenants []Tenant) {
	type pair struct{ tenantID, clientID, graph string }
	first := map[pair]int{}
	for i, t := range tenants {
		if t.TenantID == "" || t.ClientID == "" {
			continue
		}
		k := pair{strings.ToLower(t.TenantID), strings.ToLower(t.ClientID), strings.ToLower(t.GraphEndpoint)}
		if j, dup := first[k]; dup {
			p.add("tenants[%d] (%s): tenant_id and client_id are those of tenants[%d] (%s): one app registration reading one directory is one tenant entry; list its reports there",
				i, t.Name, j, tenants[j].Name)
			continue
		}
		first[k] = i
	}
}

// positiveDuration parses d (or returns def when absent) and checks
// 0 < d <= max; max 0 means no upper limit.
// rateLimit applies a graph_rate_limit-shaped key over its default.
func rateLimit(p *problems, key string, rl *rawRateLimit, def RateLimit) RateLimit {
	if rl == nil {
		return def
	}
	out := def
	if rl.Requests != nil {
		out.Requests = *rl.Requests
		if n := *rl.Requests; n < 1 || n > maxRateRequests {
			p.add("%s: requests: must be between 1 and %d, got %d", key, maxRateRequests, n)
		}
	}
	out.Per = positiveDuration(p, key+": per", rl.Per, def.Per, maxRatePer)
	return out
}

// Bounds of poll_interval and request_timeout. Polling less often than
// weekly would miss events (Graph keeps 30 days, and a week between polls
// leaves gaps in the windows), and one request has no business taking
// longer than the least time a report's poll is given (10 minutes).
const (
	minPollInterval   = time.Second
	maxPollInterval   = 7 * 24 * time.Hour
	maxRequestTimeout = 10 * time.Minute
)

func positiveDuration(p *problems, key string, d *duration, def, max time.Duration) time.Duration {
	if d == nil {
		return def
	}
	md, err := model.ParseDuration(d.text)
	v := time.Duration(md)
	switch {
	case err != nil:
		p.add("line %d: %s: %s is not a valid duration (use e.g. 30s, 15m, 1h, 1d)", d.line, key, redact.Value(d.text))
	case v <= 0:
		p.add("line %d: %s: must be greater than 0", d.line, key)
	case max > 0 && v > max:
		p.add("line %d: %s: must be at most %s, got %s", d.line, key, model.Duration(max), redact.Value(d.text))
	}
	return v
}

// tenantProblems prefixes a tenant's problems with its index, name and key.
type tenantProblems struct {
	p     *problems
	label string
	keys  map[string]string
}

func (tp *tenantProblems) key(k string) string {
	if n, ok := tp.keys[k]; ok {
		return n
	}
	return k
}

func (tp *tenantProblems) add(key, format string, args ...any) {
	tp.p.add("%s: %s: %s", tp.label, tp.key(key), fmt.Sprintf(format, args...))
}

var (
	nameRE     = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	tenantIDRE = regexp.MustCompile(`^[a-zA-Z0-9.-]+$`) // what azidentity accepts
)

func buildTenant(rt rawTenant, tp *tenantProblems) Tenant {
	t := Tenant{
		Name:                  rt.Name,
		TenantID:              rt.TenantID,
		ClientID:              rt.ClientID,
		ClientSecret:          rt.ClientSecret,
		ClientSecretFile:      rt.ClientSecretFile,
		ClientCertificateFile: rt.ClientCertificateFile,
		Cloud:                 rt.Cloud,
	}
	switch {
	case t.Name == "":
		tp.add("name", "required")
	case !nameRE.MatchString(t.Name):
		tp.add("name", "%s may only contain letters, digits, '_', '.' and '-'", redact.Value(t.Name))
	}

	// Credentials: at most one explicit one; `auth` picks the kind otherwise.
	var given []string
	for _, c := range []struct{ key, val string }{
		{"client_secret", rt.ClientSecret},
		{"client_secret_file", rt.ClientSecretFile},
		{"client_certificate_file", rt.ClientCertificateFile},
	} {
		if c.val != "" {
			given = append(given, tp.key(c.key))
		}
	}
	switch {
	case len(given) > 1:
		tp.p.add("%s: %s: give exactly one credential, not several", tp.label, strings.Join(given, ", "))
	case len(given) == 1 && rt.Auth != "":
		tp.add("auth", "cannot be combined with %s; auth only selects the credential when no secret or certificate is given", given[0])
	}
	switch {
	case rt.ClientSecret != "" || rt.ClientSecretFile != "":
		t.Auth = AuthClientSecret
	case rt.ClientCertificateFile != "":
		t.Auth = AuthClientCertificate
	case rt.Auth == "":
		t.Auth = AuthDefault
	case slices.Contains(authKeyValues, rt.Auth):
		t.Auth = rt.Auth
	default:
		tp.add("auth", "unknown value %s (known: %s)", redact.Value(rt.Auth), strings.Join(authKeyValues, ", "))
	}

	switch t.Auth {
	case AuthClientSecret, AuthClientCertificate:
		if t.ClientID == "" {
			tp.add("client_id", "required for %s", t.Auth)
		}
		fallthrough
	case AuthWorkloadIdentity:
		if t.TenantID == "" {
			tp.add("tenant_id", "required for %s", t.Auth)
		}
	}
	if t.TenantID != "" && !tenantIDRE.MatchString(t.TenantID) {
		tp.add("tenant_id", "%s is not a valid tenant ID (letters, digits, '-' and '.' only)", redact.Value(t.TenantID))
	}

	if t.Cloud == "" {
		t.Cloud = DefaultCloud
	}
	cloud, ok := clouds[t.Cloud]
	if !ok {
		tp.add("cloud", "unknown cloud %s (known: %s)", redact.Value(t.Cloud), strings.Join(slices.Sorted(maps.Keys(clouds)), ", "))
	}
	t.AuthorityHost = cmp.Or(rt.AuthorityHost, cloud.AuthorityHost)
	t.GraphEndpoint = cmp.Or(rt.GraphEndpoint, cloud.GraphEndpoint)
	if rt.AuthorityHost != "" {
		checkURL(tp, "authority_host", rt.AuthorityHost)
	}
	if rt.GraphEndpoint != "" {
		checkURL(tp, "graph_endpoint", rt.GraphEndpoint)
	}
	if t.AuthorityHost != "" {
		t.AuthorityHost = strings.TrimRight(t.AuthorityHost, "/") + "/"
	}
	t.GraphEndpoint = strings.TrimRight(t.GraphEndpoint, "/")

	t.Reports = pick(tp, "reports", "report", rt.Reports, allReports, defaultReports, false)
	t.UsageSummaryPeriods = pick(tp, "usage_summary_periods", "period", rt.UsageSummaryPeriods, usageSummaryPeriods, usageSummaryPeriods, true)
	return t
}

// checkURL requires an absolute https URL: the client secret and the
// bearer token must never travel over plain HTTP.
func checkURL(tp *tenantProblems, key, raw string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		tp.add(key, "not a valid URL")
	case u.User != nil:
		tp.add(key, "must not contain a user name or password")
	case u.Scheme != "https" || u.Host == "":
		tp.add(key, "must be an absolute https:// URL (tokens are never sent over plain HTTP), got %s", urlValue(u, raw))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		tp.add(key, "must not have a query or fragment, got %s", urlValue(u, raw))
	}
}

// pick validates a list against known values and returns it de-duplicated
// in known's order; def when the key is absent. fold accepts any case.
func pick(tp *tenantProblems, key, what string, given, known, def []string, fold bool) []string {
	if given == nil {
		return slices.Clone(def)
	}
	if len(given) == 0 {
		tp.add(key, "empty; leave the key out for the default")
		return nil
	}
	want := map[string]bool{}
	for _, g := range given {
		v := g
		if fold {
			v = strings.ToUpper(g)
		}
		if !slices.Contains(known, v) {
			tp.add(key, "unknown %s %s (known: %s)", what, redact.Value(g), strings.Join(known, ", "))
		}
		want[v] = true
	}
	var out []string
	for _, k := range known {
		if want[k] {
			out = append(out, k)
		}
	}
	return out
}
