package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
	"github.com/seed-4c364652/fusiond/internal/redact"
	"github.com/seed-4c364652/fusiond/sinks"
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
	if err := runDaemon(ctx, cfg, av.NewRealClock(), daemonFiles{decisions: *decisionsPath, record: *recordPath}, log); err != nil {
		if wasLogged(err) {
			log.Info("fusiond run stopped with an error logged above", "exit", exitRuntime)
		} else {
			log.Error("fusiond run failed", "err", err)
		}
		return exitRuntime
	}
	return exitOK
}

// runDaemon runs fusiond until ctx ends: NATS up (connection, decision log,
// control plane), pipeline, drain, then NATS down in order: status stops,
// the outbox waits for the last acks, the control plane stops, the
// connection flushes and closes, the embedded server shuts down.
//
// Shutdown is bounded: from the moment ctx ends, everything (drain, last
// acks, flush) fits in pipeline.drain_timeout plus a second; decisions not
// acked by then stay in the outbox file for the next start.
func runDaemon(ctx context.Context, cfg *configs.Config, clock av.Clock, files daemonFiles, log *slog.Logger) error {
	// The outbox comes first: a decision is in the outbox file before it
	// is written to --decisions or anywhere else.
	var sinkList []sinks.Sink
	var jsonl []*sinks.JSONLFile // closed, and checked, at the end
	if files.decisions != "" {
		j, err := sinks.CreateJSONL(files.decisions)
		if err != nil {
			return err
		}
		defer j.Close()
		jsonl = append(jsonl, j)
	}
	var outboxDir string
	if cfg.NATS.JetStream.Enabled {
		state, err := cfg.StatePath()
		if err != nil {
			return err
		}
		outboxDir = filepath.Join(state, "outbox")
	}

	signer, err := loadSigner(cfg, log)
	if err != nil {
		return err
	}
	link, err := openNATS(cfg.NATS, log)
	if err != nil {
		return err
	}
	defer link.close() // after the orderly shutdown below, a no-op
	nc := link.nc
	boot := bootID()

	// One daemon per robot id on a server (a lease in JetStream KV).
	leaseCtx, stopLease := context.WithCancel(context.Background())
	leaseDone := make(chan error, 1)
	if js := cfg.NATS.JetStream; js.Enabled {
		lease := sinks.NewLease(nc, sinks.LeaseConfig{Robot: cfg.Robot, BootID: boot, TTL: cfg.NATS.Lease.TTL, Domain: js.Domain, Log: log})
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := lease.Acquire(actx)
		cancel()
		if errors.Is(err, sinks.ErrLeaseHeld) {
			stopLease()
			return err
		} else if err != nil {
			log.Warn("robot lease not taken yet; retrying in the background", "err", err)
		}
		var stopDaemon context.CancelCauseFunc
		ctx, stopDaemon = context.WithCancelCause(ctx)
		go func() {
			err := lease.Run(leaseCtx)
			if err != nil {
				log.Error("robot lease lost: stopping", "err", err)
				stopDaemon(err)
			}
			leaseDone <- err
		}()
	} else {
		close(leaseDone)
	}
	// Released before the connection closes.
	endLease := sync.OnceFunc(func() { stopLease(); <-leaseDone })
	defer endLease()

	var outbox *sinks.JetStreamSink
	if js := cfg.NATS.JetStream; js.Enabled {
		lc := logConfig(cfg)
		ensure := func(ctx context.Context) error {
			_, err := sinks.EnsureLog(ctx, nc, js.Domain, lc)
			return err
		}
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := ensure(ectx); err != nil {
			// The server may not be up yet: the outbox keeps the
			// decisions and creates the log when the server answers.
			log.Warn("decision log not created yet; decisions wait in the outbox", "err", err)
		} else {
			log.Info("decision log ready", "stream", lc.StreamConfig().Name, "subjects", lc.StreamConfig().Subjects)
		}
		cancel()
		outbox, err = sinks.NewJetStreamSink(nc, boot, sinks.OutboxConfig{
			Capacity: js.Outbox, Window: js.Window, AckTimeout: js.AckTimeout, EnsureLog: ensure, Clock: clock, Log: log,
			Signer: signer,
			Dir:    outboxDir, SyncInterval: js.OutboxSync, MaxBytes: js.OutboxMaxBytes,
			Stream: lc.StreamConfig().Name, Domain: js.Domain,
		})
		if err != nil {
			return err
		}
		resend := outbox.Resend
		link.onUp.Store(&resend)
		sinkList = append(sinkList, outbox)
	} else {
		sinkList = append(sinkList, sinks.NewNATSSink(nc, boot).SignWith(signer))
	}
	for _, j := range jsonl {
		sinkList = append(sinkList, j)
	}

	rec := newRecorder(cfg, clock, log)
	rec.signingKey = signer.PublicKey()
	sinkList = append(sinkList, rec)
	dm := newDaemonMetrics(cfg, log) // metrics.go; nil when metrics.listen is empty
	if dm != nil {
		sinkList = append(sinkList, dm.m)
	}
	sinkList = append(sinkList, files.sinks...)
	p, err := newPipeline(cfg, clock, sinkList, log)
	if err == nil && files.record != "" {
		err = rec.start(files.record)
	}
	if err != nil {
		if outbox != nil {
			// Nothing new was published: what it read back stays in
			// its file; do not wait for acks.
			done, cancel := context.WithCancel(context.Background())
			cancel()
			outbox.Close(done)
		}
		return err
	}
	p.rec = rec
	defer func() { // on the early returns below
		if rec.recording() {
			rec.stop()
		}
		rec.wait()
	}()
	if outbox != nil {
		outbox.CountDropsIn(p.drops)
	}
	if dm != nil {
		dm.attach(cfg, p, link, outbox)
		defer dm.close()
	}
	if files.onPipeline != nil {
		files.onPipeline(p, dm)
	}
	log.Info("fusiond running", "robot", cfg.Robot, "subjects", sinks.DecisionSubject(cfg.Robot, ">"), "boot_id", boot)

	var svc interface{ Stop() error }
	if cfg.NATS.Control {
		startNS := clock.Now()
		svc, err = sinks.StartControl(nc, sinks.ControlConfig{
			Robot: cfg.Robot, Version: version,
			Status: func() any {
				r := sinks.StatusReport{Status: p.status(), UptimeNS: clock.Now() - startNS, Sources: p.sourceHealth()}
				r.Schema, r.Robot, r.TimeNS = sinks.StatusSchema, cfg.Robot, clock.Now()
				r.SigningKey = signer.PublicKey()
				r.NATS = link.report()
				if outbox != nil {
					st := outbox.Stats()
					r.NATS.Outbox = &st
					r.NATS.Stream = logConfig(cfg).StreamConfig().Name
				}
				return r
			},
			Config:  func() any { return configs.Redacted(cfg) },
			Sources: func() any { return p.sourceHealth() },
			// record.start and record.stop (record.go).
			Recorder: rec,
			OnError: func(err error) {
				log.Warn("control plane: request dropped", "err", err)
			},
		})
		if err != nil {
			return err
		}
		log.Info("control plane up", "service", "fusiond", "endpoints", "fusion."+cfg.Robot+".ctl.{status,config,sources}")
	}

	statusCtx, stopStatus := context.WithCancel(context.Background())
	sensorsDone := make(chan struct{})
	if sc := cfg.NATS.Sensors; sc.Enabled {
		sp := sinks.NewSensorPublisher(nc, sinks.SensorConfig{Robot: cfg.Robot, Every: sc.Every, JPEGQuality: sc.JPEGQuality})
		p.sensorTap = sp.Offer
		go func() { sp.Run(statusCtx); close(sensorsDone) }()
		log.Info("publishing samples", "subjects", sinks.SensorSubject(cfg.Robot, "*", "*"))
	} else {
		close(sensorsDone)
	}
	statusDone := make(chan error, 1)
	go func() {
		statusDone <- sinks.RunStatus(statusCtx, clock, int64(cfg.Pipeline.StatusInterval), nc, cfg.Robot, func() sinks.Status {
			st := p.status()
			rec.status(st)
			return st
		})
	}()
	// shutdown ends drain_timeout after ctx does (or after the pipeline
	// ends on its own): the last acks and the flush fit in it.
	shutdown, endShutdown := context.WithCancel(context.Background())
	defer endShutdown()
	stopAfter := func() {
		go func() {
			if clock.WaitUntil(shutdown, clock.Now()+int64(cfg.Pipeline.DrainTimeout)) == nil {
				endShutdown()
			}
		}()
	}
	stopWatch := context.AfterFunc(ctx, stopAfter)
	err = p.run(ctx)
	if stopWatch() { // the pipeline ended before ctx
		stopAfter()
	}
	stopStatus()
	<-statusDone
	<-sensorsDone
	if rec.recording() {
		rec.stop() // logged; its failure is in rec.err() if it was the operator's
	}
	if rerr := rec.err(); rerr != nil && err == nil {
		err = markLogged(rerr)
	}
	for _, j := range jsonl {
		jerr := j.Close()
		if werr := j.Err(); werr != nil && err == nil {
			err = markLogged(fmt.Errorf("decisions file: %w", werr)) // logged by the publish stage
		} else if jerr != nil && err == nil {
			log.Error("decisions file incomplete", "err", jerr)
			err = markLogged(jerr)
		}
	}

	if outbox != nil {
		// Every decision the pipeline produced is in the outbox: wait for
		// JetStream to ack them (re-sending as needed) until the shutdown
		// deadline; the rest stays in the outbox file.
		if cerr := outbox.Close(shutdown); cerr != nil {
			log.Error("decisions not acked by JetStream at shutdown", "err", cerr, "outbox", outbox.Stats())
		} else {
			log.Info("every decision acked by JetStream", "outbox", outbox.Stats())
		}
	}
	if svc != nil {
		svc.Stop()
	}
	endLease()
	link.closeBy(shutdown)
	if cause := context.Cause(ctx); errors.Is(cause, sinks.ErrLeaseHeld) {
		err = cause
	}
	log.Info("fusiond stopped", "drops", p.drops.Snapshot())
	return err
}

