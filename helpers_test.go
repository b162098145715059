package fusiond

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"testing"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

func testConfig(t testing.TB, sets ...string) *configs.Config {
	t.Helper()
	base := []string{
		"cameras.0.width=64", "cameras.0.height=48",
		"microphones.0.rate_hz=16000",
		"fuse.decision_interval=100ms",
		"nats.embedded.listen=",
		"metrics.listen=127.0.0.1:0", // a free port: tests run side by side
		"state_dir=" + t.TempDir(),   // each test its own outbox
	}
	cfg, err := configs.Parse("", nil, append(base, sets...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

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

// freePort returns a loopback port nothing listens on (just now).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func listenArg(port int) string { return fmt.Sprintf("nats.embedded.listen=127.0.0.1:%d", port) }
