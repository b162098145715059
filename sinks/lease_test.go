package sinks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
)

// TestLeaseOneDaemonPerRobot: a second daemon for the same robot is
// refused, naming the holder; another robot is not; after the holder
// releases, or stops renewing for the TTL, the lease can be taken.
func TestLeaseOneDaemonPerRobot(t *testing.T) {
	defer goleak.VerifyNone(t)
	_, nc, done := startEmbeddedConn(t)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ttl := time.Second

	a := NewLease(nc, LeaseConfig{Robot: "r", BootID: "boota", TTL: ttl})
	if err := a.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stopA := context.WithCancel(ctx)
	aDone := make(chan error, 1)
	go func() { aDone <- a.Run(runCtx) }()

	b := NewLease(nc, LeaseConfig{Robot: "r", BootID: "bootb", TTL: ttl})
	err := b.Acquire(ctx)
	if !errors.Is(err, ErrLeaseHeld) || !strings.Contains(err.Error(), "boota") {
		t.Fatalf("second daemon: %v", err)
	}
	if err := NewLease(nc, LeaseConfig{Robot: "r2", BootID: "bootc", TTL: ttl}).Acquire(ctx); err != nil {
		t.Fatalf("another robot: %v", err)
	}
	// a renews: still held after several TTLs.
	time.Sleep(3 * ttl) // the lease must outlive its TTL only by being renewed
	if err := b.Acquire(ctx); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("after 3 TTLs of renewal: %v", err)
	}
	// a stops cleanly: released at once.
	stopA()
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if err := b.Acquire(ctx); err != nil {
		t.Fatalf("after release: %v", err)
	}
	// b dies without releasing (never runs): c takes over once it expires.
	c := NewLease(nc, LeaseConfig{Robot: "r", BootID: "bootc", TTL: ttl})
	if err := c.Acquire(ctx); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("before expiry: %v", err)
	}
	avtest.Poll(t, "the expired lease taken over", func() bool { return c.Acquire(ctx) == nil })
	// b, back, finds its lease taken when it renews.
	bctx, stopB := context.WithCancel(ctx)
	defer stopB()
	if err := b.Run(bctx); !errors.Is(err, ErrLeaseHeld) || !strings.Contains(err.Error(), "bootc") {
		t.Fatalf("renewing a lease taken over: %v", err)
	}
}
