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

// ParseSelector reads a PromQL label selector, with or without its braces:
// `job="entra-authmethods-exporter", cluster="eu1"`. It takes what PromQL
// takes in a selector (the four operators; double-quoted, single-quoted and
// backquoted strings with PromQL's escapes; a trailing comma), and refuses,
// with the reason, what would select no series as intended: a metric name
// (__name__), a label name Prometheus does not allow unquoted, a regular
// expression that does not compile. Every matcher is ANDed with the rules'
// and dashboards' own.
func ParseSelector(s string) ([]Matcher, error) {
	in := strings.TrimSpace(s)
	if strings.HasPrefix(in, "{") {
		if !strings.HasSuffix(in, "}") {
			return nil, fmt.Errorf("selector %q: a { without its }", s)
		}
		in = strings.TrimSpace(in[1 : len(in)-1])
	}
	var ms []Matcher
	for in != "" {
		// The label name.
		end := strings.IndexAny(in, "=!~ \t\n,\"'`")
		if end < 0 {
			end = len(in)
		}
		name := in[:end]
		in = strings.TrimLeft(in[end:], " \t\n")
		switch {
		case name == "":
			return nil, fmt.Errorf("selector %q: a label name expected at %q", s, in)
		case !labelNameRE.MatchString(name):
			return nil, fmt.Errorf("selector %q: %q is no label name ([a-zA-Z_][a-zA-Z0-9_]*)", s, name)
		case name == "__name__":
			return nil, fmt.Errorf("selector %q: no __name__: the rules and dashboards name the metrics", s)
		}
		// The operator.
		op := ""
		for _, o := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(in, o) {
				op = o
				break
			}
		}
		if op == "" {
			return nil, fmt.Errorf("selector %q: after %s, one of =, !=, =~, !~ expected", s, name)
		}
		in = strings.TrimLeft(in[len(op):], " \t\n")
		// The value.
		value, rest, err := unquote(in)
		if err != nil {
			return nil, fmt.Errorf("selector %q: the value of %s: %w", s, name, err)
		}
		if op == "=~" || op == "!~" {
			if _, err := regexp.Compile("^(?s:" + value + ")$"); err != nil {
				return nil, fmt.Errorf("selector %q: %s%s: %w", s, name, op, err)
			}
		}
		ms = append(ms, Matcher{name, op, value})
		// A comma, or the end.
		in = strings.TrimLeft(rest, " \t\n")
		if in == "" {
			break
		}
		if in[0] != ',' {
			return nil, fmt.Errorf("selector %q: a comma expected between matchers at %q", s, in)
		}
		in = strings.TrimLeft(in[1:], " \t\n")
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("selector %q: no matcher", s)
	}
	return ms, nil
}

// unquote reads the PromQL string at the start of s and returns its value
// and what follows it.
func unquote(s string) (value, rest string, err error) {
	if s == "" {
		return "", "", errors.New("a quoted string expected")
	}
	quote := s[0]
	switch quote {
	case '`':
		end := strings.IndexByte(s[1:], '`')
		if end < 0 {
			return "", "", errors.New("an unterminated `string`")
		}
		value = s[1 : end+1]
		if !utf8.ValidString(value) {
			return "", "", errors.New("not UTF-8")
		}
		return value, s[end+2:], nil
	case '"', '\'':
		var b strings.Builder
		in := s[1:]
		for {
			if in == "" {
				return "", "", fmt.Errorf("an unterminated %c string", quote)
			}
			if in[0] == quote {
				if !utf8.ValidString(b.String()) {
					return "", "", errors.New("not UTF-8")
				}
				return b.String(), in[1:], nil
			}
			if in[0] == '\n' {
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
	default:
		return "", "", fmt.Errorf("a quoted string expected at %q", s)
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
