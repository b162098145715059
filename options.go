package fusiond

import (
	"context"
	"github.com/seed-4c364652/fusiond/fuse"
	"log/slog"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
)

// Source captures samples into a queue until ctx ends; startNS is the
// pipeline time the daemon started at. It owns what it sends until the
// queue takes it, and returns nil when its input ends or ctx does. The
// daemon closes out after Run returns.
type Source interface {
	Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error
}

// Option configures a Daemon.
type Option func(*options)

type options struct {
	clock         av.Clock
	log           *slog.Logger
	sources       []namedSource
	sinks         []sinks.Sink
	sampleTaps    []func(av.Sample)
	bundleTaps    []func(*av.Bundle)
	faceTaps      []FaceTap // set by the daemon: the live view, the recorder
	decisionsPath string
	recordPath    string
	recordOnly    bool
	version, rev  string
	// offload, when set, takes fusion's ticks (fuse.offload; daemon.go).
	offload func(*fuse.Tick)
}

type namedSource struct {
	name string
	src  Source // nil: no source for the configured device of that name
}

// WithClock sets the pipeline clock (default av.NewRealClock()). A
// VirtualClock that nothing moves, with one source stamping its samples'
// arrival times itself, makes a run deterministic (see Example): no
// deadline or timer of the pipeline then depends on the machine's speed.
func WithClock(c av.Clock) Option { return func(o *options) { o.clock = c } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithSource adds a source whose samples join the configured ones under
// the capture queue "capture:<name>". If name is a configured camera or
// microphone, s takes the place of the source its config describes; a
// nil s removes that source (its stream then has no source of its own:
// another may deliver its samples). Samples of streams that are not
// configured are counted as drops by the synchroniser.
func WithSource(name string, s Source) Option {
	return func(o *options) { o.sources = append(o.sources, namedSource{name, s}) }
}

// WithSink adds a decision sink after the configured ones (NATS, the
// decisions file, the recorder, the metrics). It gets every decision
// once, encoded, in order.
func WithSink(s sinks.Sink) Option { return func(o *options) { o.sinks = append(o.sinks, s) } }

// WithSampleTap shows every sample to f on its way from its capture queue
// to the synchroniser. f must not block, and copies what it keeps: the
// sample goes on to the synchroniser.
func WithSampleTap(f func(av.Sample)) Option {
	return func(o *options) { o.sampleTaps = append(o.sampleTaps, f) }
}

// WithBundleTap shows every bundle to f between the synchroniser and
// fusion. f must not block, and must not keep the bundle.
func WithBundleTap(f func(*av.Bundle)) Option {
	return func(o *options) { o.bundleTaps = append(o.bundleTaps, f) }
}

// WithDecisionsFile also writes the decisions to path, one JSON object a
// line.
func WithDecisionsFile(path string) Option { return func(o *options) { o.decisionsPath = path } }

// WithRecording records the run to path (MCAP): every sample the
// synchroniser consumes, every decision and the status, so that a replay
// reproduces the run.
func WithRecording(path string) Option { return func(o *options) { o.recordPath = path } }

// RecordOnly makes the daemon a recorder: the sources and the recording
// (WithRecording, required), no synchroniser, fusion, NATS, metrics or
// control plane. A recording that fails stops the run.
func RecordOnly() Option { return func(o *options) { o.recordOnly = true } }

// WithVersion names the build for the control plane, the metrics and
// recordings' metadata (default: BuildVersion, fusiond's own).
func WithVersion(version, revision string) Option {
	return func(o *options) { o.version, o.rev = version, revision }
}
