package av

// DecisionSchema names version 1 of the decision message schema
// (docs/schema/fusiond.decision.v1.json).
const DecisionSchema = "fusiond.decision.v1"

// Decision states (Decision.State).
const (
	StateActive   = "active"
	StateInactive = "inactive"
	// StateUnknown: the kind's sensing modality is missing; no claim.
	StateUnknown = "unknown"
)

// Decision is what fusiond tells the robot. It is published as JSON; its
// fields are the schema.
type Decision struct {
	Schema string `json:"schema"`
	Robot  string `json:"robot"`
	Kind   string `json:"kind"`
	// Seq counts decisions of this robot's run, from 1.
	Seq uint64 `json:"seq"`
	// TimeNS is the capture time of the moment decided on.
	TimeNS     int64   `json:"time_ns"`
	Confidence float64 `json:"confidence"`
	// Logit is the log-odds behind Confidence; Contributions sum to it.
	Logit float64 `json:"logit"`
	// Contributions maps each modality (and "prior") to its signed log-odds.
	Contributions map[string]float64 `json:"contributions"`
	// Missing lists the modalities that were absent.
	Missing  []string `json:"missing"`
	Degraded bool     `json:"degraded"`
	// State is StateActive, StateInactive or StateUnknown: unknown when the
	// modality that senses the kind is missing (Confidence is then the
	// kind's prior, not a guess from another modality).
	State string `json:"state"`
	// Evidence holds the kind's own numbers, named with their units.
	Evidence map[string]float64 `json:"evidence"`
	// LatencyNS maps a stage span ("capture_to_publish", ...) to nanoseconds.
	// It is the one field that depends on how fast the machine ran.
	LatencyNS map[string]int64 `json:"latency_ns"`

	// Stamps are the stage times of the last bundle the decision used.
	Stamps Stamps `json:"-"`
}

// StampLatency fills LatencyNS from Stamps.
func (d *Decision) StampLatency() {
	s := d.Stamps
	span := func(from, to Stage) int64 {
		if s[from] == 0 || s[to] == 0 {
			return 0
		}
		return s[to] - s[from]
	}
	d.LatencyNS = map[string]int64{
		"capture_to_arrival": span(StageCapture, StageArrival),
		"arrival_to_sync":    span(StageArrival, StageSync),
		"sync_to_fuse":       span(StageSync, StageFuse),
		"fuse_to_publish":    span(StageFuse, StagePublish),
		"arrival_to_publish": span(StageArrival, StagePublish),
		"capture_to_publish": span(StageCapture, StagePublish),
	}
}
