package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	daemon "github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/internal/bench"
	"github.com/seed-4c364652/fusiond/sinks"
)

// benchE2E is `fusiond bench e2e`: the whole daemon (sources, sync, fuse,
// the configured NATS sink with its embedded server) paced at real time and
// at maximum speed, with the limits of the machine measured beside it in
// the same run.
func benchE2E(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench e2e", "[--cameras 1,2,4 | --scaling | --config FILE | FILE.mcap] [--for DURATION] [--media DURATION] [--json FILE] [--svg DIR]",
		"Run the whole daemon paced at real time and at maximum speed and print, per\n"+
			"camera count, the paced tick latency (p99 against 10 ms), CPU (against 20 % of\n"+
			"a core per camera) and peak RSS (against 300 MB); throughput (× real time),\n"+
			"latency percentiles per stage and allocations per tick; beside them, measured\n"+
			"in the same run, the limits: the source's render (or decode) rate alone and the\n"+
			"NATS server's publish rate.\n"+
			"--cameras N,M,... runs, for each count, ONE daemon of N synthetic 640×480@30\n"+
			"cameras (yaws spread around the robot) and one 4-channel 48 kHz microphone\n"+
			"array, every feature on; --scaling is --cameras 1,2,4,8. --config FILE runs\n"+
			"that config instead. The decision interval is set to one frame period so that\n"+
			"every tick is published (--set fuse.decision_interval=... overrides).",
		[]string{
			"fusiond bench e2e",
			"fusiond bench e2e --cameras 1,2,4 --for 20s",
			"fusiond bench e2e --scaling --svg docs/plots",
			"fusiond bench e2e --config configs/clip-megamind.yaml",
			"fusiond bench e2e run.mcap",
		}, stdout)
	cfgPath := fs.String("config", "", "config `FILE` (default: the synthetic robot of --cameras)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	cameras := fs.String("cameras", "", "camera `COUNTS`, comma-separated: one daemon each (default 1)")
	pacedFor := fs.Duration("for", 10*time.Second, "paced run `DURATION`")
	media := fs.Duration("media", 30*time.Second, "media `DURATION` for the maximum-speed run (synthetic sources); with a source that never ends (a device, a stream), that run's wall time")
	scaling := fs.Bool("scaling", false, "--cameras 1,2,4,8, with the scaling plot")
	jsonOut := fs.String("json", "", "also write the results as JSON to `FILE`")
	svgDir := fs.String("svg", "", "write latency and scaling plots (SVG) into `DIR`")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the runs to `FILE` (go tool pprof)")
	from := fs.String("from", "", "print (and plot, with --svg) the results saved with --json in `FILE`, without running")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	mcapPath := ""
	if fs.NArg() == 1 {
		mcapPath = fs.Arg(0)
	} else if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "fusiond bench e2e: unexpected argument %q\n", fs.Arg(1))
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if *from != "" {
		rep, err := bench.ReadE2EReport(*from)
		if err == nil {
			rep.Print(stdout)
			if *svgDir != "" {
				err = rep.Plots(*svgDir)
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
			return exitRuntime
		}
		return exitOK
	}
	var profile *os.File
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
			return exitRuntime
		}
		defer f.Close()
		profile = f
	}
	if mcapPath != "" {
		return benchE2EReplay(mcapPath, *cfgPath, sets, profile, stdout, stderr, log)
	}
	if *scaling {
		*cameras = "1,2,4,8"
	}
	cfgs, err := bench.E2EConfigs(*cfgPath, *cameras, sets)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
		return exitUsage
	}
	report := &bench.E2EReport{Machine: bench.Machine(), Date: time.Unix(0, av.NewRealClock().Now()).UTC().Format("2006-01-02 15:04 MST"), Command: "fusiond bench e2e " + strings.Join(args, " ")}
	o := bench.E2EOptions{Configs: cfgs, PacedNS: int64(*pacedFor), MediaNS: int64(*media), Log: log}
	if profile != nil {
		o.CPUProfile = profile
	}
	if err := bench.E2E(context.Background(), e2eHost, o, report); err != nil {
		fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
		return exitRuntime
	}
	report.Print(stdout)
	if *jsonOut != "" {
		if err := report.WriteJSON(*jsonOut); err != nil {
			fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
			return exitRuntime
		}
	}
	if *svgDir != "" {
		if err := report.Plots(*svgDir); err != nil {
			fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
			return exitRuntime
		}
	}
	return exitOK
}

// e2eHost lends internal/bench the daemon, which only the commands may
// import.
var e2eHost = bench.Host{
	New: func(cfg *configs.Config, o bench.DaemonOptions) (bench.Daemon, error) {
		opts := []daemon.Option{daemon.WithClock(o.Clock), daemon.WithLogger(o.Log), daemon.WithSink(o.Sink), daemon.WithBundleTap(o.BundleTap)}
		for _, s := range o.Sources {
			opts = append(opts, daemon.WithSource(s.Name, s.Source))
		}
		d, err := daemon.New(cfg, opts...)
		if err != nil {
			return nil, err
		}
		return d, nil
	},
	ConnectNATS: daemon.ConnectNATS,
}

// benchE2EReplay is bench e2e on a recording: the replay at maximum speed
// (the same stages, one goroutine, the recorded arrival times) beside the
// recording's read-and-decode rate alone.
func benchE2EReplay(path, cfgPath string, sets []string, profile *os.File, stdout, stderr io.Writer, log *slog.Logger) int {
	r, err := recording.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
		return exitUsage
	}
	cfg, err := daemon.RecordedConfig(r, cfgPath, sets)
	r.Close()
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
		return exitUsage
	}
	rep, err := bench.MeasureReplay(path, func(sink sinks.Sink) error {
		if profile != nil {
			if err := pprof.StartCPUProfile(profile); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		return daemon.Replay(context.Background(), daemon.ReplayConfig{Path: path, Config: cfg, Sinks: []sinks.Sink{sink}, Log: log})
	})
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench e2e: %v\n", err)
		return exitRuntime
	}
	rep.Print(stdout)
	return exitOK
}
