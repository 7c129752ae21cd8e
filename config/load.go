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
)

// authKeyValues lists the values the `auth` key accepts.
var authKeyValues = []string{AuthWorkloadIdentity, AuthManagedIdentity, AuthAzureCLI, AuthDefault}

// Limits on graph_rate_limit: beyond them the pacing is surely a typo
// (Graph's own limit is 5 requests per 10s).
const (
	maxRateRequests = 1000
	maxRatePer      = time.Hour
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
	Defaults            *rawDefaults        `yaml:"defaults"`
	Tenants             []rawTenant         `yaml:"tenants"`
}

type rawRateLimit struct {
	Requests *int      `yaml:"requests"`
	Per      *duration `yaml:"per"`
}

type rawTenant struct {
	Name          string `yaml:"name"`
	TenantID      string `yaml:"tenant_id"`
	rawTenantKeys `yaml:",inline"`
}

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
}

type rawDefaults struct {
	// Decoded only to be refused with a message saying why, rather than
	// as unknown keys.
	Name          any `yaml:"name"`
	TenantID      any `yaml:"tenant_id"`
	rawTenantKeys `yaml:",inline"`

	lines map[string]int // each key's line, for messages; set by Parse
}

// duration keeps the text and line of a duration value, so that validation
// can name both the key and the line when the value is wrong.
type duration struct {
	text string
	line int
}

// UnmarshalYAML keeps the scalar n (shapeErrors has checked it is one).
func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	d.text, d.line = n.Value, n.Line
	return nil
}

// scalar keeps a list entry's text and line, so that validation can name
// the line of a wrong entry.
type scalar struct {
	text string
	line int
}

// UnmarshalYAML keeps the scalar n (shapeErrors has checked it is one).
func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	s.text, s.line = n.Value, n.Line
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
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF): // empty file: reported below as "no tenants"
	case err != nil:
		return nil, fmt.Errorf("%s: %s", source, strings.TrimPrefix(err.Error(), "yaml: "))
	default:
		// A second document would otherwise be silently ignored.
		var extra yaml.Node
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: only one YAML document is allowed", source)
		}
	}
	var raw rawConfig
	if len(doc.Content) > 0 {
		top := doc.Content[0]
		msgs := shapeErrors(top, reflect.TypeFor[rawConfig]())
		if len(msgs) == 0 {
			// With the shape right, what is left is a key given twice.
			var te *yaml.TypeError
			if err := top.Decode(&raw); errors.As(err, &te) {
				msgs = te.Errors
			}
		}
		if len(msgs) > 0 {
			errs := make([]error, len(msgs))
			for i, m := range msgs {
				errs[i] = fmt.Errorf("%s: %s", source, m)
			}
			return nil, errors.Join(errs...)
		}
		if raw.Defaults != nil {
			raw.Defaults.lines = keyLines(top, "defaults")
		}
	}
	return build(raw, source, nil)
}

// keyLines returns the line of each key of the mapping under key in top,
// so that messages about the defaults can name the line of the key they
// are about: the decoded structs keep no lines.
func keyLines(top *yaml.Node, key string) map[string]int {
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != key {
			continue
		}
		lines := map[string]int{}
		m := top.Content[i+1].Content
		for j := 0; j+1 < len(m); j += 2 {
			lines[m[j].Value] = m[j].Line
		}
		return lines
	}
	return nil
}

// FromEnv builds a one-tenant configuration, named "default", from the
// environment variables azidentity reads: AZURE_TENANT_ID, AZURE_CLIENT_ID,
// and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH. Without either,
// AZURE_FEDERATED_TOKEN_FILE selects workload identity, and otherwise the
// tenant uses azidentity's default chain. AZURE_AUTHORITY_HOST overrides the
// login host; a national cloud's host selects that cloud's Graph endpoint.
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
	c.ReportPollIntervals = topPollIntervals(p, raw.ReportPollIntervals, c.PollInterval)
	c.ExcludeMetrics = excludeMetrics(p, raw.ExcludeMetrics)
	if len(raw.Tenants) == 0 {
		p.add("tenants: no tenants configured; list at least one")
	}
	// The defaults are checked once, on their own, so that a problem there
	// is reported once rather than for every tenant that inherits it.
	var defaultsBad map[string]bool
	if raw.Defaults != nil {
		defaultsBad = checkDefaults(p, raw.Defaults, c)
	}
	seen := map[string]int{}
	for i, rt := range raw.Tenants {
		label := fmt.Sprintf("tenants[%d]", i)
		if rt.Name != "" {
			label += fmt.Sprintf(" (%s)", rt.Name)
		}
		tp := &tenantProblems{p: p, label: label, keys: keys, defaultsBad: defaultsBad}
		if raw.Defaults != nil {
			rt, tp.inherited = inherit(rt, raw.Defaults.rawTenantKeys)
		}
		if j, dup := seen[rt.Name]; dup && rt.Name != "" {
			tp.add("name", "%s is already used by tenants[%d]", redact.Value(rt.Name), j)
		} else {
			seen[rt.Name] = i
		}
		c.Tenants = append(c.Tenants, buildTenant(rt, tp, c))
	}
	sameApp(p, c.Tenants)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

