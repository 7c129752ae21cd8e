package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/safefile"
)

// authKeyValues lists the values the `auth` key accepts.
var authKeyValues = []string{AuthWorkloadIdentity, AuthManagedIdentity, AuthAzureCLI, AuthDefault}

// Bounds of the settings. Weekly polls already leave gaps in Graph's 30-day
// windows; no request should outlast the least time a poll is given (10m); a
// rate limit beyond its bounds is surely a typo (Graph's is 5 per 10s).
const (
	minPollInterval   = time.Second
	maxPollInterval   = 7 * 24 * time.Hour
	maxRequestTimeout = 10 * time.Minute
	maxRateRequests   = 1000
	maxRatePer        = time.Hour
)

// rawConfig mirrors the file. Pointers (and nil maps and lists) tell
// "absent" (take the default) from an explicit value that must be validated.
type rawConfig struct {
	PollInterval        *duration           `yaml:"poll_interval"`
	RequestTimeout      *duration           `yaml:"request_timeout"`
	GraphRateLimit      *rawRateLimit       `yaml:"graph_rate_limit"`
	GraphAppRateLimit   *rawRateLimit       `yaml:"graph_app_rate_limit"`
	MaxFailureReasons   *int                `yaml:"max_failure_reasons"`
	MaxLabelValues      *int                `yaml:"max_label_values"`
	MaxPagesPerPoll     *int                `yaml:"max_pages_per_poll"`
	ReportPollIntervals map[string]duration `yaml:"report_poll_intervals"`
	ExcludeMetrics      []scalar            `yaml:"exclude_metrics"`
	MethodStrengths     methodStrengths     `yaml:"method_strengths"`
	Defaults            *rawDefaults        `yaml:"defaults"`
	Tenants             []rawTenant         `yaml:"tenants"`
}

type rawRateLimit struct {
	Requests *int      `yaml:"requests"`
	Per      *duration `yaml:"per"`
}

type rawTenant struct {
	Name          string    `yaml:"name"`
	TenantID      string    `yaml:"tenant_id"`
	Groups        groupsMap `yaml:"groups"` // object ids: a tenant's own, never from defaults
	rawTenantKeys `yaml:",inline"`
}

// methodStrengths maps method names to strength classes; groupsMap maps
// label values to group object ids (types of their own for checkShape).
type (
	methodStrengths map[string]string
	groupsMap       map[string]string
)

// rawTenantKeys are the tenant keys that defaults may give too.
type rawTenantKeys struct {
	ClientID              string              `yaml:"client_id"`
	ClientSecret          string              `yaml:"client_secret"`
	ClientSecretFile      string              `yaml:"client_secret_file"`
	ClientCertificateFile string              `yaml:"client_certificate_file"`
	Auth                  string              `yaml:"auth"`
	Cloud                 string              `yaml:"cloud"`
	AuthorityHost         string              `yaml:"authority_host"`
	GraphEndpoint         string              `yaml:"graph_endpoint"`
	Reports               []string            `yaml:"reports"`
	UsageSummaryPeriods   []string            `yaml:"usage_summary_periods"`
	Labels                map[string]string   `yaml:"labels"`
	ReportPollIntervals   map[string]duration `yaml:"report_poll_intervals"`
	MethodStrengths       methodStrengths     `yaml:"method_strengths"`
}

type rawDefaults struct {
	// Decoded only to be refused with a message saying why.
	Name          any `yaml:"name"`
	TenantID      any `yaml:"tenant_id"`
	rawTenantKeys `yaml:",inline"`

	lines map[string]int // each key's line, for messages; set by decodeRaw
}

// scalar keeps a value's text and line, for messages.
type scalar struct {
	text string
	line int
}

// UnmarshalYAML keeps the scalar n (checkShape has checked it is one).
func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	s.text, s.line = n.Value, n.Line
	return nil
}

// duration is a scalar holding a duration (a type of its own for checkShape).
type duration struct{ scalar }

// MaxFileBytes bounds the configuration file: a thousand tenants take < 1 MiB.
const MaxFileBytes = 16 << 20

