// Package client is what a Go program needs to hear fusiond: the decision
// and status message types (aliases of those in sinks/decision, which the
// daemon itself encodes), decoding with a schema version check, the subject
// and stream names, and subscribe helpers, live (core NATS) or replayed from
// the robot's JetStream decision log since a time.
//
// It imports nats.go, sinks/decision and the standard library only (no cgo,
// no gocv, no PortAudio), so planners and fleet services can depend on it
// without pulling in the daemon.
//
// Subjects (docs/SUBJECTS.md):
//
//	fusion.<robot>.decision.<kind>   one decision, JSON, schema fusiond.decision.v1
//	fusion.<robot>.status            periodic status, schema fusiond.status.v1
//	fusion.<robot>.ctl.<endpoint>    the control-plane service "fusiond" (nats micro)
//
// Decisions are stored in the JetStream stream StreamName(robot), so a
// subscriber that was away can catch up with Replay.
//
// Fields added within version 1 are optional and read as their zero value
// from an older daemon: Decision.Camera ("" but on the per-camera kinds
// motion, presence and speaker), Decision.BearingDeg (robot frame: 0
// ahead, + right) and Decision.CameraBearingDeg (the camera's frame), nil
// where no bearing is known, and Decision.MissingStreams, the stream names
// behind Missing (nil when nothing was missing).
package client
