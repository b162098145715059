package main

import (
	"fmt"
	"io"
	"time"

	daemon "github.com/seed-4c364652/fusiond"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "[--config FILE] [--set k=v]... [--for DURATION] [--decisions FILE] [--record FILE.mcap]",
		"Capture the configured streams, align them, fuse them and publish decisions on\n"+
			"fusion.<robot>.decision.<kind>. Without --config it runs the built-in demo\n"+
			"(synthetic camera and microphone, embedded NATS on 127.0.0.1:4222).\n"+
			"SIGINT or SIGTERM stops the sources and drains the pipeline.",
		[]string{
			"fusiond run",
			"fusiond run --for 10s --set nats.embedded.listen=127.0.0.1:4333",
			"fusiond run --config configs/default.yaml --decisions out.jsonl",
			"fusiond run --for 60s --record run.mcap   # then: fusiond replay run.mcap",
			"fusiond run --set nats.url=nats://10.0.0.2:4222 --set robot=r2",
		}, stdout)
	cfgPath := fs.String("config", "", "config `FILE` (default: the built-in configs/default.yaml)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	runFor := fs.Duration("for", 0, "stop after this `DURATION` (default: until SIGINT/SIGTERM)")
	decisionsPath := fs.String("decisions", "", "also write decisions to `FILE`, one JSON object per line")
	recordPath := fs.String("record", "", "record samples, decisions and status to `FILE.mcap` (replayable)")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fusiond run: unexpected argument %q (see 'fusiond run --help')\n", fs.Arg(0))
		return exitUsage
	}
	if *runFor < 0 {
		fmt.Fprintln(stderr, "fusiond run: --for must not be negative")
		return exitUsage
	}
	if *decisionsPath != "" && samePath(*decisionsPath, *recordPath) {
		fmt.Fprintf(stderr, "fusiond run: --decisions and --record name the same file %s\n", *recordPath)
		return exitUsage
	}
	cfg, err := sources.Load(*cfgPath, sets)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond run: %v\n", err)
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	if *cfgPath == "" {
		log.Info("no --config given: running the built-in demo config (synthetic camera and microphone); start from configs/robot.yaml for real devices")
	}

	ctx, stop := commandContext(*runFor)
	defer stop()
	defer watchShutdown(ctx, cfg.Pipeline.DrainTimeout+time.Second, log)()
	d, err := daemon.New(cfg, daemon.WithLogger(log),
		daemon.WithDecisionsFile(*decisionsPath), daemon.WithRecording(*recordPath))
	if err == nil {
		err = d.Run(ctx)
	}
	if err != nil {
		if daemon.IsLogged(err) {
			log.Info("fusiond run stopped with an error logged above", "exit", exitRuntime)
		} else {
			log.Error("fusiond run failed", "err", err)
		}
		return exitRuntime
	}
	return exitOK
}
