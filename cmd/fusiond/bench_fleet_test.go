package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/internal/bench"
)

// TestBenchFleetLeaf: three robots as leaf nodes publish 30 decisions a
// second for 1.5s; every one reaches the hub stream once, and the hub
// lag is measured.
func TestBenchFleetLeaf(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a hub and three robots' servers for seconds")
	}
	// nats-server's wait for a source consumer's creation does not end
	// with the server: not ours to wait for.
	defer goleak.VerifyNone(t, goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*stream).trySetupSourceConsumer.func3"))
	out := filepath.Join(t.TempDir(), "leaf.json")
	code, stdout, stderr := runCLI("bench", "fleet", "--leaf", "--robots", "3", "--for", "1500ms", "--json", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "hub lag p99 ms") {
		t.Errorf("no table:\n%s", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r bench.FleetLeafRun
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	const want = 3 * 45 // 3 robots × 1.5s × 30/s
	if r.Robots != 3 || r.Published != want || r.Stored != want || r.Duplicates != 0 || r.Missing != 0 {
		t.Errorf("published %d, at hub %d (%d twice, %d missing); want %d once each: %+v", r.Published, r.Stored, r.Duplicates, r.Missing, want, r)
	}
	if r.LagMS.N == 0 || r.LagMS.P99 <= 0 || r.LagMS.P99 < r.LagMS.P50 || r.DecisionsPerS <= 0 || r.CPUCores <= 0 {
		t.Errorf("figures missing: %+v", r)
	}
}
