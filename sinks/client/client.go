package client

import "github.com/seed-4c364652/fusiond/sinks/decision"

// Schema names and the major version this package understands.
const (
	DecisionSchema = decision.Schema
	StatusSchema   = decision.StatusSchema
	// SchemaMajor is the major version of fusiond.decision this package
	// decodes. Fields may be added within a major version.
	SchemaMajor = decision.SchemaMajor
)

// Header names on decision messages.
const (
	HeaderMsgID       = "Nats-Msg-Id"
	HeaderSchema      = "Fusiond-Schema"
	HeaderCaptureTime = "Fusiond-Capture-Time"
)

// Errors Decode wraps.
var (
	// ErrSchema: the message names another schema, or a newer major version.
	ErrSchema = decision.ErrSchema
	// ErrMalformed: the message is not a valid decision.
	ErrMalformed = decision.ErrMalformed
)

// The message types are those of sinks/decision, the one definition the
// daemon encodes and the JSON Schema describes.
type (
	// Decision is one fusiond decision (schema fusiond.decision.v1).
	Decision = decision.Decision
	// Status is a fusion.<robot>.status message (schema fusiond.status.v1).
	Status = decision.Status
	// DropCount is one stream's drops for one reason.
	DropCount = decision.DropCount
	// QueueDepth is one queue's fill.
	QueueDepth = decision.QueueDepth
)

// CheckSchema accepts name when it is fusiond.<kind>.v<major> with the
// major version this package decodes. want is "decision" or "status".
func CheckSchema(name, want string) error { return decision.CheckSchema(name, want) }

// Decode decodes a decision message body and checks its schema and the
// fields every decision has. Unknown fields are ignored.
func Decode(data []byte) (*Decision, error) { return decision.Decode(data) }

// DecodeStatus decodes a status message body and checks its schema.
func DecodeStatus(data []byte) (*Status, error) { return decision.DecodeStatus(data) }

// DecisionSubject is the subject of robot's decisions of kind; "*" and ">"
// are wildcards.
func DecisionSubject(robot, kind string) string { return "fusion." + robot + ".decision." + kind }

// StatusSubject is the subject of robot's status.
func StatusSubject(robot string) string { return "fusion." + robot + ".status" }

// ControlSubject is the subject of the control-plane endpoint (status,
// config, sources, record.start, record.stop).
func ControlSubject(robot, endpoint string) string { return "fusion." + robot + ".ctl." + endpoint }

// StreamName is the JetStream stream that logs robot's decisions.
func StreamName(robot string) string { return "FUSIOND_" + robot }

// ServiceName is the control-plane service's name (nats micro).
const ServiceName = "fusiond"
