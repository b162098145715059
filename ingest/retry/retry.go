package retry

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// DropDeviceError counts, per stream, each failed open or lost device.
const DropDeviceError av.DropReason = "device_error"

// Source is a capture source, as the pipeline runs it.
type Source interface {
	Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error
}

// permanent marks an error retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that a Supervisor gives up instead of retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// Config tunes a Supervisor.
type Config struct {
	Stream av.StreamID
	// MinBackoff is the first wait after a failure (default 250ms); each
	// consecutive failure doubles it up to MaxBackoff (default 10s). A run
	// that lasted longer than MaxBackoff resets it.
	MinBackoff, MaxBackoff time.Duration
}

// Supervisor runs a Source again and again until ctx ends.
type Supervisor struct {
	src   Source
	cfg   Config
	clock av.Clock
	drops *av.Drops
	log   *slog.Logger

	failures atomic.Uint64
	up       atomic.Bool
}

// New returns a supervisor of src. drops and log may be nil.
func New(src Source, cfg Config, clock av.Clock, drops *av.Drops, log *slog.Logger) *Supervisor {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(10*time.Second, cfg.MinBackoff)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{src: src, cfg: cfg, clock: clock, drops: drops, log: log}
}

// Failures returns how many times the source failed.
func (s *Supervisor) Failures() uint64 { return s.failures.Load() }

// Up reports whether the source is running (it may still be opening).
func (s *Supervisor) Up() bool { return s.up.Load() }

// Run runs the source until ctx ends or the source ends cleanly (nil) or
// fails permanently (its error). Other failures are retried.
func (s *Supervisor) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	backoff := s.cfg.MinBackoff
	for {
		began := s.clock.Now()
		s.up.Store(true)
		err := s.src.Run(ctx, out, startNS)
		s.up.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			return nil
		}
		if IsPermanent(err) {
			s.log.Error("source failed; not retrying", "stream", s.cfg.Stream, "err", err)
			return err
		}
		n := s.failures.Add(1)
		if s.drops != nil {
			s.drops.Add(s.cfg.Stream, DropDeviceError, 1)
		}
		if s.clock.Now()-began > int64(s.cfg.MaxBackoff) {
			backoff = s.cfg.MinBackoff
		}
		s.log.Warn("device unavailable; stream missing until it is back", "stream", s.cfg.Stream, "err", err,
			"failures", n, "retry_in", backoff)
		if err := s.clock.WaitUntil(ctx, s.clock.Now()+int64(backoff)); err != nil {
			return nil
		}
		backoff = min(2*backoff, s.cfg.MaxBackoff)
	}
}
