package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// KubernetesSchemas converts Kubernetes' OpenAPI v2 document into one
// standalone strict JSON schema per kind, named as kubeconform looks them up
// in a directory of kubernetes-json-schema's layout:
// <kind>-<first part of the group>-<version>.json, or <kind>-<version>.json
// for the core group, lower case.
func KubernetesSchemas(swagger []byte) (map[string][]byte, error) {
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(swagger, &doc); err != nil {
		return nil, err
	}
	if len(doc.Definitions) == 0 {
		return nil, errors.New("no definitions")
	}
	out := map[string][]byte{}
	for name, def := range doc.Definitions {
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			file, err := schemaFile(name, g)
			if err != nil {
				return nil, err
			}
			if _, ok := out[file]; ok {
				continue // the same name for another group: kubeconform cannot tell them apart
			}
			schema, err := kindSchema(doc.Definitions, name)
			if err != nil {
				return nil, err
			}
			out[file] = schema
		}
	}
	return out, nil
}

// schemaFile is the file name kubeconform looks up for the group, version
// and kind g, an entry of definition name's x-kubernetes-group-version-kind.
func schemaFile(name string, g any) (string, error) {
	gvk, _ := g.(map[string]any)
	group, _ := gvk["group"].(string)
	version, _ := gvk["version"].(string)
	kind, _ := gvk["kind"].(string)
	if version == "" || kind == "" {
		return "", fmt.Errorf("%s: incomplete x-kubernetes-group-version-kind %v", name, gvk)
	}
	file := strings.ToLower(kind)
	if group != "" {
		file += "-" + strings.ToLower(strings.Split(group, ".")[0])
	}
	return file + "-" + strings.ToLower(version) + ".json", nil
}

// kindSchema is the standalone JSON schema of definition name.
func kindSchema(defs map[string]map[string]any, name string) ([]byte, error) {
	e := &expander{defs: defs, on: map[string]bool{name: true}}
	s := e.expand(defs[name])
	if e.err != nil {
		return nil, fmt.Errorf("%s: %w", name, e.err)
	}
	return marshal(s)
}

// marshal writes schema s as a draft-07 JSON schema, indented, with a final
// newline.
func marshal(s map[string]any) ([]byte, error) {
	s["$schema"] = "http://json-schema.org/draft-07/schema#"
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// quantity is resource.Quantity's definition: a string in the document, but
// a YAML number (cpu: 1) is one too.
const quantity = "io.k8s.apimachinery.pkg.api.resource.Quantity"

// expander inlines the definitions a schema refers to.
type expander struct {
	defs map[string]map[string]any
	on   map[string]bool // definitions being expanded, to stop at recursion
	err  error
}

const refPrefix = "#/definitions/"

// expand returns a copy of node with every $ref inlined (a definition that
// refers to itself, as JSONSchemaProps does, becomes a schema that takes
// anything at the second level), made strict, without descriptions and the
// x-kubernetes- extensions.
func (e *expander) expand(node map[string]any) map[string]any {
	if ref, ok := node["$ref"].(string); ok {
		return e.expandRef(ref)
	}
	out := map[string]any{}
	for k, v := range node {
		if k == "description" || strings.HasPrefix(k, "x-kubernetes-") {
			continue
		}
		out[k] = walk(k, v, e.expand)
	}
	if out["format"] == "int-or-string" {
		delete(out, "type")
		delete(out, "format")
		out["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
	}
	if _, ok := out["properties"]; ok {
		if _, set := out["additionalProperties"]; !set {
			out["additionalProperties"] = false
		}
	}
	return out
}

// expandRef returns the definition ref refers to, expanded; a Quantity is a
// string or a number, and a definition already being expanded takes
// anything, so that recursion stops.
func (e *expander) expandRef(ref string) map[string]any {
	name := strings.TrimPrefix(ref, refPrefix)
	def, ok := e.defs[name]
	if !ok || !strings.HasPrefix(ref, refPrefix) {
		e.err = errors.Join(e.err, fmt.Errorf("unresolved $ref %s", ref))
		return map[string]any{}
	}
	if name == quantity {
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	}
	if e.on[name] {
		return map[string]any{}
	}
	e.on[name] = true
	defer delete(e.on, name)
	return e.expand(def)
}

// walk returns the value of a schema's keyword k with expand applied to the
// schemas in it; other keywords' values are kept as they are.
func walk(k string, v any, expand func(map[string]any) map[string]any) any {
	switch k {
	case "properties":
		props := map[string]any{}
		for pk, pv := range v.(map[string]any) {
			props[pk] = expand(pv.(map[string]any))
		}
		return props
	case "items", "additionalProperties", "not":
		// A schema, or (additionalProperties) a boolean.
		if m, ok := v.(map[string]any); ok {
			return expand(m)
		}
		return v
	case "allOf", "anyOf", "oneOf":
		var list []any
		for _, s := range v.([]any) {
			list = append(list, expand(s.(map[string]any)))
		}
		return list
	default:
		return v
	}
}

// CRDSchemas converts a CustomResourceDefinition (apiextensions.k8s.io/v1)
// into one strict JSON schema per served version, named as
// openapi2jsonschema names them, under the group: <group>/<kind>_<version>.json,
// lower case.
func CRDSchemas(crdYAML []byte) (map[string][]byte, error) {
	var crd struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			Group string `yaml:"group"`
			Names struct {
				Kind string `yaml:"kind"`
			} `yaml:"names"`
			Versions []struct {
				Name   string `yaml:"name"`
				Served bool   `yaml:"served"`
				Schema struct {
					OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
				} `yaml:"schema"`
			} `yaml:"versions"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(crdYAML, &crd); err != nil {
		return nil, err
	}
	if crd.Kind != "CustomResourceDefinition" || crd.APIVersion != "apiextensions.k8s.io/v1" {
		return nil, fmt.Errorf("%s %s: not an apiextensions.k8s.io/v1 CustomResourceDefinition", crd.APIVersion, crd.Kind)
	}
	out := map[string][]byte{}
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		if v.Schema.OpenAPIV3Schema == nil {
			return nil, fmt.Errorf("%s %s: no openAPIV3Schema", crd.Spec.Names.Kind, v.Name)
		}
		b, err := marshal(strictCRD(v.Schema.OpenAPIV3Schema))
		if err != nil {
			return nil, err
		}
		out[strings.ToLower(crd.Spec.Group+"/"+crd.Spec.Names.Kind+"_"+v.Name+".json")] = b
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no served version", crd.Spec.Names.Kind)
	}
	return out, nil
}

// strictCRD returns a copy of a structural schema in which every object that
// lists its properties refuses others, as the API server prunes them, but
// where it keeps them (x-kubernetes-preserve-unknown-fields); and an
// x-kubernetes-int-or-string without alternatives gets them.
func strictCRD(node map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range node {
		if k != "description" {
			out[k] = walk(k, v, strictCRD)
		}
	}
	if out["x-kubernetes-int-or-string"] == true && out["anyOf"] == nil && out["oneOf"] == nil {
		delete(out, "type")
		out["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
	}
	_, hasProps := out["properties"]
	_, hasAdditional := out["additionalProperties"]
	if hasProps && !hasAdditional && out["x-kubernetes-preserve-unknown-fields"] != true {
		out["additionalProperties"] = false
	}
	return out
}
