package reports

import _ "embed"

// JSONSchema is the JSON Schema (draft 2020-12) of WriteJSON's output; docs/output.md explains
// it field by field, and a test checks the output against it.
//
//go:embed schema.json
var JSONSchema []byte
