package main

import (
	"io"
	"log/slog"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/internal/evalrun"
)

// evalEnv lends eval and train (internal/evalrun) the daemon's stages and
// sources, built as replay builds them.
func evalEnv() *evalrun.Env {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &evalrun.Env{
		NewStages: func(cfg *configs.Config, publish func(*av.Decision), adjust func(*fuse.ActivityConfig)) (evalrun.Stages, error) {
			var opts []func(*fuse.ActivityConfig)
			if adjust != nil {
				opts = append(opts, adjust)
			}
			d, err := newStageDriver(cfg, av.NewDrops(), log, publish, opts...)
			if err != nil {
				return nil, err
			}
			return driverStages{d}, nil
		},
		NewCamera: func(cam configs.Camera, clock av.Clock, drops *av.Drops, log *slog.Logger) (evalrun.Source, error) {
			return newCameraSource(cam, clock, drops, log)
		},
		NewMic: func(mic configs.Microphone, clock av.Clock, drops *av.Drops, log *slog.Logger) (evalrun.Source, error) {
			return newMicSource(mic, clock, drops, log)
		},
		RecordedConfig: func(r *recording.Reader, sets []string) (*configs.Config, error) {
			return replayConfig(r, "", sets)
		},
	}
}

// driverStages is the stage driver as evalrun.Stages.
type driverStages struct{ d *stageDriver }

func (s driverStages) Push(x av.Sample) { s.d.push(x) }
func (s driverStages) Flush()           { s.d.flush() }
func (s driverStages) Close()           { s.d.close() }
