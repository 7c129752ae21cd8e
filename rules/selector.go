package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Matcher is one label matcher of a PromQL selector: name, op (=, !=, =~,
// !~) and the value (unquoted).
type Matcher struct {
	Name, Op, Value string
}

// String writes the matcher back as PromQL: the value double-quoted, with
// the characters that would mean something to where the selector is
// written escaped as \xNN (which PromQL reads as the character): # and :
// (YAML comments and keys in the rule file's plain scalars), { and } (the
// alerts' templates), $ and [ ] (Grafana's variables), besides what Go's
// quoting escapes.
func (m Matcher) String() string {
	var b strings.Builder
	b.WriteString(m.Name)
	b.WriteString(m.Op)
	b.WriteByte('"')
	for _, r := range m.Value {
		switch {
		case strings.ContainsRune("#:{}$[]", r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case !strconv.IsPrint(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// FormatSelector writes matchers as a selector without braces, the way the
// rules and dashboards carry it: `job="x", cluster="eu1"`.
func FormatSelector(ms []Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, ", ")
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// blank is the white space PromQL skips between a selector's tokens.
const blank = " \t\n"

// ParseSelector reads a PromQL label selector, with or without its braces:
// `job="entra-authmethods-exporter", cluster="eu1"`. It takes what PromQL
// takes in a selector (the four operators; double-quoted, single-quoted and
// backquoted strings with PromQL's escapes; a trailing comma), and refuses,
// with the reason, what would select no series as intended: a metric name
// (__name__), a label name Prometheus does not allow unquoted, a regular
// expression that does not compile. Every matcher is ANDed with the rules'
// and dashboards' own.
func ParseSelector(s string) ([]Matcher, error) {
	// The helpers' errors say what is wrong; every one is about s.
	wrap := func(err error) error { return fmt.Errorf("selector %q: %w", s, err) }
	in := strings.TrimSpace(s)
	if inner, braced := strings.CutPrefix(in, "{"); braced {
		if inner, braced = strings.CutSuffix(inner, "}"); !braced {
			return nil, wrap(errors.New("a { without its }"))
		}
		in = strings.TrimSpace(inner)
	}
	var ms []Matcher
	for in != "" {
		m, rest, err := parseMatcher(in)
		if err != nil {
			return nil, wrap(err)
		}
		ms = append(ms, m)
		// The end of the selector, or a comma (perhaps the trailing one
		// PromQL allows) and what comes after it.
		rest = strings.TrimLeft(rest, blank)
		next, comma := strings.CutPrefix(rest, ",")
		if rest != "" && !comma {
			return nil, wrap(fmt.Errorf("a comma expected between matchers at %q", rest))
		}
		in = strings.TrimLeft(next, blank)
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("selector %q: no matcher", s)
	}
	return ms, nil
}

// parseMatcher reads the matcher at the start of in (name, operator, quoted
// value) and returns it and what follows it.
func parseMatcher(in string) (Matcher, string, error) {
	name, in, err := parseLabelName(in)
	if err != nil {
		return Matcher{}, "", err
	}
	op, in, err := parseOperator(in, name)
	if err != nil {
		return Matcher{}, "", err
	}
	value, rest, err := unquote(in)
	if err != nil {
		return Matcher{}, "", fmt.Errorf("the value of %s: %w", name, err)
	}
	if op == "=~" || op == "!~" {
		// Prometheus anchors the expression, and . matches newlines.
		if _, err := regexp.Compile("^(?s:" + value + ")$"); err != nil {
			return Matcher{}, "", fmt.Errorf("%s%s: %w", name, op, err)
		}
	}
	return Matcher{name, op, value}, rest, nil
}

// parseLabelName reads the label name at the start of in and returns it and
// what follows it, blanks skipped. It refuses __name__: the rules and
// dashboards choose the metrics themselves.
func parseLabelName(in string) (name, rest string, err error) {
	end := strings.IndexAny(in, "=!~ \t\n,\"'`")
	if end < 0 {
		end = len(in)
	}
	name, rest = in[:end], strings.TrimLeft(in[end:], blank)
	switch {
	case name == "":
		return "", "", fmt.Errorf("a label name expected at %q", rest)
	case !labelNameRE.MatchString(name):
		return "", "", fmt.Errorf("%q is no label name ([a-zA-Z_][a-zA-Z0-9_]*)", name)
	case name == "__name__":
		return "", "", errors.New("no __name__: the rules and dashboards name the metrics")
	}
	return name, rest, nil
}

// parseOperator reads the operator at the start of in, the one after the
// label name, and returns it and what follows it, blanks skipped.
func parseOperator(in, name string) (op, rest string, err error) {
	// The two-character operators before =, which is a prefix of =~.
	for _, o := range []string{"=~", "!~", "!=", "="} {
		if strings.HasPrefix(in, o) {
			return o, strings.TrimLeft(in[len(o):], blank), nil
		}
	}
	return "", "", fmt.Errorf("after %s, one of =, !=, =~, !~ expected", name)
}

// unquote reads the PromQL string at the start of s and returns its value
// and what follows it.
func unquote(s string) (value, rest string, err error) {
	switch {
	case s == "":
		return "", "", errors.New("a quoted string expected")
	case s[0] == '`': // no escapes
		var ok bool
		if value, rest, ok = strings.Cut(s[1:], "`"); !ok {
			return "", "", errors.New("an unterminated `string`")
		}
	case s[0] == '"' || s[0] == '\'':
		if value, rest, err = unquoteEscaped(s[1:], s[0]); err != nil {
			return "", "", err
		}
	default:
		return "", "", fmt.Errorf("a quoted string expected at %q", s)
	}
	// Checked at the end: \xNN escapes may build a character of bytes.
	if !utf8.ValidString(value) {
		return "", "", errors.New("not UTF-8")
	}
	return value, rest, nil
}

// unquoteEscaped reads the rest of a string opened with quote, with Go's
// escapes, as PromQL reads them.
func unquoteEscaped(in string, quote byte) (value, rest string, err error) {
	var b strings.Builder
	for {
		switch {
		case in == "":
			return "", "", fmt.Errorf("an unterminated %c string", quote)
		case in[0] == quote:
			return b.String(), in[1:], nil
		case in[0] == '\n':
			return "", "", errors.New("a newline in a string")
		}
		r, multibyte, tail, err := strconv.UnquoteChar(in, quote)
		if err != nil {
			return "", "", fmt.Errorf("a bad escape or character at %q", in)
		}
		if r < utf8.RuneSelf || multibyte {
			b.WriteRune(r)
		} else {
			b.WriteByte(byte(r)) // \xNN or \NNN: a byte
		}
		in = tail
	}
}

// Matchers are the matchers of the exporter's series: Selector's, or
// job="<Job>" without one.
func (p Params) Matchers() ([]Matcher, error) {
	if p.Selector == "" {
		if p.Job == "" {
			return nil, errors.New("job: must not be empty")
		}
		return []Matcher{{"job", "=", p.Job}}, nil
	}
	return ParseSelector(p.Selector)
}

// JobOf is the value of the job equality matcher among ms ("" if none):
// the job the dashboards' job variable selects by default.
func JobOf(ms []Matcher) string {
	for _, m := range ms {
		if m.Name == "job" && m.Op == "=" {
			return m.Value
		}
	}
	return ""
}
