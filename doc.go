// Package fusiond is the streaming audio-visual sensor-fusion daemon, for
// programs that embed it; the fusiond command (cmd/fusiond) is one of
// them.
//
// A Daemon wires what a configs.Config describes: one Source per camera
// and microphone, each into its own bounded capture queue; the
// synchroniser (sync), which aligns them into bundles; fusion (fuse),
// which turns bundles into decisions; and the sinks: NATS (an external
// server, or an embedded one; JetStream with its outbox when enabled,
// signed), a decisions file, the recorder, the metrics. Beside them run
// the status publisher, the control plane (a NATS micro service) and the
// robot's lease. New builds a Daemon from a config and options; Run runs
// it until its context ends or its sources do, then drains and shuts down
// in a bounded time.
//
//	d, err := fusiond.New(cfg,
//		fusiond.WithLogger(log),
//		fusiond.WithSink(mySink),               // decisions, encoded, in order
//		fusiond.WithSource("cam0", myCamera),   // in place of the configured cam0
//		fusiond.WithBundleTap(observe))         // every bundle before fusion
//	err = d.Run(ctx)
//
// Options add sources (or replace configured ones), sinks and taps on
// samples and bundles, and set the clock (a VirtualClock for
// deterministic runs), the logger, a decisions file and a recording;
// RecordOnly turns the daemon into a recorder (fusiond record). While it
// runs, Status, Drops and MetricsAddr report on it.
//
// Stages are the deterministic part alone, the synchroniser and fusion
// driven in the caller's goroutine with the clock at each sample's arrival
// time: fusiond replay, eval and train push recorded or decoded samples
// through them and get the decisions a live run would have made. Replay
// does so with a recording (RecordedConfig is the config it holds), into
// sinks and taps; CheckGolden compares its decisions with a golden file.
//
// Nothing here prints: errors are returned, everything else is logged
// through the logger given (log/slog). Only the commands under cmd/ import
// this package; the stage packages never do.
package fusiond
