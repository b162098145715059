package sinks

import (
	"context"
	"encoding/json"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// StatusSchema names version 1 of the status message.
const StatusSchema = "fusiond.status.v1"

// Status is what fusiond publishes on fusion.<robot>.status.
type Status struct {
	Schema string `json:"schema"`
	Robot  string `json:"robot"`
	TimeNS int64  `json:"time_ns"`
	// Backend is the compute backend fusion runs on ("cpu", "cuda").
	Backend string         `json:"backend"`
	Drops   []av.DropCount `json:"drops"`
	Queues  []QueueDepth   `json:"queues"`
}

// QueueDepth is one queue's fill.
type QueueDepth struct {
	Name string `json:"name"`
	Len  int    `json:"len"`
	Cap  int    `json:"cap"`
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
