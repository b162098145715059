package bench

import (
	"context"
	"testing"
	"time"
)

// TestFleetMeasures: a small fleet run gives every figure, and the
// decisions its robots' ticks make.
func TestFleetMeasures(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a hub and workers for seconds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runs, err := Fleet(ctx, FleetConfig{Robots: 2, For: 2 * time.Second, Workers: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("%d runs", len(runs))
	}
	for _, r := range runs {
		if r.Ticks < 2*60 || r.Decisions == 0 || r.DecisionsPerS <= 0 || r.LagMS.N == 0 || r.DrainPerS <= 0 || r.DrainTicksPerS < r.DrainPerS {
			t.Errorf("%d workers: %+v", r.Workers, r)
		}
	}
	if _, err := Fleet(ctx, FleetConfig{Robots: 0, For: time.Second, Workers: []int{1}}); err == nil {
		t.Error("no robots: no error")
	}
}

// TestFleetLeafRefuses: no robots, no duration or no NATS path: an error
// before anything starts.
func TestFleetLeafRefuses(t *testing.T) {
	for _, cfg := range []FleetLeafConfig{
		{Robots: 0, For: time.Second},
		{Robots: 1, For: 0},
		{Robots: 1, For: time.Second},
	} {
		if _, err := FleetLeaf(context.Background(), cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
