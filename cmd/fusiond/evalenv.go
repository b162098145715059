package main

import (
	"io"
	"log/slog"

	daemon "github.com/seed-4c364652/fusiond"
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
			st, err := daemon.NewStages(cfg, daemon.StagesConfig{Decision: publish, Activity: adjust, Log: log})
			if err != nil {
				return nil, err // not a nil *Stages in an interface
			}
			return st, nil
		},
		NewCamera: func(cam configs.Camera, clock av.Clock, drops *av.Drops, log *slog.Logger) (evalrun.Source, error) {
			return daemon.NewCameraSource(cam, clock, drops, log, nil)
		},
		NewMic: func(mic configs.Microphone, clock av.Clock, drops *av.Drops, log *slog.Logger) (evalrun.Source, error) {
			return daemon.NewMicSource(mic, clock, drops, log)
		},
		RecordedConfig: func(r *recording.Reader, sets []string) (*configs.Config, error) {
			return daemon.RecordedConfig(r, "", sets)
		},
	}
}
