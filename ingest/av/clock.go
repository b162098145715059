package av

import (
	"context"
	"sync"
	"time"
)

// Clock is the pipeline's time source, in nanoseconds since the Unix epoch.
type Clock interface {
	Now() int64
	// WaitUntil blocks until Now() >= t or ctx is done.
	WaitUntil(ctx context.Context, t int64) error
}

// RealClock reads the machine's clock: the wall time at start, advanced by
// the monotonic clock, so a wall-clock jump (NTP, a user) does not move it.
type RealClock struct {
	start   time.Time
	startNS int64
}

// NewRealClock returns a clock anchored at the current wall time.
func NewRealClock() *RealClock {
	now := time.Now()
	return &RealClock{start: now, startNS: now.UnixNano()}
}

// Now implements Clock.
func (c *RealClock) Now() int64 { return c.startNS + int64(time.Since(c.start)) }

// WaitUntil implements Clock.
func (c *RealClock) WaitUntil(ctx context.Context, t int64) error {
	d := time.Duration(t - c.Now())
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// VirtualClock is a clock that only moves when told to: by a test, or by
// replay following recorded arrival times.
type VirtualClock struct {
	mu      sync.Mutex
	now     int64
	changed chan struct{} // closed and replaced on every move
}

// NewVirtualClock returns a virtual clock reading start.
func NewVirtualClock(start int64) *VirtualClock {
	return &VirtualClock{now: start, changed: make(chan struct{})}
}

// Now implements Clock.
func (c *VirtualClock) Now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t. It never moves backwards: an earlier t is
// ignored.
func (c *VirtualClock) Set(t int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t <= c.now {
		return
	}
	c.now = t
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves the clock forward by d nanoseconds.
func (c *VirtualClock) Advance(d int64) { c.Set(c.Now() + d) }

// WaitUntil implements Clock.
func (c *VirtualClock) WaitUntil(ctx context.Context, t int64) error {
	for {
		c.mu.Lock()
		now, changed := c.now, c.changed
		c.mu.Unlock()
		if now >= t {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
