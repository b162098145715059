package decision

import _ "embed"

// JSONSchema is the JSON Schema (draft 2020-12) of Decision, named Schema.
// docs/schema/fusiond.decision.v1.json is a copy the tests keep equal; the
// tests also hold its properties to Decision's fields, one for one.
//
//go:embed fusiond.decision.v1.json
var JSONSchema string

// StatusJSONSchema is the JSON Schema (draft 2020-12) of Status, named
// StatusSchema, kept like JSONSchema (docs/schema/fusiond.status.v1.json,
// its properties Status's fields).
//
//go:embed fusiond.status.v1.json
var StatusJSONSchema string