// daemonFiles are the files a run writes besides publishing: decisions as
// JSON lines, and an MCAP recording.
// sinks and onPipeline are for fusiond bench e2e: more sinks, and a look at
// (or a change to) the pipeline before it runs.
type daemonFiles struct {
	decisions, record string
	sinks             []sinks.Sink
	onPipeline        func(*pipeline, *daemonMetrics)
}

// logConfig is the decision log's configuration from the nats: section.
func logConfig(cfg *configs.Config) sinks.LogConfig {
	js := cfg.NATS.JetStream
	return sinks.LogConfig{
		Robot: cfg.Robot, Stream: js.Stream, MaxAge: js.MaxAge, MaxBytes: js.MaxBytes,
		DiscardNew: js.Discard == "new", DuplicateWindow: js.DuplicateWindow,
		Compress: js.Compression == "s2", Replicas: js.Replicas,
	}
}

// loadSigner loads (or creates) the robot's decision signing key.
func loadSigner(cfg *configs.Config, log *slog.Logger) (*sinks.Signer, error) {
	path := cfg.NATS.Signing.KeyFile
	if path == "" {
		var err error
		if path, err = sinks.DefaultKeyFile(cfg.Robot); err != nil {
			return nil, err
		}
	}
	s, err := sinks.LoadOrCreateSigningKey(path)
	if err != nil {
		return nil, fmt.Errorf("nats.signing.key_file: %w", err)
	}
	log.Info("signing decisions", "public_key", s.PublicKey(), "key_file", path)
	return s, nil
}

