package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// LeaseBucket is the JetStream KV bucket of robot leases: key robot id,
// value the holder (LeaseHolder as JSON).
const LeaseBucket = "FUSIOND_LEASES"

// ErrLeaseHeld is returned when another daemon holds the robot id.
var ErrLeaseHeld = errors.New("another fusiond holds this robot id on the server")

// LeaseHolder is the value of a lease: which daemon holds it.
type LeaseHolder struct {
	BootID string `json:"boot_id"`
	Host   string `json:"host"`
	PID    int    `json:"pid"`
}

// LeaseConfig configures a robot's lease.
type LeaseConfig struct {
	Robot  string
	BootID string
	// TTL: a lease not renewed this long expires and may be taken over
	// (the bucket's max age; the first daemon to create the bucket sets
	// it). Renewed every TTL/3. Default 10s.
	TTL    time.Duration
	Domain string
	Log    *slog.Logger
}

// Lease is one daemon's hold on its robot id: one daemon per robot id on
// a server, so that one decision log has one writer and control requests
// one answerer.
type Lease struct {
	cfg   LeaseConfig
	nc    *nats.Conn
	value []byte
	kv    jetstream.KeyValue
	rev   uint64 // 0: not held yet
}

// NewLease prepares a lease; Acquire takes it.
func NewLease(nc *nats.Conn, cfg LeaseConfig) *Lease {
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	v, _ := json.Marshal(LeaseHolder{BootID: cfg.BootID, Host: host, PID: os.Getpid()})
	return &Lease{cfg: cfg, nc: nc, value: v}
}

func (l *Lease) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	if l.kv != nil {
		return l.kv, nil
	}
	var js jetstream.JetStream
	var err error
	if l.cfg.Domain != "" {
		js, err = jetstream.NewWithDomain(l.nc, l.cfg.Domain)
	} else {
		js, err = jetstream.New(l.nc)
	}
	if err != nil {
		return nil, err
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: LeaseBucket, TTL: l.cfg.TTL, History: 1,
		Description: "fusiond: one daemon per robot id", Storage: jetstream.FileStorage})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, LeaseBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("lease bucket %s: %w", LeaseBucket, err)
	}
	l.kv = kv
	return kv, nil
}

// Acquire takes the lease, or returns an error wrapping ErrLeaseHeld that
// names the holder. Other errors (no server yet) may pass: try again.
func (l *Lease) Acquire(ctx context.Context) error {
	kv, err := l.bucket(ctx)
	if err != nil {
		return err
	}
	rev, err := kv.Create(ctx, l.cfg.Robot, l.value)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return l.held(ctx, kv)
	}
	if err != nil {
		return fmt.Errorf("lease %s: %w", l.cfg.Robot, err)
	}
	l.rev = rev
	return nil
}

func (l *Lease) held(ctx context.Context, kv jetstream.KeyValue) error {
	holder := "an unknown daemon"
	if e, err := kv.Get(ctx, l.cfg.Robot); err == nil {
		var h LeaseHolder
		if json.Unmarshal(e.Value(), &h) == nil {
			holder = fmt.Sprintf("fusiond boot %s (pid %d on %s)", h.BootID, h.PID, h.Host)
		}
	}
	return fmt.Errorf("robot %q: %w: %s; stop it, give this one another robot id, or wait %v after it stops renewing (bucket %s)",
		l.cfg.Robot, ErrLeaseHeld, holder, l.cfg.TTL, LeaseBucket)
}

// Held reports whether the lease is held.
func (l *Lease) Held() bool { return l.rev != 0 }

// Run renews the lease every TTL/3 (acquiring it first if Acquire could
// not reach the server) until ctx ends, then releases it. It returns an
// error wrapping ErrLeaseHeld when another daemon holds or took the
// robot id; the daemon must then stop.
func (l *Lease) Run(ctx context.Context) error {
	every := l.cfg.TTL / 3
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			l.release()
			return nil
		case <-t.C:
		}
		octx, cancel := context.WithTimeout(ctx, every)
		var err error
		if l.rev == 0 {
			err = l.Acquire(octx)
			if err == nil {
				l.cfg.Log.Info("robot lease taken", "robot", l.cfg.Robot, "bucket", LeaseBucket)
			}
		} else {
			var rev uint64
			rev, err = l.kv.Update(octx, l.cfg.Robot, l.value, l.rev)
			if err == nil {
				l.rev = rev
			} else if LeaseLost(err) {
				err = l.held(octx, l.kv)
				l.rev = 0
			}
		}
		cancel()
		switch {
		case errors.Is(err, ErrLeaseHeld):
			return err
		case err != nil && !failing:
			l.cfg.Log.Warn("robot lease not renewed; retrying", "robot", l.cfg.Robot, "err", err)
		case err == nil && failing:
			l.cfg.Log.Info("robot lease renewed again", "robot", l.cfg.Robot)
		}
		failing = err != nil
	}
}

// LeaseLost says whether a KV update of a lease failed because someone
// else holds it now (the key exists, or its revision moved on).
func LeaseLost(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSeq(err)
}

func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// release deletes the lease if this daemon still holds it, so the next
// daemon need not wait for it to expire.
func (l *Lease) release() {
	if l.rev == 0 || l.kv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := l.kv.Delete(ctx, l.cfg.Robot, jetstream.LastRevision(l.rev)); err != nil {
		l.cfg.Log.Warn("robot lease not released; it expires by itself", "robot", l.cfg.Robot, "ttl", l.cfg.TTL, "err", err)
	}
	l.rev = 0
}
