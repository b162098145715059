// Package bench holds the measurements behind `fusiond bench`: the
// synchroniser's policies timed over a trace, sets written in the
// message_filters peer's format (sync.go); the voice activity detector
// scored frame by frame on labelled speech beside Silero and WebRTC VAD
// (vad.go); and whole daemons paced and at maximum speed beside the
// machine's limits, or a replay beside reading its recording (e2e*.go);
// offloaded robots and fusion workers on a one-node hub (fleet.go).
// Only the commands may import the daemon (package fusiond), so e2e gets
// its daemons through a Host that cmd/fusiond lends. The command line,
// and where the results are printed, are cmd/fusiond's. It is no part of
// the daemon.
package bench
