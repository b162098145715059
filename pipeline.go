package fusiond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	gosync "sync"

	"golang.org/x/sync/errgroup"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
	"github.com/seed-4c364652/fusiond/sinks"
	avsync "github.com/seed-4c364652/fusiond/sync"
)

// pipeline is the wired daemon: sources → merge → sync → fuse → publish.
// Every queue is bounded; capture queues follow the configured overflow
// policy, the queues after them block (sync and fuse keep up, and a slow
// sink must not lose decisions).
type pipeline struct {
	cfg   *configs.Config
	clock av.Clock
	log   *slog.Logger
	drops *av.Drops

	sources  []Source
	captured []*av.Queue[av.Sample] // one per source
	// waitInC counts the sources whose capture waits in C calls
	// (cthreads.go).
	waitInC   int
	merged    chan av.Sample
	bundles   *av.Queue[*av.Bundle]
	decisions *av.Queue[*av.Decision]

	st      *stages
	sync    *avsync.FrameSync
	backend fuse.Backend // closed when run returns
	fuse    *fuse.Activity
	sinks   []sinks.Sink
	// rec, when set, records every sample sync consumes (the tap); with
	// recordOnly the pipeline records and does nothing else.
	rec        *recorder
	recordOnly bool
	syncIn     chan av.Sample
	// health counts what each source delivered, by capture queue name,
	// for the control plane (control.go).
	health map[string]*sourceStat
	// sampleTaps see every sample before sync (WithSampleTap, the
	// sensor publisher of nats.sensors); they copy what they keep.
	sampleTaps []func(av.Sample)
	// bundleTaps see every bundle between sync and fuse (WithBundleTap,
	// the metrics); fuseIn is then the tapped channel.
	bundleTaps []func(*av.Bundle)
	fuseIn     chan *av.Bundle
}

// newPipeline builds the pipeline of cfg with o's sources and taps;
// sinkList get the decisions.
func newPipeline(cfg *configs.Config, o *options, sinkList []sinks.Sink) (*pipeline, error) {
	clock, log := o.clock, o.log
	p := &pipeline{cfg: cfg, clock: clock, log: log, drops: av.NewDrops(), sinks: sinkList, health: map[string]*sourceStat{},
		sampleTaps: slices.Clone(o.sampleTaps), bundleTaps: slices.Clone(o.bundleTaps)}
	overflow, err := av.ParseOverflow(cfg.Pipeline.Overflow)
	if err != nil {
		return nil, err
	}
	capacity := cfg.Pipeline.QueueCapacity
	addSource := func(name string, s Source) {
		p.sources = append(p.sources, s)
		p.health["capture:"+name] = &sourceStat{}
		p.captured = append(p.captured, av.NewQueue("capture:"+name, capacity, overflow, func(old av.Sample) {
			p.drops.Add(old.SampleMeta().Stream, av.DropQueueFull, 1)
			old.Release()
		}))
	}

	adjust := func(c *fuse.ActivityConfig) { c.Offload = o.offload }
	// stages.go: the same as replay's, the cameras' visual features
	// measured apart from fusion, all of a bundle's at once
	// (stages.joinVisual, just before fusion takes the bundle). Built
	// before the sources, whose cameras capture into the backend's host
	// memory.
	st, err := buildStages(cfg, p.drops, log, adjust, true)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*pipeline, error) {
		st.fuse.Close()
		st.backend.Close()
		return nil, err
	}
	given := map[string]Source{} // WithSource: in place of a configured source, or beside them
	for _, s := range o.sources {
		given[s.name] = s.src
	}
	configured := map[string]bool{}
	for _, cam := range cfg.Cameras {
		configured[cam.Name] = true
		if s, ok := given[cam.Name]; ok {
			if s != nil {
				addSource(cam.Name, s)
			}
			continue
		}
		v, err := NewCameraSource(cam, clock, p.drops, log, fuse.HostMemory(st.backend))
		if err != nil {
			return fail(fmt.Errorf("camera %s: %w", cam.Name, err))
		}
		addSource(cam.Name, v)
		p.waitInC += waitsInC(sources.Camera, cam.Source)
	}
	for _, mic := range cfg.Microphones {
		configured[mic.Name] = true
		if s, ok := given[mic.Name]; ok {
			if s != nil {
				addSource(mic.Name, s)
			}
			continue
		}
		a, err := NewMicSource(mic, clock, p.drops, log) // sources.go
		if err != nil {
			return fail(fmt.Errorf("microphone %s: %w", mic.Name, err))
		}
		addSource(mic.Name, a)
		p.waitInC += waitsInC(sources.Microphone, mic.Source)
	}
	for _, s := range o.sources {
		if !configured[s.name] && s.src != nil {
			addSource(s.name, s.src)
		}
	}
	st.tapFaces(o.faceTaps...) // the live view's and the recorder's annotations
	p.st, p.sync, p.backend, p.fuse = st, st.sync, st.backend, st.fuse
	p.merged = make(chan av.Sample, capacity)
	p.bundles = av.NewQueue[*av.Bundle]("bundles", capacity, av.Block, nil)
	p.decisions = av.NewQueue[*av.Decision]("decisions", capacity, av.Block, nil)
	declareDrops(p.drops, cfg, overflow, len(sinkList))
	return p, nil
}