// Load reads and validates the configuration file at path. Relative credential
// file paths are taken relative to its directory, as Prometheus does.
func Load(path string) (*Config, error) {
	data, err := safefile.Read(path, MaxFileBytes)
	switch {
	case errors.Is(err, safefile.ErrTooLarge):
		return nil, fmt.Errorf("read config file: %s: larger than 16 MiB, the most a configuration file may be", path)
	case err != nil:
		return nil, fmt.Errorf("read config file: %w", err)
	}
	c, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	for i := range c.Tenants {
		for _, f := range []*string{&c.Tenants[i].ClientSecretFile, &c.Tenants[i].ClientCertificateFile} {
			if *f != "" && !filepath.IsAbs(*f) {
				*f = filepath.Join(filepath.Dir(path), *f)
			}
		}
	}
	return c, nil
}

// Parse decodes and validates a configuration file's content. source names
// the file in error messages. All problems are reported together, one per
// line, each starting with source.
func Parse(data []byte, source string) (*Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF): // an empty file, reported by build as "no tenants"
	case err != nil:
		return nil, fmt.Errorf("%s: %s", source, strings.TrimPrefix(err.Error(), "yaml: "))
	case !errors.Is(dec.Decode(new(yaml.Node)), io.EOF): // would be silently ignored
		return nil, fmt.Errorf("%s: only one YAML document is allowed", source)
	}
	var raw rawConfig
	if len(doc.Content) > 0 {
		if err := decodeRaw(doc.Content[0], source, &raw); err != nil {
			return nil, err
		}
	}
	return build(raw, source, nil)
}

