package fusiond

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// daemonFiles are what a test daemon writes besides publishing; ready,
// when set, is called with the daemon once it runs.
type daemonFiles struct {
	decisions, record string
	ready             func(*Daemon)
}

// runDaemon runs a daemon of cfg until ctx ends.
func runDaemon(ctx context.Context, cfg *configs.Config, clock av.Clock, files daemonFiles, log *slog.Logger) error {
	d, err := New(cfg, WithClock(clock), WithLogger(log), WithDecisionsFile(files.decisions), WithRecording(files.record))
	if err != nil {
		return err
	}
	if files.ready != nil {
		go func() {
			select {
			case <-d.Ready():
				files.ready(d)
			case <-ctx.Done():
			}
		}()
	}
	return d.Run(ctx)
}

func listenArg(port int) string { return fmt.Sprintf("nats.embedded.listen=127.0.0.1:%d", port) }
