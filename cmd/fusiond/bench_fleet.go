package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed-4c364652/fusiond/internal/bench"
)

// benchFleet: fusiond bench fleet (internal/bench/fleet.go); flags and
// printing.
func benchFleet(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench fleet", "[--robots N] [--for DURATION] [--workers 1,2,4] [--json FILE]",
		"Simulate N offloaded robots publishing feature bundles of synthetic scenes in real time\n"+
			"(30 a second each) into a one-node hub, and fuse them with 1, 2 and 4 fusion workers\n"+
			"(in process, a connection each): the decision rate and the hub lag (bundle stored →\n"+
			"its decisions stored, p50/p99), then how fast the workers drain the whole run's\n"+
			"the run's bundles (their throughput), with the process's CPU (hub, robots and workers).",
		[]string{"fusiond bench fleet --robots 50 --for 10s", "fusiond bench fleet --workers 1,4 --json fleet.json"}, stdout)
	robots := fs.Int("robots", 20, "simulated robots (`N`)")
	dur := fs.Duration("for", 10*time.Second, "each robot publishes this long")
	workers := fs.String("workers", "1,2,4", "worker counts, comma-separated (a run each)")
	jsonOut := fs.String("json", "", "also write the results as JSON to `FILE`")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	var cfg bench.FleetConfig
	cfg.Robots, cfg.For = *robots, *dur
	for _, f := range strings.Split(*workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(stderr, "fusiond bench fleet: --workers %q: want positive counts, comma-separated\n", *workers)
			return exitUsage
		}
		cfg.Workers = append(cfg.Workers, n)
	}
	if cfg.Robots <= 0 || cfg.For <= 0 {
		fmt.Fprintln(stderr, "fusiond bench fleet: --robots and --for must be positive")
		return exitUsage
	}
	ctx, stop := commandContext(10*cfg.For + 5*time.Minute)
	defer stop()
	runs, err := bench.Fleet(ctx, cfg)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workers\trobots\tticks\tdecisions\tdecisions/s\tlag p50 ms\tlag p99 ms\tcpu cores\tdrain decisions/s\tdrain ticks/s\tdrain cpu cores\t")
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.2f\t%.0f\t%.0f\t%.2f\t\n", r.Workers, r.Robots, r.Ticks, r.Decisions,
			r.DecisionsPerS, r.LagMS.P50, r.LagMS.P99, r.CPUCores, r.DrainPerS, r.DrainTicksPerS, r.DrainCPUCores)
	}
	tw.Flush()
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench fleet: %v\n", err)
		return exitRuntime
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(runs, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "fusiond bench fleet: %v\n", err)
			return exitRuntime
		}
	}
	return exitOK
}
