package fusiond

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/offload"
	"github.com/seed-4c364652/fusiond/sinks/worker"
)

// DecideConfig is the decision kinds' configuration of cfg, its model
// loaded (nil when fuse.decisions.enabled is off): what a fusion worker
// (sinks/worker) fuses offloaded robots with.
func DecideConfig(cfg *configs.Config) (*fuse.DecideConfig, error) { return decideConfig(cfg) }

// startOffload prepares fuse.offload: the robot's stream of feature
// bundles (created now, or by the first publish's retries when the server
// is not up yet) and the Offloader that publishes them, each until it is
// stored. Fusion waits for the store's ack: with the server gone, the
// queues before it fill and live capture drops, counted.
func startOffload(ctx context.Context, nc *nats.Conn, cfg *configs.Config, boot string, log *slog.Logger) *worker.Offloader {
	jc := cfg.NATS.JetStream
	var js jetstream.JetStream
	var err error
	if jc.Domain != "" {
		js, err = jetstream.NewWithDomain(nc, jc.Domain)
	} else {
		js, err = jetstream.New(nc)
	}
	if err == nil {
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = worker.EnsureTickStream(ectx, js, cfg.Robot, jc.MaxAge)
		cancel()
	}
	if err != nil {
		log.Warn("feature bundle stream not created yet; it is created at the first bundle", "stream", worker.TickStream(cfg.Robot), "err", err)
	}
	log.Info("fusion offloaded to fusion workers: publishing feature bundles, no decisions",
		"subject", offload.Subject(cfg.Robot), "stream", worker.TickStream(cfg.Robot))
	return worker.NewOffloader(ctx, js, cfg.Robot, boot, jc.MaxAge)
}
