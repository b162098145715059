package av

import "github.com/seed-4c364652/fusiond/sinks/decision"

// Decision is a decision on its way through the pipeline: the message
// subscribers receive (sinks/decision, whose fields are the schema) and the
// stage times it carries until it is published. It encodes as the embedded
// message alone.
type Decision struct {
	decision.Decision

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
