package reports

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestJSONMatchesSchema: the list's JSON has exactly the documented keys, of the documented
// types, in every object (a small checker of the schema's subset: type, required,
// additionalProperties, properties, items, enum, const, minimum, $ref).
func TestJSONMatchesSchema(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(JSONSchema, &schema); err != nil {
		t.Fatal(err)
	}
	if schema["$id"] != Schema {
		t.Errorf("schema.json $id %v, want %s", schema["$id"], Schema)
	}
	for _, r := range []*Run{sampleRun(t), Localize(sampleRun(t), LangJA), {Schema: Schema, Target: "pcsc"}} {
		var doc any
		if err := json.Unmarshal([]byte(render(t, WriteJSON, r)), &doc); err != nil {
			t.Fatal(err)
		}
		for _, e := range validate(schema, schema, doc, "$") {
			t.Error(e)
		}
	}
	// The checker itself rejects what the schema forbids.
	bad := map[string]any{"schema": Schema, "target": "emulator", "lang": "fr", "started": "x", "devices": []any{}, "colour": 1}
	if errs := validate(schema, schema, bad, "$"); len(errs) != 2 {
		t.Errorf("a bad document gave %v, want 2 errors (lang, colour)", errs)
	}
}

func validate(root, s map[string]any, v any, at string) (errs []string) {
	if ref, ok := s["$ref"].(string); ok {
		def := root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		return validate(root, def, v, at)
	}
	if types := typesOf(s["type"]); len(types) > 0 && !slices.Contains(types, jsonType(v)) &&
		!(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		return []string{fmt.Sprintf("%s: %s, want %v", at, jsonType(v), types)}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Sprintf("%s: %v not in %v", at, v, enum))
	}
	if c, ok := s["const"]; ok && c != v {
		errs = append(errs, fmt.Sprintf("%s: %v, want %v", at, v, c))
	}
	if m, ok := s["minimum"].(float64); ok {
		if f, isNum := v.(float64); isNum && f < m {
			errs = append(errs, fmt.Sprintf("%s: %v below %v", at, f, m))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range typesOf(s["required"]) {
			if _, ok := x[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: %s missing", at, r))
			}
		}
		for k, val := range x {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if s["additionalProperties"] == false {
					errs = append(errs, fmt.Sprintf("%s: key %s not in the schema", at, k))
				}
				continue
			}
			errs = append(errs, validate(root, ps, val, at+"."+k)...)
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				errs = append(errs, validate(root, items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

func typesOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}