// checkDefaults validates the defaults block as a tenant that may leave
// out what each tenant gives itself, and returns the keys it found wrong.
func checkDefaults(p *problems, d *rawDefaults, c *Config) map[string]bool {
	tp := &tenantProblems{p: p, label: "defaults", defaults: true, lines: d.lines, bad: map[string]bool{}}
	for _, k := range []struct {
		key string
		v   any
	}{{"name", d.Name}, {"tenant_id", d.TenantID}} {
		if _, given := d.lines[k.key]; given || k.v != nil {
			tp.add(k.key, "not allowed in defaults: name and tenant_id are set per tenant")
		}
	}
	buildTenant(rawTenant{rawTenantKeys: d.rawTenantKeys}, tp, c)
	return tp.bad
}

// inherit returns rt with every key it does not set taken from d, and the
// keys taken. The credential keys and the endpoint keys are each taken as a
// group, and only by a tenant that sets none of the group, so inheriting
// never pairs a tenant's own secret with the defaults' certificate, or its
// own cloud with the defaults' Graph endpoint.
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
	// Lists and mappings are taken whole, never merged: a tenant's own
	// list says all it polls, its own labels all it has.
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
	v, msg := checkDuration(*d, 0, max)
	if msg != "" {
		p.add("line %d: %s: %s", d.line, key, msg)
	}
	return v
}

// checkDuration parses d and checks 0 < d, min <= d and (unless max is 0)
// d <= max; it returns the problem, if any, as a message without the key.
func checkDuration(d duration, min, max time.Duration) (time.Duration, string) {
	md, err := model.ParseDuration(d.text)
	v := time.Duration(md)
	switch {
	case err != nil:
		return v, fmt.Sprintf("%s is not a valid duration (use e.g. 30s, 15m, 1h, 1d)", redact.Value(d.text))
	case v <= 0:
		return v, "must be greater than 0"
	case max > 0 && v > max:
		return v, fmt.Sprintf("must be at most %s, got %s", model.Duration(max), redact.Value(d.text))
	case v < min:
		return v, fmt.Sprintf("must be at least %s, got %s", model.Duration(min), redact.Value(d.text))
	}
	return v, ""
}

// topPollIntervals applies the top-level report_poll_intervals: when the
// key is absent, the built-in intervals, each at least poll (they exist to
// poll slow reports less often, never more often than poll_interval).
func topPollIntervals(p *problems, given map[string]duration, poll time.Duration) map[string]time.Duration {
	if given == nil {
		out := DefaultReportPollIntervals()
		for r, d := range out {
			out[r] = max(d, poll)
		}
		return out
	}
	return pollIntervals(given, func(line int, format string, args ...any) {
		msg := "report_poll_intervals: " + fmt.Sprintf(format, args...)
		if line > 0 {
			p.add("line %d: %s", line, msg)
		} else {
			p.add("%s", msg)
		}
	})
}

