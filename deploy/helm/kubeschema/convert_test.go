package main

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestKubernetesSchemas(t *testing.T) {
	swagger := `{"definitions": {
  "io.k8s.api.apps.v1.Deployment": {
    "description": "d",
    "properties": {
      "apiVersion": {"type": "string"},
      "spec": {"$ref": "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"},
      "labels": {"type": "object", "additionalProperties": {"type": "string"}}
    },
    "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}]
  },
  "io.k8s.api.apps.v1.DeploymentSpec": {
    "properties": {
      "replicas": {"type": "integer"},
      "port": {"type": "string", "format": "int-or-string"},
      "cpu": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
      "self": {"$ref": "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"}
    }
  },
  "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
  "io.k8s.api.core.v1.Service": {
    "properties": {"spec": {"type": "object"}},
    "x-kubernetes-group-version-kind": [{"group": "", "kind": "Service", "version": "v1"}]
  }
}}`
	out, err := KubernetesSchemas([]byte(swagger))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out["deployment-apps-v1.json"] == nil || out["service-v1.json"] == nil {
		t.Fatalf("files %v", keys(out))
	}
	var d map[string]any
	if err := json.Unmarshal(out["deployment-apps-v1.json"], &d); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"$schema":              "http://json-schema.org/draft-07/schema#",
		"additionalProperties": false,
		"properties": map[string]any{
			"apiVersion": map[string]any{"type": "string"},
			"labels":     map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
			"spec": map[string]any{
				"additionalProperties": false,
				"properties": map[string]any{
					"replicas": map[string]any{"type": "integer"},
					"port":     map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}},
					"cpu":      map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}},
					"self":     map[string]any{},
				},
			},
		},
	}
	if !reflect.DeepEqual(d, want) {
		got, _ := json.MarshalIndent(d, "", " ")
		t.Errorf("deployment-apps-v1.json:\n%s", got)
	}
	if _, err := KubernetesSchemas([]byte(`{"definitions": {"a": {"$ref": "#/definitions/b", "x-kubernetes-group-version-kind": [{"kind": "A", "version": "v1"}]}}}`)); err == nil {
		t.Error("an unresolved $ref converted without error")
	}
}

func TestCRDSchemas(t *testing.T) {
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor}
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema:
          type: object
          description: dropped
          properties:
            metadata: {type: object}
            spec:
              type: object
              properties:
                port:
                  x-kubernetes-int-or-string: true
                open:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                  properties: {a: {type: string}}
                items:
                  type: array
                  items: {type: object, properties: {b: {type: string}}}
    - name: v0
      served: false
      schema: {openAPIV3Schema: {type: object}}
`
	out, err := CRDSchemas([]byte(crd))
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := out["monitoring.coreos.com/servicemonitor_v1.json"]
	if len(out) != 1 || !ok {
		t.Fatalf("files %v", keys(out))
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"metadata": map[string]any{"type": "object"},
			"spec": map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
				"port": map[string]any{"x-kubernetes-int-or-string": true, "oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}},
				"open": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": map[string]any{"a": map[string]any{"type": "string"}}},
				"items": map[string]any{"type": "array", "items": map[string]any{"type": "object", "additionalProperties": false,
					"properties": map[string]any{"b": map[string]any{"type": "string"}}}},
			}},
		},
	}
	if !reflect.DeepEqual(s, want) {
		got, _ := json.MarshalIndent(s, "", " ")
		t.Errorf("servicemonitor_v1.json:\n%s", got)
	}
	if _, err := CRDSchemas([]byte("apiVersion: v1\nkind: ConfigMap\n")); err == nil {
		t.Error("a ConfigMap converted without error")
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
