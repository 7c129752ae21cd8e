package config

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

// shape says, for a type the file decodes into, the kind of node that holds
// it, what a value of it is (for "expected ..." messages) and, for a
// mapping, where its keys are (for "unknown key" messages).
type shape struct {
	kind        yaml.Kind
	what, where string
}

var shapes = map[reflect.Type]shape{
	reflect.TypeFor[rawConfig]():           {yaml.MappingNode, "a mapping of settings", ""},
	reflect.TypeFor[rawRateLimit]():        {yaml.MappingNode, "a mapping with requests and per", " in a rate limit"},
	reflect.TypeFor[rawTenant]():           {yaml.MappingNode, "a tenant (a mapping)", " in a tenant"},
	reflect.TypeFor[[]rawTenant]():         {yaml.SequenceNode, "a list of tenants", ""},
	reflect.TypeFor[[]string]():            {yaml.SequenceNode, "a list", ""},
	reflect.TypeFor[[]scalar]():            {yaml.SequenceNode, "a list", ""},
	reflect.TypeFor[rawDefaults]():         {yaml.MappingNode, "a mapping of tenant keys", " in defaults"},
	reflect.TypeFor[map[string]string]():   {yaml.MappingNode, "a mapping of label names to values", ""},
	reflect.TypeFor[map[string]duration](): {yaml.MappingNode, "a mapping of report names to durations", ""},
	reflect.TypeFor[methodStrengths]():     {yaml.MappingNode, "a mapping of method names to strengths", ""},
	reflect.TypeFor[groupsMap]():           {yaml.MappingNode, "a mapping of group names to object ids", ""},
	reflect.TypeFor[duration]():            {yaml.ScalarNode, "a duration such as 30s, 15m or 1h", ""},
	reflect.TypeFor[scalar]():              {yaml.ScalarNode, "a string", ""},
	reflect.TypeFor[string]():              {yaml.ScalarNode, "a string", ""},
	reflect.TypeFor[int]():                 {yaml.ScalarNode, "an integer", ""},
}

// checkShape checks that the YAML under n fits type t: no unknown keys, and
// mappings, lists and scalars where t has them. The decoder's own messages
// would name Go types rather than the file's keys.
func checkShape(p *problems, n *yaml.Node, t reflect.Type) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" || t.Kind() == reflect.Interface {
		return // absent, as if not given; or decoded only to be refused later
	}
	want := shapes[t]
	if n.Kind != want.kind || t.Kind() == reflect.Int && !goInt(n) {
		p.add(n.Line, "expected %s, got %s", want.what, got(n))
		return
	}
	switch t.Kind() {
	case reflect.Slice:
		for _, item := range n.Content {
			checkShape(p, item, t.Elem())
		}
	case reflect.Map:
		for i := 1; i < len(n.Content); i += 2 {
			checkShape(p, n.Content[i], t.Elem())
		}
	case reflect.Struct: // a scalar (for scalar and duration) has no content
		checkFields(p, n, t, want.where)
	}
}

// goInt reports whether n is a YAML integer that fits Go's int.
func goInt(n *yaml.Node) bool {
	_, err := strconv.Atoi(n.Value)
	return n.ShortTag() == "!!int" && err == nil
}

// checkFields checks the keys of the mapping n against the fields of the
// struct t, and each known key's value; where says where an unknown key is.
func checkFields(p *problems, n *yaml.Node, t reflect.Type, where string) {
	fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if ft, known := fields[key.Value]; known {
			checkShape(p, value, ft)
		} else {
			p.add(key.Line, "unknown key %q%s", redact.Cut(key.Value, 100), where)
		}
	}
}

// maxAliasNodes bounds the nodes that aliases add to a document, expanded
// recursively. Thousands of tenants aliasing a few labels stay below; beyond
// it, a few kilobytes could expand (a billion laughs) into gigabytes.
const maxAliasNodes = 100_000

// checkAliases counts the nodes reached through aliases, walking n as the
// decoder would (checkShape skips some of it). Past maxAliasNodes it returns
// false and the line of the alias, as written in the document, that went over.
func checkAliases(n *yaml.Node) (line int, ok bool) {
	budget := maxAliasNodes
	var walk func(n, via *yaml.Node) bool
	walk = func(n, via *yaml.Node) bool {
		if n.Kind == yaml.AliasNode {
			via = cmp.Or(via, n) // the first alias on the way stands for all
			n = n.Alias
		}
		if via != nil {
			if budget--; budget < 0 {
				line = via.Line
				return false
			}
		}
		for _, c := range n.Content {
			if !walk(c, via) {
				return false
			}
		}
		return true
	}
	return line, walk(n, nil)
}

// yamlFields maps each key of a struct the file decodes into to its
// field's type, with the keys of inlined structs.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case opts == "inline":
			maps.Copy(out, yamlFields(f.Type))
		case name != "":
			out[name] = f.Type
		}
	}
	return out
}

// got says what a misplaced value is. A scalar is echoed only when short
// and without an Entra secret's '~': it may be a secret in the wrong place.
func got(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	what := cmp.Or(map[string]string{"!!int": "a number", "!!float": "a number", "!!bool": "a boolean"}[n.ShortTag()], "a string")
	if len(n.Value) > 7 || strings.Contains(n.Value, "~") {
		return fmt.Sprintf("%s `%s` (not shown whole in case it is a secret)", what, redact.Cut(n.Value, 3))
	}
	return fmt.Sprintf("%s `%s`", what, n.Value)
}
