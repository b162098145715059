package main

import (
	"context"
	"log/slog"

	daemon "github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// daemonFiles are the files a test daemon writes besides publishing.
type daemonFiles struct{ decisions, record string }

// runDaemon runs a daemon of cfg until ctx ends, as `fusiond run` does.
func runDaemon(ctx context.Context, cfg *configs.Config, clock av.Clock, files daemonFiles, log *slog.Logger) error {
	d, err := daemon.New(cfg, daemon.WithClock(clock), daemon.WithLogger(log),
		daemon.WithDecisionsFile(files.decisions), daemon.WithRecording(files.record))
	if err != nil {
		return err
	}
	return d.Run(ctx)
}
