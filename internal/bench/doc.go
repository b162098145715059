// Package bench holds the measurements behind `fusiond bench`: the
// synchroniser's policies timed over a trace, sets written in the
// message_filters peer's format (sync.go), and the voice activity detector
// scored frame by frame on labelled speech beside Silero and WebRTC VAD
// (vad.go). The command line, and where the results are printed, are
// cmd/fusiond's. It is no part of the daemon.
package bench