// pollIntervals validates a report_poll_intervals mapping (nil when
// given is), passing each problem to bad with its line (0 when unknown).
// Its bounds are poll_interval's.
func pollIntervals(given map[string]duration, bad func(line int, format string, args ...any)) map[string]time.Duration {
	if given == nil {
		return nil
	}
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

// excludeMetrics checks the form of exclude_metrics' entries; whether
// each names a metric the exporter has is the collector's to check.
func excludeMetrics(p *problems, given []scalar) []string {
	var out []string
	first := map[string]int{}
	for i, m := range given {
		where := fmt.Sprintf("exclude_metrics[%d]", i)
		if m.line > 0 {
			where = fmt.Sprintf("line %d: %s", m.line, where)
		}
		j, dup := first[m.text]
		switch {
		case !metricNameRE.MatchString(m.text):
			p.add("%s: %s is not a metric family name of this exporter (entra_authmethods_ followed by lower-case letters, digits and '_')", where, redact.Value(m.text))
		case dup: // of the exporter's form, so no secret: echoed whole
			p.add("%s: %q is already listed as exclude_metrics[%d]", where, m.text, j)
		default:
			first[m.text] = i
			out = append(out, m.text)
		}
	}
	return out
}

// Limits on a tenant's labels: they are for grouping (a customer, a tier),
// so a few short values; 128 bytes is also where values from Graph are cut.
const (
	maxTenantLabels     = 32
	maxLabelValueLength = 128
)

// Label names are Prometheus' classic ones; the reserved ones would clash
// with entra_authmethods_tenant_info's own labels (tenant, tenant_id, cloud)
// or with the target's (job, instance).
var (
	labelNameRE        = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	reservedLabelNames = []string{"tenant", "tenant_id", "cloud", "job", "instance"}
)

// checkLabels validates a tenant's labels and returns a copy (nil when
// there are none), so no two tenants share one map.
func checkLabels(tp *tenantProblems, labels map[string]string) map[string]string {
	if len(labels) == 0 {
		return nil
	}
	if len(labels) > maxTenantLabels {
		tp.add("labels", "%d labels; at most %d are allowed", len(labels), maxTenantLabels)
	}
	for _, name := range slices.Sorted(maps.Keys(labels)) {
		v := labels[name]
		switch {
		case !labelNameRE.MatchString(name):
			tp.add("labels", "%s: not a valid label name (letters, digits and '_', not starting with a digit)", redact.Value(name))
		case strings.HasPrefix(name, "__"):
			tp.add("labels", "%s: names starting with \"__\" are reserved for Prometheus", redact.Value(name))
		case slices.Contains(reservedLabelNames, name):
			tp.add("labels", "%s: reserved: it would clash with a label of entra_authmethods_tenant_info or of the target (%s)", redact.Value(name), strings.Join(reservedLabelNames, ", "))
		}
		switch {
		case v == "":
			tp.add("labels", "%s: the value must not be empty", redact.Value(name))
		case !utf8.ValidString(v):
			tp.add("labels", "%s: the value is not valid UTF-8", redact.Value(name))
		case len(v) > maxLabelValueLength:
			tp.add("labels", "%s: the value is %d bytes long; at most %d are allowed", redact.Value(name), len(v), maxLabelValueLength)
		}
	}
	return maps.Clone(labels)
}

// tenantProblems prefixes a tenant's problems (or the defaults') with its
// index, name and key.
type tenantProblems struct {
	p     *problems
	label string
	keys  map[string]string

	// For the defaults block: it may leave out what each tenant gives
	// itself; its keys' lines; the keys found wrong.
	defaults bool
	lines    map[string]int
	bad      map[string]bool

	// For a tenant: the keys it inherits, and those found wrong in the
	// defaults block (reported there once).
	inherited   map[string]bool
	defaultsBad map[string]bool
}

func (tp *tenantProblems) key(k string) string {
	if n, ok := tp.keys[k]; ok {
		return n
	}
	return k
}

func (tp *tenantProblems) add(key, format string, args ...any) {
	tp.addAt(0, []string{key}, format, args...)
}

// addAt reports a problem with one key, or with several that conflict
// (named together, the first standing for all), at line; 0 takes the
// key's line when known.
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
	if line == 0 {
		line = tp.lines[keys[0]]
	}
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		tp.p.add("line %d: %s: %s", line, where, msg)
	} else {
		tp.p.add("%s: %s", where, msg)
	}
}

var (
	nameRE     = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	tenantIDRE = regexp.MustCompile(`^[a-zA-Z0-9.-]+$`) // what azidentity accepts
)

// buildTenant validates a tenant (after inheritance) or, with tp.defaults,
// the defaults block; cfg gives the top-level poll intervals.
func buildTenant(rt rawTenant, tp *tenantProblems, cfg *Config) Tenant {
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
	case tp.defaults: // has no name (checkDefaults refuses one)
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
			given = append(given, c.key)
		}
	}
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
	t.Labels = checkLabels(tp, rt.Labels)

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