// natsLink is the daemon's NATS connection and, when embedded, its server.
type natsLink struct {
	nc       *nats.Conn
	embedded *sinks.Embedded
	stats    *sinks.ConnStats
	log      *slog.Logger
	onUp     atomic.Pointer[func()] // after every reconnect (the outbox re-sends)
	closed   bool
}

func (l *natsLink) up(*nats.Conn) {
	if f := l.onUp.Load(); f != nil {
		(*f)()
	}
}

func (l *natsLink) report() sinks.NATSReport {
	r := sinks.NATSReport{Connected: l.nc.IsConnected(), Events: l.stats.Snapshot(), Server: l.nc.ConnectedUrlRedacted()}
	if l.embedded != nil {
		r.Server = "embedded"
		if u := l.embedded.URL(); u != "" {
			r.Server += " " + u
		}
	}
	return r
}

// close flushes and closes the connection, then shuts the embedded server
// down. Safe to call twice.
func (l *natsLink) close() { l.closeBy(context.Background()) }

// closeBy is close with the flush bounded by ctx too.
func (l *natsLink) closeBy(ctx context.Context) {
	if l.closed {
		return
	}
	l.closed = true
	flushClose(ctx, l.nc, l.log)
	if l.embedded != nil {
		l.embedded.Shutdown()
	}
}

