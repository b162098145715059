package decision

// Schema names, and the major version Decode reads.
const (
	// Schema names version 1 of the decision message (JSONSchema).
	Schema = "fusiond.decision.v1"
	// StatusSchema names version 1 of the status message.
	StatusSchema = "fusiond.status.v1"
	// SchemaMajor is the major version Decode and DecodeStatus accept.
	// Fields may be added within a major version.
	SchemaMajor = 1
)

// Decision states (Decision.State).
const (
	StateActive   = "active"
	StateInactive = "inactive"
	// StateUnknown: the kind's sensing modality is missing; no claim.
	StateUnknown = "unknown"
)

// Decision is one fusiond decision, published as JSON on
// fusion.<robot>.decision.<kind>; its fields are the schema.
type Decision struct {
	Schema string `json:"schema"`
	Robot  string `json:"robot"`
	Kind   string `json:"kind"`
	// Camera names the camera (its stream name) of a per-camera decision:
	// the kinds decided on what a camera sees (motion, presence,
	// speaker). Omitted on the kinds decided once for the audio scene
	// (speech, sound_event) and on activity, and from a fusiond that
	// predates the field.
	Camera string `json:"camera,omitempty"`
	// Seq counts the publishing run's decisions from 1.
	Seq uint64 `json:"seq"`
	// TimeNS is the capture time of the moment decided on, ns since the
	// Unix epoch in the pipeline clock. A speech onset or end is timed by
	// the voice activity decision that turned speech on or off: where its
	// sound rose out of the noise floor, or fell back to it. That may
	// precede the step that decided it; per kind it never goes back.
	TimeNS     int64   `json:"time_ns"`
	Confidence float64 `json:"confidence"`
	// Logit is the log-odds behind Confidence; Contributions sum to it.
	Logit float64 `json:"logit"`
	// Contributions maps each modality (and "prior") to its signed log-odds.
	Contributions map[string]float64 `json:"contributions"`
	// Missing lists the modalities that were absent.
	Missing []string `json:"missing"`
	// MissingStreams lists the names of the configured streams that were
	// missing ("cam0", "mic0"), beside Missing's modalities; omitted when
	// none was (and from a fusiond that predates the field). A modality
	// with no stream configured is in Missing only.
	MissingStreams []string `json:"missing_streams,omitempty"`
	Degraded       bool     `json:"degraded"`
	// State is StateActive, StateInactive or StateUnknown: unknown when the
	// modality that senses the kind is missing (Confidence is then the
	// kind's prior, not a guess from another modality). Empty from a
	// fusiond that predates the field.
	State string `json:"state"`
	// BearingDeg is the decision's bearing in the robot frame: degrees, 0
	// straight ahead, positive to the robot's right, in (-180, 180]. Nil
	// (omitted) where no bearing is known.
	BearingDeg *float64 `json:"bearing_deg,omitempty"`
	// CameraBearingDeg is the same bearing in the frame of the decision's
	// Camera (0 along its optical axis, positive to the right): the robot
	// bearing less the camera's yaw. Nil (omitted) without a Camera or a
	// bearing.
	CameraBearingDeg *float64 `json:"camera_bearing_deg,omitempty"`
	// Evidence holds the kind's own numbers, named with their units.
	Evidence map[string]float64 `json:"evidence"`
	// LatencyNS maps a stage span ("capture_to_publish", ...) to nanoseconds.
	// It is the one field that depends on how fast the machine ran.
	LatencyNS map[string]int64 `json:"latency_ns"`
}

// Status is a fusion.<robot>.status message (schema StatusSchema).
type Status struct {
	Schema string `json:"schema"`
	Robot  string `json:"robot"`
	TimeNS int64  `json:"time_ns"`
	// Backend is the compute backend fusion runs on ("cpu", "cuda").
	Backend string       `json:"backend"`
	Drops   []DropCount  `json:"drops"`
	Queues  []QueueDepth `json:"queues"`
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
