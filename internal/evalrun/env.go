package evalrun

import (
	"context"
	"io"
	"log/slog"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
)

// Stages are the daemon's deterministic stages (sync, fusion) as replay
// drives them: one goroutine, the pipeline clock at each sample's arrival
// time, so the decisions are a pure function of the samples.
type Stages interface {
	// Push gives a sample to the stages, which take ownership.
	Push(av.Sample)
	// Flush emits what the stages still hold, at the end of the input.
	Flush()
	Close()
}

// Source captures one stream into a queue until ctx ends.
type Source interface {
	Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error
}

// Env is what eval and train borrow from the daemon, built as a run and a
// replay build them.
type Env struct {
	// NewStages builds the stages of cfg; publish gets every decision,
	// stamped; adjust, when not nil, changes fusion's config first.
	NewStages func(cfg *configs.Config, publish func(*av.Decision), adjust func(*fuse.ActivityConfig)) (Stages, error)
	// NewCamera and NewMic build the source of a configured camera or
	// microphone (synthetic scenes need the *synthetic.Video and
	// *synthetic.Audio of a synthetic one).
	NewCamera func(configs.Camera, av.Clock, *av.Drops, *slog.Logger) (Source, error)
	NewMic    func(configs.Microphone, av.Clock, *av.Drops, *slog.Logger) (Source, error)
	// RecordedConfig is a recording's config with the overrides, checked
	// against its streams, as replay reads it.
	RecordedConfig func(r *recording.Reader, sets []string) (*configs.Config, error)
}

// discard is the sources' logger: eval and train report through their
// results, not logs.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