// connectNATS connects to the configured server, or starts the embedded one
// and connects in-process. The returned function flushes and closes, in
// that order, then shuts an embedded server down. (For commands other
// than run; run uses openNATS for the connection events.)
func connectNATS(cfg configs.NATS, log *slog.Logger) (*nats.Conn, func(), error) {
	l, err := openNATS(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	return l.nc, l.close, nil
}

// openNATS connects to the configured server, or starts the embedded one
// and connects in-process.
func openNATS(cfg configs.NATS, log *slog.Logger) (*natsLink, error) {
	l := &natsLink{stats: &sinks.ConnStats{}, log: log}
	if cfg.URL != "" {
		nc, err := sinks.ConnectExternal(sinks.ExternalConfig{
			URL: cfg.URL, User: cfg.User, Password: cfg.Password, Token: cfg.Token,
			NKeyFile: cfg.NKeyFile, CredsFile: cfg.CredsFile,
			CAFile: cfg.TLS.CAFile, CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
			PingInterval: cfg.PingInterval, ReconnectWait: cfg.ReconnectWait,
		}, log, l.stats, l.up)
		if err != nil {
			return nil, fmt.Errorf("nats.url %q: %w", redact.String(cfg.URL), err)
		}
		l.nc = nc
		return l, nil
	}
	ec := cfg.Embedded
	tlsCfg, err := sinks.ServerTLS(ec.TLS.CertFile, ec.TLS.KeyFile, ec.TLS.CAFile, ec.TLS.Verify)
	if err != nil {
		return nil, fmt.Errorf("nats.embedded.tls: %w", err)
	}
	users := make([]sinks.EmbeddedUser, len(ec.Users))
	for i, u := range ec.Users {
		users[i] = sinks.EmbeddedUser{Name: u.User, Password: u.Password, Role: sinks.Role(u.Role), PublishAllow: u.Publish, SubscribeAllow: u.Subscribe}
	}
	e, err := sinks.StartEmbedded(sinks.EmbeddedConfig{
		Listen: ec.Listen, StoreDir: ec.StoreDir, Log: log,
		MaxStore: ec.MaxStore, MaxMemory: ec.MaxMemory, SyncInterval: ec.SyncInterval, MaxPayload: ec.MaxPayload,
		Domain: ec.Domain, TLS: tlsCfg, Users: users, LeafRemotes: ec.Leaf.Remotes, LeafCredentials: ec.Leaf.Credentials,
	})
	if err != nil {
		if errors.Is(err, sinks.ErrListen) {
			return nil, fmt.Errorf("nats.embedded.listen: %w", err)
		}
		return nil, err
	}
	nc, err := e.Connect(sinks.ConnectOptions(log, l.stats, l.up)...)
	if err != nil {
		e.Shutdown()
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	l.nc, l.embedded = nc, e
	return l, nil
}

func flushClose(ctx context.Context, nc *nats.Conn, log *slog.Logger) {
	if nc.IsConnected() {
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := nc.FlushWithContext(fctx); err != nil {
			log.Warn("NATS flush at shutdown failed", "err", err)
		}
	} else if n, _ := nc.Buffered(); n > 0 {
		log.Error("NATS not connected at shutdown; buffered messages are lost", "bytes", n)
	}
	nc.Close()
}

// bootID tells this run's message ids from those of earlier runs.
func bootID() string { return strings.ToLower(rand.Text()[:10]) }