// decodeRaw checks the aliases and the shape of the document top, then
// decodes it into raw, with the lines of the defaults' keys. After an error,
// raw is of no use.
func decodeRaw(top *yaml.Node, source string, raw *rawConfig) error {
	p := &problems{source: source}
	// Bounded first: checkShape, the decoder and build all expand aliases.
	if line, ok := checkAliases(top); !ok {
		p.add(line, "aliases expand to more than %d nodes; write what tenants share under defaults: instead", maxAliasNodes)
	} else {
		checkShape(p, top, reflect.TypeFor[rawConfig]())
	}
	if len(p.errs) == 0 {
		// The decoder may still refuse a key given twice, or aliasing (by its
		// own ratio), leaving raw half decoded.
		var te *yaml.TypeError
		switch err := top.Decode(raw); {
		case errors.As(err, &te):
			for _, m := range te.Errors {
				p.add(0, "%s", m)
			}
		case err != nil:
			p.add(0, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
	if raw.Defaults != nil {
		// For messages: the decoded structs do not keep the lines.
		raw.Defaults.lines = keyLines(top, "defaults")
	}
	return errors.Join(p.errs...)
}

// keyLines returns the line of each key of the mapping under key in top.
func keyLines(top *yaml.Node, key string) map[string]int {
	lines := map[string]int{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != key {
			continue
		}
		for j, m := 0, top.Content[i+1].Content; j+1 < len(m); j += 2 {
			lines[m[j].Value] = m[j].Line
		}
	}
	return lines
}

// FromEnv builds a one-tenant configuration, named "default", from the
// environment variables azidentity reads (envKeys). Without a secret or
// certificate, AZURE_FEDERATED_TOKEN_FILE selects workload identity, else
// azidentity's default chain; a national cloud's AZURE_AUTHORITY_HOST selects
// that cloud's Graph endpoint.
func FromEnv(getenv func(string) string) (*Config, error) {
	t := rawTenant{
		Name:     DefaultTenantName,
		TenantID: getenv("AZURE_TENANT_ID"),
		rawTenantKeys: rawTenantKeys{
			ClientID:              getenv("AZURE_CLIENT_ID"),
			ClientSecret:          getenv("AZURE_CLIENT_SECRET"),
			ClientCertificateFile: getenv("AZURE_CLIENT_CERTIFICATE_PATH"),
			AuthorityHost:         getenv("AZURE_AUTHORITY_HOST"),
		},
	}
	if t.ClientSecret == "" && t.ClientCertificateFile == "" && getenv("AZURE_FEDERATED_TOKEN_FILE") != "" {
		t.Auth = AuthWorkloadIdentity
	}
	// A national cloud's login host selects it (the first in name order).
	host := strings.ToLower(strings.TrimRight(t.AuthorityHost, "/") + "/")
	for _, name := range slices.Sorted(maps.Keys(clouds)) {
		if clouds[name].AuthorityHost == host {
			t.Cloud = name
			break
		}
	}
	c, err := build(rawConfig{Tenants: []rawTenant{t}}, "environment", envKeys)
	if t.ClientCertificateFile != "" && getenv("AZURE_CLIENT_CERTIFICATE_PASSWORD") != "" {
		return nil, errors.Join(err, errors.New("environment: AZURE_CLIENT_CERTIFICATE_PASSWORD: not supported; use an unencrypted PEM file"))
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

// maxProblems bounds the problems reported: past it, they are surely the same
// few mistakes repeated, and a hostile file could make millions.
const maxProblems = 100

// problems collects the validation errors, each prefixed with the source.
type problems struct {
	source string
	errs   []error
}

// add reports a problem, at line unless that is 0 (unknown).
func (p *problems) add(line int, format string, args ...any) {
	switch n := len(p.errs); {
	case n == maxProblems:
		p.errs = append(p.errs, fmt.Errorf("%s: ... and more problems; fix these first", p.source))
	case n < maxProblems:
		msg := fmt.Sprintf(format, args...)
		if line > 0 {
			msg = fmt.Sprintf("line %d: %s", line, msg)
		}
		p.errs = append(p.errs, fmt.Errorf("%s: %s", p.source, msg))
	}
}

// build applies defaults and validates. keys renames keys in messages
// (for FromEnv); nil keeps the file's names.
func build(raw rawConfig, source string, keys map[string]string) (*Config, error) {
	p := &problems{source: source}
	c := &Config{
		PollInterval:   positiveDuration(p, "poll_interval", raw.PollInterval, DefaultPollInterval, maxPollInterval),
		RequestTimeout: positiveDuration(p, "request_timeout", raw.RequestTimeout, DefaultRequestTimeout, maxRequestTimeout),
	}
	// Shorter polls could only hammer Graph (and the token endpoint) in a loop.
	if c.PollInterval > 0 && c.PollInterval < minPollInterval {
		p.add(0, "poll_interval: must be at least %s, got %s", model.Duration(minPollInterval), model.Duration(c.PollInterval))
	}
	c.GraphRateLimit = rateLimit(p, "graph_rate_limit", raw.GraphRateLimit, RateLimit{DefaultRateRequests, DefaultRatePer})
	c.GraphAppRateLimit = rateLimit(p, "graph_app_rate_limit", raw.GraphAppRateLimit, RateLimit{DefaultAppRateRequests, DefaultAppRatePer})
	c.MaxPagesPerPoll = atLeastOne(p, "max_pages_per_poll", raw.MaxPagesPerPoll, DefaultMaxPagesPerPoll)
	c.MaxFailureReasons = atLeastOne(p, "max_failure_reasons", raw.MaxFailureReasons, DefaultMaxFailureReasons)
	c.MaxLabelValues = atLeastOne(p, "max_label_values", raw.MaxLabelValues, DefaultMaxLabelValues)
	c.ReportPollIntervals = topPollIntervals(p, raw.ReportPollIntervals, c.PollInterval)
	c.ExcludeMetrics = excludeMetrics(p, raw.ExcludeMetrics)
	if err := checkMethodStrengths(raw.MethodStrengths); err != nil {
		p.add(0, "method_strengths: %s", err)
	}
	if len(raw.Tenants) == 0 {
		p.add(0, "tenants: no tenants configured; list at least one")
	}
	// The defaults are checked on their own, so a problem there is reported
	// once rather than for every tenant that inherits it.
	var defaults rawTenantKeys
	dp := &tenantProblems{p: p, label: "defaults", defaults: true, bad: map[string]bool{}}
	if d := raw.Defaults; d != nil {
		defaults, dp.lines = d.rawTenantKeys, d.lines
		const perTenant = "not allowed in defaults: name and tenant_id are set per tenant"
		if _, given := d.lines["name"]; given || d.Name != nil {
			dp.add("name", perTenant)
		}
		if _, given := d.lines["tenant_id"]; given || d.TenantID != nil {
			dp.add("tenant_id", perTenant)
		}
		buildTenant(rawTenant{rawTenantKeys: defaults}, dp, c)
	}
	seen := map[string]int{}
	for i, rt := range raw.Tenants {
		label := fmt.Sprintf("tenants[%d]", i)
		if rt.Name != "" {
			label += fmt.Sprintf(" (%s)", rt.Name)
		}
		rt, inherited := inherit(rt, defaults)
		tp := &tenantProblems{p: p, label: label, keys: keys, inherited: inherited, defaultsBad: dp.bad}
		if j, dup := seen[rt.Name]; dup && rt.Name != "" {
			tp.add("name", "%s is already used by tenants[%d]", redact.Value(rt.Name), j)
		} else {
			seen[rt.Name] = i
		}
		t := buildTenant(rt, tp, c)
		// Unlike other mappings, method_strengths is merged, key by key.
		t.MethodStrengths = mergeStrengths(raw.MethodStrengths, defaults.MethodStrengths, rt.MethodStrengths)
		c.Tenants = append(c.Tenants, t)
	}
	sameApp(p, c.Tenants)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

// positiveDuration returns d parsed (def when absent), checking 0 < d <= max.
func positiveDuration(p *problems, key string, d *duration, def, max time.Duration) time.Duration {
	if d == nil {
		return def
	}
	v, msg := checkDuration(*d, 0, max)
	if msg != "" {
		p.add(d.line, "%s: %s", key, msg)
	}
	return v
}

// checkDuration parses d and checks min <= d <= max and 0 < d; it returns the
// problem, if any, as a message without the key.
func checkDuration(d duration, min, max time.Duration) (time.Duration, string) {
	md, err := model.ParseDuration(d.text)
	v := time.Duration(md)
	switch {
	case err != nil:
		return v, fmt.Sprintf("%s is not a valid duration (use e.g. 30s, 15m, 1h, 1d)", redact.Value(d.text))
	case v <= 0:
		return v, "must be greater than 0"
	case v > max:
		return v, fmt.Sprintf("must be at most %s, got %s", model.Duration(max), redact.Value(d.text))
	case v < min:
		return v, fmt.Sprintf("must be at least %s, got %s", model.Duration(min), redact.Value(d.text))
	}
	return v, ""
}

// rateLimit applies a graph_rate_limit-shaped key over its default.
func rateLimit(p *problems, key string, rl *rawRateLimit, def RateLimit) RateLimit {
	if rl == nil {
		return def
	}
	out := def
	if rl.Requests != nil {
		out.Requests = *rl.Requests
		if out.Requests < 1 || out.Requests > maxRateRequests {
			p.add(0, "%s: requests: must be between 1 and %d, got %d", key, maxRateRequests, out.Requests)
		}
	}
	out.Per = positiveDuration(p, key+": per", rl.Per, def.Per, maxRatePer)
	return out
}

// atLeastOne returns *v (or def when absent), checking that it is at least 1.
func atLeastOne(p *problems, key string, v *int, def int) int {
	if v == nil {
		return def
	}
	if *v < 1 {
		p.add(0, "%s: must be at least 1, got %d", key, *v)
	}
	return *v
}

// topPollIntervals validates the top-level report_poll_intervals; without
// it, the built-in ones apply, but never more often than poll_interval.
func topPollIntervals(p *problems, given map[string]duration, poll time.Duration) map[string]time.Duration {
	if given != nil {
		return pollIntervals(given, func(line int, format string, args ...any) {
			p.add(line, "report_poll_intervals: "+format, args...)
		})
	}
	out := maps.Clone(defaultReportPollIntervals)
	for r, d := range out {
		out[r] = max(d, poll)
	}
	return out
}

// pollIntervals validates a report_poll_intervals mapping (with poll_interval's
// bounds), passing each problem to bad with its line.
func pollIntervals(given map[string]duration, bad func(line int, format string, args ...any)) map[string]time.Duration {
	out := make(map[string]time.Duration, len(given))
	// In file order, so that the messages are.
	byLine := func(a, b string) int { return cmp.Or(cmp.Compare(given[a].line, given[b].line), strings.Compare(a, b)) }
	for _, r := range slices.SortedFunc(maps.Keys(given), byLine) {
		d := given[r]
		if !slices.Contains(allReports, r) {
			bad(d.line, "unknown report %s (known: %s)", redact.Value(r), strings.Join(allReports, ", "))
			continue
		}
		v, msg := checkDuration(d, minPollInterval, maxPollInterval)
		if d.line == 0 { // the key without a value, which yaml.v3 does not pass to duration
			msg = "no duration given"
		}
		if msg != "" {
			bad(d.line, "%s: %s", r, msg)
			continue
		}
		out[r] = v
	}
	return out
}

// Metric family names exclude_metrics accepts: the exporter's namespace.
var metricNameRE = regexp.MustCompile(`^entra_authmethods_[a-z0-9_]+$`)

// excludeMetrics checks the form of exclude_metrics' entries; the collector
// checks which exist.
func excludeMetrics(p *problems, given []scalar) []string {
	var out []string
	first := map[string]int{}
	for i, m := range given {
		j, dup := first[m.text]
		switch {
		case !metricNameRE.MatchString(m.text):
			p.add(m.line, "exclude_metrics[%d]: %s is not a metric family name of this exporter (entra_authmethods_ followed by lower-case letters, digits and '_')", i, redact.Value(m.text))
		case dup: // of the exporter's form, so no secret: echoed whole
			p.add(m.line, "exclude_metrics[%d]: %q is already listed as exclude_metrics[%d]", i, m.text, j)
		default:
			first[m.text] = i
			out = append(out, m.text)
		}
	}
	return out
}

// sameApp refuses two tenants that read one directory with one app registration:
// they would share a throttle budget and export the same numbers twice.
func sameApp(p *problems, tenants []Tenant) {
	type pair struct{ tenantID, clientID, graph string }
	first := map[pair]int{}
	for i, t := range tenants {
		if t.TenantID == "" || t.ClientID == "" {
			continue
		}
		k := pair{strings.ToLower(t.TenantID), strings.ToLower(t.ClientID), strings.ToLower(t.GraphEndpoint)}
		if j, dup := first[k]; dup {
			p.add(0, "tenants[%d] (%s): tenant_id and client_id are those of tenants[%d] (%s): one app registration reading one directory is one tenant entry; list its reports there",
				i, t.Name, j, tenants[j].Name)
			continue
		}
		first[k] = i
	}
}

// inherit returns rt with every key it does not set taken from d, and the keys
// taken. A tenant takes the credential or endpoint keys only if it sets none of
// the group, so its own secret never meets the defaults' certificate, say.
func inherit(rt rawTenant, d rawTenantKeys) (rawTenant, map[string]bool) {
	took := map[string]bool{}
	str := func(key string, own *string, def string) {
		if *own == "" && def != "" {
			*own = def
			took[key] = true
		}
	}
	str("client_id", &rt.ClientID, d.ClientID)
	if rt.ClientSecret == "" && rt.ClientSecretFile == "" && rt.ClientCertificateFile == "" && rt.Auth == "" {
		str("client_secret", &rt.ClientSecret, d.ClientSecret)
		str("client_secret_file", &rt.ClientSecretFile, d.ClientSecretFile)
		str("client_certificate_file", &rt.ClientCertificateFile, d.ClientCertificateFile)
		str("auth", &rt.Auth, d.Auth)
	}
	if rt.Cloud == "" && rt.AuthorityHost == "" && rt.GraphEndpoint == "" {
		str("cloud", &rt.Cloud, d.Cloud)
		str("authority_host", &rt.AuthorityHost, d.AuthorityHost)
		str("graph_endpoint", &rt.GraphEndpoint, d.GraphEndpoint)
	}
	// Lists and mappings are taken whole, never merged.
	if rt.Reports == nil && d.Reports != nil {
		rt.Reports, took["reports"] = d.Reports, true
	}
	if rt.UsageSummaryPeriods == nil && d.UsageSummaryPeriods != nil {
		rt.UsageSummaryPeriods, took["usage_summary_periods"] = d.UsageSummaryPeriods, true
	}
	if rt.Labels == nil && d.Labels != nil {
		rt.Labels, took["labels"] = d.Labels, true
	}
	if rt.ReportPollIntervals == nil && d.ReportPollIntervals != nil {
		rt.ReportPollIntervals, took["report_poll_intervals"] = d.ReportPollIntervals, true
	}
	return rt, took
}

// tenantProblems prefixes a tenant's (or the defaults') problems with its label and key.
type tenantProblems struct {
	p     *problems
	label string
	keys  map[string]string // key names in messages, if not the file's

	// For the defaults block: its keys' lines, and the keys found wrong.
	defaults bool
	lines    map[string]int
	bad      map[string]bool

	// For a tenant: the keys it inherits, and those the defaults block reported.
	inherited   map[string]bool
	defaultsBad map[string]bool
}

func (tp *tenantProblems) key(k string) string { return cmp.Or(tp.keys[k], k) }

func (tp *tenantProblems) add(key, format string, args ...any) {
	tp.addAt(0, []string{key}, format, args...)
}

// addAt reports a problem with one key, or with several that conflict
// (the first standing for all), at line or else the key's line if known.
func (tp *tenantProblems) addAt(line int, keys []string, format string, args ...any) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = tp.key(k)
	}
	where := tp.label + ": " + strings.Join(names, ", ")
	if tp.inherited[keys[0]] {
		if tp.defaultsBad[keys[0]] {
			return
		}
		where += " (from defaults)"
	}
	if tp.bad != nil {
		tp.bad[keys[0]] = true
	}
	tp.p.add(cmp.Or(line, tp.lines[keys[0]]), "%s: %s", where, fmt.Sprintf(format, args...))
}

var (
	nameRE     = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	tenantIDRE = regexp.MustCompile(`^[a-zA-Z0-9.-]+$`) // what azidentity accepts
)

// buildTenant validates a tenant (after inheritance) or, with tp.defaults,
// the defaults block, which may leave out what each tenant gives itself.
func buildTenant(rt rawTenant, tp *tenantProblems, cfg *Config) Tenant {
	t := Tenant{
		Name: rt.Name, TenantID: rt.TenantID, ClientID: rt.ClientID,
		ClientSecret: rt.ClientSecret, ClientSecretFile: rt.ClientSecretFile, ClientCertificateFile: rt.ClientCertificateFile,
		Cloud: cmp.Or(rt.Cloud, DefaultCloud),
	}
	switch {
	case tp.defaults: // has no name (build refuses one)
	case t.Name == "":
		tp.add("name", "required")
	case !nameRE.MatchString(t.Name):
		tp.add("name", "%s may only contain letters, digits, '_', '.' and '-'", redact.Value(t.Name))
	}

	// Credentials: at most one explicit one; `auth` picks the kind otherwise.
	creds := map[string]string{"client_secret": rt.ClientSecret, "client_secret_file": rt.ClientSecretFile, "client_certificate_file": rt.ClientCertificateFile}
	given := slices.DeleteFunc([]string{"client_secret", "client_secret_file", "client_certificate_file"}, func(k string) bool { return creds[k] == "" })
	switch {
	case len(given) > 1:
		tp.addAt(0, given, "give exactly one credential, not several")
	case len(given) == 1 && rt.Auth != "":
		tp.add("auth", "cannot be combined with %s; auth only selects the credential when no secret or certificate is given", tp.key(given[0]))
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

	// The defaults may leave the IDs to each tenant.
	switch t.Auth {
	case AuthClientSecret, AuthClientCertificate:
		if t.ClientID == "" && !tp.defaults {
			tp.add("client_id", "required for %s", t.Auth)
		}
		fallthrough
	case AuthWorkloadIdentity:
		if t.TenantID == "" && !tp.defaults {
			tp.add("tenant_id", "required for %s", t.Auth)
		}
	}
	if t.TenantID != "" && !tenantIDRE.MatchString(t.TenantID) {
		tp.add("tenant_id", "%s is not a valid tenant ID (letters, digits, '-' and '.' only)", redact.Value(t.TenantID))
	}

	cloud, ok := clouds[t.Cloud]
	if !ok {
		tp.add("cloud", "unknown cloud %s (known: %s)", redact.Value(t.Cloud), strings.Join(slices.Sorted(maps.Keys(clouds)), ", "))
	}
	checkURL(tp, "authority_host", rt.AuthorityHost)
	checkURL(tp, "graph_endpoint", rt.GraphEndpoint)
	// (An unknown cloud leaves AuthorityHost "/", but then there is no Config.)
	t.AuthorityHost = strings.TrimRight(cmp.Or(rt.AuthorityHost, cloud.AuthorityHost), "/") + "/"
	t.GraphEndpoint = strings.TrimRight(cmp.Or(rt.GraphEndpoint, cloud.GraphEndpoint), "/")

	t.Reports = pick(tp, "reports", "report", rt.Reports, allReports, defaultReports, false)
	t.UsageSummaryPeriods = pick(tp, "usage_summary_periods", "period", rt.UsageSummaryPeriods, usageSummaryPeriods, usageSummaryPeriods, true)
	t.Labels = checkLabels(tp, rt.Labels)
	if err := checkMethodStrengths(rt.MethodStrengths); err != nil {
		tp.add("method_strengths", "%s", err)
	}
	t.Groups = checkGroups(tp, rt.Groups)
	if len(t.Groups) > 0 && !slices.Contains(t.Reports, UserRegistrationDetails) {
		tp.add("groups", "read with every poll of %s, which reports leaves out: add it, or remove groups", UserRegistrationDetails)
	}

	own := pollIntervals(rt.ReportPollIntervals, func(line int, format string, args ...any) {
		tp.addAt(line, []string{"report_poll_intervals"}, format, args...)
	})
	t.PollIntervals = make(map[string]time.Duration, len(t.Reports))
	for _, r := range t.Reports {
		// Only valid (positive) intervals are kept, so zero means unset.
		t.PollIntervals[r] = cmp.Or(own[r], cfg.ReportPollIntervals[r], cfg.PollInterval)
	}
	return t
}

// checkURL requires an absolute https URL, if any: no tokens over plain HTTP.
func checkURL(tp *tenantProblems, key, raw string) {
	u, err := url.Parse(raw)
	switch {
	case raw == "": // the cloud's
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

// urlValue echoes a refused URL: whole when plainly one (short, no query, no
// '~'), else without its query, else as redact.Value would.
func urlValue(u *url.URL, raw string) string {
	switch {
	case len(raw) <= 200 && !strings.ContainsAny(raw, "~?#"):
		return strconv.Quote(raw)
	case u.Host != "" && !strings.Contains(u.Path, "~"):
		return strconv.Quote(redact.Cut(u.Scheme+"://"+u.Host+u.Path, 200)) + " (the rest not shown)"
	}
	return redact.Value(raw)
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
	return slices.DeleteFunc(slices.Clone(known), func(k string) bool { return !want[k] })
}

// Labels are for grouping (a customer, a tier): a few short values; 128
// bytes is also where values from Graph are cut.
const (
	maxTenantLabels     = 32
	maxLabelValueLength = 128
)

// Label names are Prometheus' classic ones; the reserved ones would clash
// with entra_authmethods_tenant_info's own labels or the target's.
var (
	labelNameRE        = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	reservedLabelNames = []string{"tenant", "tenant_id", "cloud", "job", "instance"}
)

// checkLabels validates a tenant's labels and returns a copy (nil when none),
// so no two tenants share one map.
func checkLabels(tp *tenantProblems, labels map[string]string) map[string]string {
	if len(labels) == 0 {
		return nil
	}
	if len(labels) > maxTenantLabels {
		tp.add("labels", "%d labels; at most %d are allowed", len(labels), maxTenantLabels)
	}
	for _, name := range slices.Sorted(maps.Keys(labels)) {
		v, n := labels[name], redact.Value(name)
		switch {
		case !labelNameRE.MatchString(name):
			tp.add("labels", "%s: not a valid label name (letters, digits and '_', not starting with a digit)", n)
		case strings.HasPrefix(name, "__"):
			tp.add("labels", "%s: names starting with \"__\" are reserved for Prometheus", n)
		case slices.Contains(reservedLabelNames, name):
			tp.add("labels", "%s: reserved: it would clash with a label of entra_authmethods_tenant_info or of the target (%s)", n, strings.Join(reservedLabelNames, ", "))
		}
		switch {
		case v == "":
			tp.add("labels", "%s: the value must not be empty", n)
		case !utf8.ValidString(v):
			tp.add("labels", "%s: the value is not valid UTF-8", n)
		case len(v) > maxLabelValueLength:
			tp.add("labels", "%s: the value is %d bytes long; at most %d are allowed", n, len(v), maxLabelValueLength)
		}
	}
	return maps.Clone(labels)
}
