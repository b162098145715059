package fusiond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/foxglove"
)

// Daemon is one fusiond: its sources, the synchroniser, fusion and the
// sinks, NATS (an external server, or an embedded one) with the decision
// log, its outbox and the robot's lease, the control plane, the status
// publisher and the metrics, as the config describes them. Build it with
// New, run it once with Run.
type Daemon struct {
	cfg   *configs.Config
	o     options
	ran   atomic.Bool
	ready chan struct{}
	p     atomic.Pointer[pipeline]
	dm    atomic.Pointer[daemonMetrics]
}

// New checks cfg (as configs.Load returns it) and the options, and returns
// the daemon; nothing starts before Run.
func New(cfg *configs.Config, opts ...Option) (*Daemon, error) {
	if cfg == nil {
		return nil, errors.New("fusiond: no config")
	}
	d := &Daemon{cfg: cfg, ready: make(chan struct{})}
	for _, opt := range opts {
		opt(&d.o)
	}
	if d.o.clock == nil {
		d.o.clock = av.NewRealClock()
	}
	if d.o.log == nil {
		d.o.log = slog.New(slog.DiscardHandler)
	}
	if d.o.version == "" {
		d.o.version, d.o.rev = BuildVersion()
	}
	if _, err := av.ParseOverflow(cfg.Pipeline.Overflow); err != nil {
		return nil, fmt.Errorf("pipeline.overflow: %w", err)
	}
	var names []string
	for _, s := range d.o.sources {
		if s.name == "" || slices.Contains(names, s.name) {
			return nil, fmt.Errorf("fusiond: source name %q empty or given twice", s.name)
		}
		names = append(names, s.name)
	}
	if d.o.recordOnly && d.o.recordPath == "" {
		return nil, errors.New("fusiond: RecordOnly without WithRecording")
	}
	return d, nil
}

// Run runs the daemon until ctx ends or the pipeline does (its sources
// end), then drains and shuts down in order (docs/ARCHITECTURE.md,
// Shutdown): from the moment ctx ends, everything fits in
// pipeline.drain_timeout plus about a second. It returns the first error
// of a stage, a source, the recording or the decisions file; IsLogged
// tells whether it was already logged. Run may be called once.
func (d *Daemon) Run(ctx context.Context) error {
	if d.ran.Swap(true) {
		return errors.New("fusiond: Run called twice")
	}
	if w := d.cfg.Deprecation(); w != "" {
		d.o.log.Warn(w) // once, at start (configs: the old global camera and microphone keys)
	}
	if d.o.recordOnly {
		return d.record(ctx)
	}
	return d.run(ctx)
}

// Ready is closed when the pipeline is about to run: NATS, the control
// plane and the metrics are up. It is never closed if Run fails before.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// Status is the pipeline's state as published on fusion.<robot>.status:
// backend, queue depths, drops. It is zero before Run builds the pipeline.
func (d *Daemon) Status() sinks.Status {
	if p := d.p.Load(); p != nil {
		return p.status()
	}
	return sinks.Status{}
}

// Drops are the pipeline's drop counters, by stream and reason (nil before
// Run builds the pipeline).
func (d *Daemon) Drops() []av.DropCount {
	if p := d.p.Load(); p != nil {
		return p.drops.Snapshot()
	}
	return nil
}

// MetricsAddr is the address the metrics are served on, "" when they are
// not (metrics.listen empty, the port taken, or before Ready).
func (d *Daemon) MetricsAddr() string { return d.dm.Load().addr() }

// record runs the sources into the recording, and nothing else.
func (d *Daemon) record(ctx context.Context) error {
	rec := newRecorder(d.cfg, d.o.clock, d.o.log, d.o.version+" "+d.o.rev)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rec.onFail = func(error) { cancel() } // nothing to do without the file
	p, err := newPipeline(d.cfg, &d.o, nil)
	if err != nil {
		return err
	}
	p.rec, p.recordOnly = rec, true
	if err := rec.start(d.o.recordPath); err != nil {
		return err
	}
	d.p.Store(p)
	close(d.ready)
	err = p.run(ctx)
	if _, serr := rec.stop(); err == nil {
		err = serr
	}
	rec.wait()
	if err == nil {
		err = rec.err()
	}
	return err
}

// run runs fusiond until ctx ends: NATS up (connection, decision log,
// control plane), pipeline, drain, then NATS down in order: status stops,
// the outbox waits for the last acks, the control plane stops, the
// connection flushes and closes, the embedded server shuts down.
//
// Shutdown is bounded: from the moment ctx ends, everything (drain, last
// acks, flush) fits in pipeline.drain_timeout plus a second; decisions not
// acked by then stay in the outbox file for the next start.
func (d *Daemon) run(ctx context.Context) error {
	cfg, clock, log := d.cfg, d.o.clock, d.o.log
	// The outbox comes first: a decision is in the outbox file before it
	// is written to --decisions or anywhere else.
	var sinkList []sinks.Sink
	var jsonl []*sinks.JSONLFile // closed, and checked, at the end
	if d.o.decisionsPath != "" {
		j, err := sinks.CreateJSONL(d.o.decisionsPath)
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

	rec := newRecorder(cfg, clock, log, d.o.version+" "+d.o.rev)
	rec.signingKey = signer.PublicKey()
	sinkList = append(sinkList, rec)
	dm := newDaemonMetrics(cfg, d.o.version, d.o.rev, log) // metrics.go; nil when metrics.listen is empty
	if dm != nil {
		sinkList = append(sinkList, dm.m)
	}
	sinkList = append(sinkList, d.o.sinks...)
	var view *foxglove.View
	if cfg.Foxglove.Listen != "" {
		viewCtx, stopView := context.WithCancel(context.Background())
		var waitView func()
		if view, waitView, err = startLiveView(viewCtx, cfg, log); err != nil {
			stopView()
			return err
		}
		defer func() { stopView(); waitView() }()
		sinkList = append(sinkList, view)
	}
	d.o.offload = nil
	if cfg.Fuse.Offload {
		d.o.offload = startOffload(ctx, nc, cfg, boot, log).Offload // offload.go
	}
	o := d.o
	o.faceTaps = []FaceTap{rec.faces} // the annotations of recordings and of the live view
	if view != nil {
		o.faceTaps = append(o.faceTaps, view.Faces)
	}
	p, err := newPipeline(cfg, &o, sinkList)
	if err == nil && d.o.recordPath != "" {
		err = rec.start(d.o.recordPath)
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
		if view != nil {
			dm.m.Registry.MustRegister(view.Collectors()...)
		}
	}
	if view != nil {
		p.sampleTaps = append(p.sampleTaps, view.Sample)
	}
	d.p.Store(p)
	d.dm.Store(dm)
	log.Info("fusiond running", "robot", cfg.Robot, "subjects", sinks.DecisionSubject(cfg.Robot, ">"), "boot_id", boot)

	var svc interface{ Stop() error }
	if cfg.NATS.Control {
		startNS := clock.Now()
		svc, err = sinks.StartControl(nc, sinks.ControlConfig{
			Robot: cfg.Robot, Version: d.o.version,
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
		p.sampleTaps = append(p.sampleTaps, sp.Offer)
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
			if view != nil {
				vs := st
				vs.Schema, vs.Robot, vs.TimeNS = sinks.StatusSchema, cfg.Robot, clock.Now()
				view.Status(&vs)
			}
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
	close(d.ready)
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
