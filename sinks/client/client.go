package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Schema names and the major version this package understands.
const (
	DecisionSchema = "fusiond.decision.v1"
	StatusSchema   = "fusiond.status.v1"
	// SchemaMajor is the major version of fusiond.decision this package
	// decodes. Fields may be added within a major version.
	SchemaMajor = 1
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
	ErrSchema = errors.New("unsupported schema")
	// ErrMalformed: the message is not a valid decision.
	ErrMalformed = errors.New("malformed decision")
)

// Decision is one fusiond decision (schema fusiond.decision.v1).
type Decision struct {
	Schema string `json:"schema"`
	Robot  string `json:"robot"`
	Kind   string `json:"kind"`
	// Seq counts the publishing run's decisions from 1.
	Seq uint64 `json:"seq"`
	// TimeNS is the capture time decided on, ns since the Unix epoch.
	TimeNS     int64   `json:"time_ns"`
	Confidence float64 `json:"confidence"`
	Logit      float64 `json:"logit"`
	// Contributions: signed log-odds per modality and "prior"; they sum to Logit.
	Contributions map[string]float64 `json:"contributions"`
	Missing       []string           `json:"missing"`
	Degraded      bool               `json:"degraded"`
	// State: "active", "inactive" or "unknown" (the kind's sensing
	// modality was missing: no claim). Empty from a fusiond that predates
	// the field.
	State     string             `json:"state"`
	Evidence  map[string]float64 `json:"evidence"`
	LatencyNS map[string]int64   `json:"latency_ns"`
}

// DropCount is one stream's drops for one reason.
type DropCount struct {
	Stream string `json:"stream"`
	Reason string `json:"reason"`
	Count  uint64 `json:"count"`
}

// QueueDepth is one queue's fill.
type QueueDepth struct {
	Name string `json:"name"`
	Len  int    `json:"len"`
	Cap  int    `json:"cap"`
}

// Status is a fusion.<robot>.status message (schema fusiond.status.v1).
type Status struct {
	Schema  string       `json:"schema"`
	Robot   string       `json:"robot"`
	TimeNS  int64        `json:"time_ns"`
	Backend string       `json:"backend"`
	Drops   []DropCount  `json:"drops"`
	Queues  []QueueDepth `json:"queues"`
}

// CheckSchema accepts name when it is fusiond.<kind>.v<major> with the
// major version this package decodes. want is "decision" or "status".
func CheckSchema(name, want string) error {
	prefix := "fusiond." + want + ".v"
	if !strings.HasPrefix(name, prefix) {
		return fmt.Errorf("%w: %q is not fusiond.%s", ErrSchema, name, want)
	}
	major, err := strconv.Atoi(name[len(prefix):])
	if err != nil || major < 1 {
		return fmt.Errorf("%w: %q has no version", ErrSchema, name)
	}
	if major != SchemaMajor {
		return fmt.Errorf("%w: %q (this client reads v%d)", ErrSchema, name, SchemaMajor)
	}
	return nil
}

// Decode decodes a decision message body and checks its schema and the
// fields every decision has. Unknown fields are ignored.
func Decode(data []byte) (*Decision, error) {
	var d Decision
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := CheckSchema(d.Schema, "decision"); err != nil {
		return nil, err
	}
	switch {
	case !validToken(d.Robot):
		return nil, fmt.Errorf("%w: robot %q", ErrMalformed, d.Robot)
	case !validToken(d.Kind):
		return nil, fmt.Errorf("%w: kind %q", ErrMalformed, d.Kind)
	case d.Seq == 0:
		return nil, fmt.Errorf("%w: seq 0", ErrMalformed)
	case !(d.Confidence >= 0 && d.Confidence <= 1):
		return nil, fmt.Errorf("%w: confidence %v", ErrMalformed, d.Confidence)
	}
	return &d, nil
}

// DecodeStatus decodes a status message body and checks its schema.
func DecodeStatus(data []byte) (*Status, error) {
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := CheckSchema(s.Schema, "status"); err != nil {
		return nil, err
	}
	return &s, nil
}

// validToken: letters, digits, '-' and '_', as robot ids and kinds are.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

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