// declareDrops makes every drop counter that can move exist at zero from
// the start (fusiond_drops_total, the status, recordings): per stream,
// the reasons capture, sync and shutdown count; per stage queue, shutdown;
// per sink, sink_error.
func declareDrops(d *av.Drops, cfg *configs.Config, overflow av.Overflow, sinks int) {
	stream := []av.DropReason{av.DropShutdown, av.DropLate, av.DropOutOfOrder, av.DropWrongKind}
	if overflow == av.DropOldest {
		stream = append(stream, av.DropQueueFull)
	}
	for _, c := range cfg.Cameras {
		d.Declare(av.StreamID(c.Name), stream...)
		d.Declare(av.StreamID(c.Name), sources.DropReasons(sources.Camera, c.Source)...)
	}
	for _, m := range cfg.Microphones {
		d.Declare(av.StreamID(m.Name), stream...)
		d.Declare(av.StreamID(m.Name), sources.DropReasons(sources.Microphone, m.Source)...)
	}
	d.Declare("bundles", av.DropShutdown, av.DropBackendError)
	d.Declare("decisions", av.DropShutdown, av.DropHeadError)
	for i := range sinks {
		d.Declare(av.StreamID("sink:"+strconv.Itoa(i)), av.DropSinkError)
	}
}

// run runs the pipeline until ctx ends, then drains: sources stop at once,
// the stages finish what is queued for at most the drain timeout, and then
// stop. What was still queued is released and counted as dropped at
// shutdown. It returns the first error a stage failed with.
func (p *pipeline) run(ctx context.Context) error {
	hard, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	defer p.backend.Close()
	defer p.fuse.Close() // the visual features' OpenCV memory
	defer holdCThreads(p.waitInC + p.st.cameraThreads())()
	startNS := p.clock.Now()

	var g errgroup.Group
	var forwarding gosync.WaitGroup
	for i, src := range p.sources {
		q := p.captured[i]
		g.Go(func() error {
			defer q.Close()
			// Sources log their own failures, with their stream
			// (sources.go, ingest/retry): the error is not logged again.
			return markLogged(src.Run(ctx, q, startNS))
		})
		forwarding.Add(1)
		g.Go(func() error {
			defer forwarding.Done()
			p.forward(hard, q)
			return nil
		})
	}
	g.Go(func() error {
		forwarding.Wait()
		close(p.merged)
		return nil
	})
	p.syncIn = p.merged
	if p.rec != nil {
		p.syncIn = make(chan av.Sample, cap(p.merged))
		g.Go(func() error {
			p.tap(hard)
			return nil
		})
	}
	if p.recordOnly {
		p.bundles.Close()
		p.decisions.Close()
	} else {
		g.Go(func() error { return avsync.Run(hard, p.sync, p.clock, p.syncIn, p.bundles) })
		in := p.bundles.C()
		if len(p.bundleTaps) > 0 {
			p.fuseIn = make(chan *av.Bundle, p.bundles.Cap())
			in = p.fuseIn
			g.Go(func() error {
				p.tapBundles(hard)
				return nil
			})
		}
		g.Go(func() error { return fuse.Run(hard, p.st.fuse, p.clock, in, p.decisions, p.st.joinVisual) })
		g.Go(func() error { return sinks.Run(hard, p.clock, p.decisions.C(), p.sinks, p.drops, p.log) })
	}

	finished := make(chan struct{})
	drainDone := make(chan struct{})
	go func() {
		defer close(drainDone)
		select {
		case <-finished:
			return
		case <-ctx.Done():
		}
		waitCtx, cancel := context.WithCancel(context.Background())
		go func() {
			<-finished
			cancel()
		}()
		if p.clock.WaitUntil(waitCtx, p.clock.Now()+int64(p.cfg.Pipeline.DrainTimeout)) == nil {
			p.log.Warn("drain timeout passed; stopping with data in flight", "drain_timeout", p.cfg.Pipeline.DrainTimeout)
			stop()
		}
		cancel()
	}()

	err := g.Wait()
	close(finished)
	<-drainDone
	p.discardLeftovers()
	if errors.Is(err, context.Canceled) && hard.Err() != nil {
		err = nil // stopped by the drain timeout: counted, not a failure
	}
	return err
}

