package sinks

import (
	"context"
	"encoding/json"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// StatusSchema names version 1 of the status message.
const StatusSchema = decision.StatusSchema

// The status message (sinks/decision): what fusiond publishes on
// fusion.<robot>.status, with one queue's fill and one drop counter in it.
type (
	Status     = decision.Status
	QueueDepth = decision.QueueDepth
	DropCount  = decision.DropCount
)

// DropCounts converts drop counters to the status message's form.
func DropCounts(in []av.DropCount) []DropCount {
	out := make([]DropCount, len(in))
	for i, d := range in {
		out[i] = DropCount{Stream: string(d.Stream), Reason: string(d.Reason), Count: d.Count}
	}
	return out
}

// RunStatus publishes snapshot() on the robot's status subject every
// intervalNS of clock time until ctx ends.
func RunStatus(ctx context.Context, clock av.Clock, intervalNS int64, nc *nats.Conn, robot string, snapshot func() Status) error {
	next := clock.Now() + intervalNS
	for {
		if err := clock.WaitUntil(ctx, next); err != nil {
			return nil
		}
		next += intervalNS
		st := snapshot()
		st.Schema, st.Robot, st.TimeNS = StatusSchema, robot, clock.Now()
		payload, err := json.Marshal(st)
		if err != nil {
			return err
		}
		// Best effort: a status that cannot go out now is superseded by the
		// next one.
		_ = nc.Publish(StatusSubject(robot), payload)
	}
}
