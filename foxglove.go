package fusiond

import (
	"context"
	"log/slog"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/sinks/foxglove"
)

// startLiveView starts the live view (foxglove.listen; docs/VIEWING.md):
// it listens now, so that a busy port fails the start, and serves until
// ctx ends; wait returns when it has stopped.
func startLiveView(ctx context.Context, cfg *configs.Config, log *slog.Logger) (v *foxglove.View, wait func(), err error) {
	ln, err := foxglove.Listen(cfg.Foxglove.Listen)
	if err != nil {
		return nil, nil, err
	}
	v = foxglove.NewFromConfig(cfg, false, log.With("component", "foxglove"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := v.Serve(ctx, ln); err != nil {
			log.Error("foxglove server stopped", "err", err)
		}
	}()
	log.Info("foxglove live view up", "url", "ws://"+ln.Addr().String())
	return v, func() { <-done }, nil
}
