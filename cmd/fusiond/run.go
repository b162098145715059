package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "[--config FILE] [--set k=v]... [--for DURATION] [--decisions FILE]",
		"Capture the configured streams, align them, fuse them and publish decisions on\n"+
			"fusion.<robot>.decision.<kind>. Without --config it runs the built-in demo\n"+
			"(synthetic camera and microphone, embedded NATS on 127.0.0.1:4222).\n"+
			"SIGINT or SIGTERM stops the sources and drains the pipeline.",
		[]string{
			"fusiond run",
			"fusiond run --for 10s --set nats.embedded.listen=127.0.0.1:4333",
			"fusiond run --config configs/default.yaml --decisions out.jsonl",
			"fusiond run --set nats.url=nats://10.0.0.2:4222 --set robot=r2",
		}, stdout)
	cfgPath := fs.String("config", "", "config `FILE` (default: the built-in configs/default.yaml)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	runFor := fs.Duration("for", 0, "stop after this `DURATION` (default: until SIGINT/SIGTERM)")
	decisionsPath := fs.String("decisions", "", "also write decisions to `FILE`, one JSON object per line")
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
	cfg, err := configs.Load(*cfgPath, sets)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond run: %v\n", err)
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	if *cfgPath == "" {
		log.Info("no --config given: running the built-in demo config (synthetic camera and microphone); start from configs/robot.yaml for real devices")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}
	if err := daemon(ctx, cfg, av.NewRealClock(), *decisionsPath, log); err != nil {
		log.Error("fusiond run failed", "err", err)
		return exitRuntime
	}
	return exitOK
}

// daemon runs fusiond until ctx ends: NATS up, pipeline, drain, NATS down.
func daemon(ctx context.Context, cfg *configs.Config, clock av.Clock, decisionsPath string, log *slog.Logger) error {
	var sinkList []sinks.Sink
	if decisionsPath != "" {
		j, err := sinks.CreateJSONL(decisionsPath)
		if err != nil {
			return err
		}
		defer j.Close()
		sinkList = append(sinkList, j)
	}

	nc, closeNATS, err := connectNATS(cfg.NATS, log)
	if err != nil {
		return err
	}
	defer closeNATS()
	sinkList = append(sinkList, sinks.NewNATSSink(nc, bootID()))

	p, err := newPipeline(cfg, clock, sinkList, log)
	if err != nil {
		return err
	}
	log.Info("fusiond running", "robot", cfg.Robot, "subjects", sinks.DecisionSubject(cfg.Robot, ">"))

	statusCtx, stopStatus := context.WithCancel(context.Background())
	statusDone := make(chan error, 1)
	go func() {
		statusDone <- sinks.RunStatus(statusCtx, clock, int64(cfg.Pipeline.StatusInterval), nc, cfg.Robot, p.status)
	}()
	err = p.run(ctx)
	stopStatus()
	<-statusDone

	log.Info("fusiond stopped", "drops", p.drops.Snapshot())
	return err
}

// connectNATS connects to the configured server, or starts the embedded one
// and connects in-process. The returned function flushes and closes, in
// that order.
func connectNATS(cfg configs.NATS, log *slog.Logger) (*nats.Conn, func(), error) {
	if cfg.URL != "" {
		nc, err := sinks.ConnectExternal(cfg.URL, log)
		if err != nil {
			return nil, nil, fmt.Errorf("nats.url %q: %w", cfg.URL, err)
		}
		return nc, func() { flushClose(nc, log) }, nil
	}
	e, err := sinks.StartEmbedded(sinks.EmbeddedConfig{Listen: cfg.Embedded.Listen, StoreDir: cfg.Embedded.StoreDir, Log: log})
	if err != nil {
		if errors.Is(err, sinks.ErrListen) {
			return nil, nil, fmt.Errorf("nats.embedded.listen: %w", err)
		}
		return nil, nil, err
	}
	nc, err := e.Connect()
	if err != nil {
		e.Shutdown()
		return nil, nil, fmt.Errorf("embedded nats: %w", err)
	}
	return nc, func() {
		flushClose(nc, log)
		e.Shutdown()
	}, nil
}

func flushClose(nc *nats.Conn, log *slog.Logger) {
	if nc.IsConnected() {
		if err := nc.FlushTimeout(2 * time.Second); err != nil {
			log.Warn("NATS flush at shutdown failed", "err", err)
		}
	} else if n, _ := nc.Buffered(); n > 0 {
		log.Error("NATS not connected at shutdown; buffered messages are lost", "bytes", n)
	}
	nc.Close()
}

// bootID tells this run's message ids from those of earlier runs.
func bootID() string { return strings.ToLower(rand.Text()[:10]) }
