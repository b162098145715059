package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/seed-4c364652/fusiond/internal/bench"
)

// benchFleet: fusiond bench fleet (internal/bench/fleet.go); flags.
func benchFleet(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench fleet", "[--robots N] [--for DURATION] [--workers 1,2,4] [--leaf] [--json FILE]",
		"Simulate N offloaded robots publishing feature bundles in real time (30 a second each)\n"+
			"into a one-node hub, fused by 1, 2 and 4 fusion workers in process: decisions/s, hub lag\n"+
			"(bundle stored → its decisions stored) p50/p99, then the workers' throughput on a backlog\n"+
			"of ten times the run's bundles; CPU is the process's (hub, robots and workers).",
		[]string{"fusiond bench fleet --robots 50 --for 10s", "fusiond bench fleet --robots 50 --for 10s --leaf", "fusiond bench fleet --workers 1,4 --json fleet.json"}, stdout)
	robots := fs.Int("robots", 20, "simulated robots (`N`)")
	dur := fs.Duration("for", 10*time.Second, "each robot publishes this long")
	workers := fs.String("workers", "1,2,4", "worker counts, comma-separated (a run each)")
	jsonOut := fs.String("json", "", "also write the results as JSON to `FILE`")
	leaf := fs.Bool("leaf", false, "instead: robots as leaf nodes (own domain and log), a one-node hub sourcing them into FUSIOND_FLEET: hub lag")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	counts, err := bench.ParseCounts(*workers)
	if err != nil || *robots <= 0 || *dur <= 0 {
		fmt.Fprintf(stderr, "fusiond bench fleet: --workers %v; --robots and --for must be positive\n", err)
		return exitUsage
	}
	ctx, stop := commandContext(10**dur + 5*time.Minute)
	defer stop()
	var runs any
	if *leaf {
		r, e := bench.FleetLeaf(ctx, bench.FleetLeafConfig{Robots: *robots, For: *dur, ConnectNATS: e2eHost.ConnectNATS})
		runs, err = r, e
		bench.WriteFleetLeafTable(stdout, r) //nolint:errcheck // stdout
	} else {
		r, e := bench.Fleet(ctx, bench.FleetConfig{Robots: *robots, For: *dur, Workers: counts})
		runs, err = r, e
		bench.WriteFleetTable(stdout, r) //nolint:errcheck // stdout
	}
	if err == nil && *jsonOut != "" {
		b, _ := json.MarshalIndent(runs, "", "  ")
		err = os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench fleet: %v\n", err)
		return exitRuntime
	}
	return exitOK
}
