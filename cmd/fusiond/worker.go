package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	daemon "github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/sinks/fleet"
	"github.com/seed-4c364652/fusiond/sinks/worker"
)

// cmdWorker: fusiond worker [add ROBOT[@DOMAIN]...], on a hub
// (docs/FLEET.md, "Fusion workers"). The logic is in sinks/worker; this is
// flags.
func cmdWorker(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("worker", "[add ROBOT[@DOMAIN]...] [flags]",
		"Make the decisions of robots that offload fusion: each robot publishes feature\n"+
			"bundles, the hub's work stream sources them, and any number of workers share the\n"+
			"robots (a lease each in KV), checkpoint their trackers and take over from each\n"+
			"other. Decisions are signed with the worker's key and keep the robot's subjects\n"+
			"and message ids. The decision settings (fuse.decisions) must be the robots'.\n\n"+
			"  (no subcommand)     work until SIGINT/SIGTERM\n"+
			"  add ROBOT...        source these robots' feature bundles into the work stream",
		[]string{
			"fusiond worker add r1 r2 --hub nats://hub:4222",
			"fusiond worker --hub nats://hub:4222 --id w1 --config hub.yaml",
		}, stdout)
	cfgPath := fs.String("config", "", "config `FILE` (default: the built-in defaults)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	hub := fs.String("hub", "", "hub `URL`(s), comma-separated (default: nats.url)")
	id := fs.String("id", worker.DefaultID(), "worker `ID` in leases and logs")
	keyFile := fs.String("key", "", "signing key `FILE` (default: the state directory's worker/signing.nk)")
	leaseTTL := fs.Duration("lease-ttl", 10*time.Second, "a robot whose worker stops renewing this long is taken over")
	every := fs.Int("checkpoint-every", 100, "ticks between checkpoints")
	timeout := fs.Duration("timeout", 10*time.Second, "add: deadline")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	add := fs.NArg() > 0 && fs.Arg(0) == "add"
	if fs.NArg() > 0 && !add || add && fs.NArg() == 1 {
		fmt.Fprintln(stderr, "fusiond worker: bad arguments (see 'fusiond worker --help')")
		return exitUsage
	}
	if *hub != "" {
		sets = append(sets, "nats.url="+*hub)
	}
	cfg, err := configs.Load(*cfgPath, sets)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if cfg.NATS.URL == "" {
		fmt.Fprintln(stderr, "fusiond worker: no hub: set nats.url or --hub")
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{ReplaceAttr: redactAttr}))
	d := time.Duration(0)
	if add {
		d = *timeout
	}
	ctx, stop := commandContext(d)
	defer stop()
	nc, err := fleet.ConnectHub(ctx, cfg.NATS, log)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond worker: %v\n", err)
		return exitRuntime
	}
	defer nc.Close()
	if add {
		err := fleet.AddOffloaded(ctx, nc, cfg.Fleet.HubDomain, fs.Args()[1:], func(r fleet.Robot) {
			fmt.Fprintf(stdout, "sourcing %s's feature bundles (stream %s in domain %s)\n", r.Robot, worker.TickStream(r.Robot), r.Domain)
		})
		if err != nil {
			fmt.Fprintf(stderr, "fusiond worker add: %v\n", err)
			return exitRuntime
		}
		return 0
	}
	w, key, err := daemon.NewWorker(ctx, nc, cfg, daemon.WorkerConfig{ID: *id, KeyFile: *keyFile, LeaseTTL: *leaseTTL, CheckpointEvery: *every, Log: log})
	if err != nil {
		fmt.Fprintf(stderr, "fusiond worker: %v\n", err)
		return exitUsage
	}
	log.Info("worker started", "id", *id, "signing_key", key)
	if err := w.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "fusiond worker: %v\n", err)
		return exitRuntime
	}
	return 0
}
