package fusiond

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse/offload"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/worker"
)

// WorkerConfig is a fusion worker's own settings (fusiond worker).
type WorkerConfig struct {
	// ID names the worker in leases and logs.
	ID string
	// KeyFile is its signing key (created on first use; default: the
	// state directory's worker/signing.nk).
	KeyFile string
	// LeaseTTL: a robot whose worker stops renewing this long is taken
	// over. CheckpointEvery: ticks between checkpoints.
	LeaseTTL        time.Duration
	CheckpointEvery int
	Log             *slog.Logger
}

// NewWorker builds a fusion worker (sinks/worker) on the hub connection
// nc that fuses offloaded robots with cfg's decision settings and model
// (they must be the robots'), signing with its own key; the key's public
// half is returned for the fleet's trusted keys.
func NewWorker(ctx context.Context, nc *nats.Conn, cfg *configs.Config, wc WorkerConfig) (w *worker.Worker, publicKey string, err error) {
	dc, err := decideConfig(cfg)
	if err == nil && dc == nil {
		err = errors.New("fuse.decisions.enabled is off: nothing to decide")
	}
	if err != nil {
		return nil, "", err
	}
	if wc.KeyFile == "" {
		if wc.KeyFile, err = sinks.DefaultKeyFile("worker"); err != nil {
			return nil, "", err
		}
	}
	sg, err := sinks.LoadOrCreateSigningKey(wc.KeyFile)
	if err != nil {
		return nil, "", err
	}
	w, err = worker.New(ctx, nc, worker.Config{ID: wc.ID, Domain: cfg.Fleet.HubDomain, Decide: dc, Signer: sg,
		LeaseTTL: wc.LeaseTTL, CheckpointEvery: wc.CheckpointEvery, Log: wc.Log})
	if err != nil {
		return nil, "", err
	}
	return w, sg.PublicKey(), nil
}

// startOffload prepares fuse.offload: the robot's stream of feature
// bundles (created now, or by the first publish's retries when the server
// is not up yet) and the Offloader that publishes them, each until it is
// stored. Fusion waits for the store's ack: with the server gone, the
// queues before it fill and live capture drops, counted.
func startOffload(ctx context.Context, nc *nats.Conn, cfg *configs.Config, boot string, log *slog.Logger) *worker.Offloader {
	jc := cfg.NATS.JetStream
	js, err := worker.JetStream(nc, jc.Domain)
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
