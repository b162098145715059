// Package decision is the one definition of the messages fusiond publishes:
// the decision (schema fusiond.decision.v1, the JSON Schema embedded as
// JSONSchema and kept as docs/schema/fusiond.decision.v1.json) and the status
// beside it (fusiond.status.v1, its JSON Schema embedded as StatusJSONSchema
// and kept as docs/schema/fusiond.status.v1.json).
//
// The daemon encodes decisions with Append (the bytes encoding/json gives,
// without reflection) and subscribers decode them with Decode, which checks
// the schema's name and major version and the fields every decision has.
// sinks/client re-exports these types, so a subscriber may import either.
//
// It imports the standard library only (no cgo): the pipeline's shared
// vocabulary (ingest/av) and any subscriber can depend on it.
package decision