// forward moves one capture queue's samples into the merged sync input, in
// the order they come. After a hard stop it releases and counts them.
func (p *pipeline) forward(hard context.Context, q *av.Queue[av.Sample]) {
	health := p.health[q.Name]
	for s := range q.C() {
		health.observe(s.SampleMeta())
		for _, tap := range p.sampleTaps {
			tap(s)
		}
		select {
		case p.merged <- s:
		case <-hard.Done():
			p.drops.Add(s.SampleMeta().Stream, av.DropShutdown, 1)
			s.Release()
		}
	}
}

// tap records each sample in the order the synchroniser will consume it,
// then passes it on (or, recording only, releases it).
func (p *pipeline) tap(hard context.Context) {
	defer close(p.syncIn)
	for s := range p.merged {
		p.rec.sample(s)
		if p.recordOnly {
			s.Release()
			continue
		}
		select {
		case p.syncIn <- s:
		case <-hard.Done():
			p.drops.Add(s.SampleMeta().Stream, av.DropShutdown, 1)
			s.Release()
		}
	}
}

// tapBundles shows each bundle to the bundle taps on its way to fuse.
func (p *pipeline) tapBundles(hard context.Context) {
	defer close(p.fuseIn)
	for b := range p.bundles.C() {
		for _, tap := range p.bundleTaps {
			tap(b)
		}
		select {
		case p.fuseIn <- b:
		case <-hard.Done():
			p.drops.Add("bundles", av.DropShutdown, 1)
			b.Release()
		}
	}
}

// discardLeftovers releases what the queues still hold after the stages
// stopped, and counts it.
func (p *pipeline) discardLeftovers() {
	for _, ch := range []chan av.Sample{p.merged, p.syncIn} {
		for s := range ch {
			p.drops.Add(s.SampleMeta().Stream, av.DropShutdown, 1)
			s.Release()
		}
		if p.syncIn == p.merged {
			break
		}
	}
	for b := range p.bundles.C() {
		p.drops.Add("bundles", av.DropShutdown, 1)
		b.Release()
	}
	if p.fuseIn != nil {
		for b := range p.fuseIn {
			p.drops.Add("bundles", av.DropShutdown, 1)
			b.Release()
		}
	}
	var lost int
	for range p.decisions.C() {
		p.drops.Add("decisions", av.DropShutdown, 1)
		lost++
	}
	if lost > 0 {
		p.log.Error("decisions not published before shutdown", "count", lost)
	}
}

// status is the pipeline's state for fusion.<robot>.status.
func (p *pipeline) status() sinks.Status {
	st := sinks.Status{Backend: p.backend.Name(), Drops: sinks.DropCounts(p.drops.Snapshot())}
	for _, q := range p.captured {
		st.Queues = append(st.Queues, sinks.QueueDepth{Name: q.Name, Len: q.Len(), Cap: q.Cap()})
	}
	st.Queues = append(st.Queues,
		sinks.QueueDepth{Name: "merged", Len: len(p.merged), Cap: cap(p.merged)},
		sinks.QueueDepth{Name: p.bundles.Name, Len: p.bundles.Len(), Cap: p.bundles.Cap()},
		sinks.QueueDepth{Name: p.decisions.Name, Len: p.decisions.Len(), Cap: p.decisions.Cap()},
	)
	return st
}
