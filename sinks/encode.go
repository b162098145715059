package sinks

import (
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// EncodeDecision fills the decision's latencies from its stamps and encodes
// its message as published, and as replay writes it (decision.Append: the
// bytes encoding/json gives, map keys sorted).
func EncodeDecision(d *av.Decision) ([]byte, error) {
	d.StampLatency()
	return decision.Append(make([]byte, 0, 640), &d.Decision)
}
