package fusiond

import (
	"context"
	"log/slog"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/metrics"
)

// daemonMetrics are a run's metrics and their HTTP server (metrics.listen;
// docs/METRICS.md).
type daemonMetrics struct {
	m   *metrics.Metrics
	srv *metrics.Server
	log *slog.Logger
}

// newDaemonMetrics returns the metrics of a run, or nil when metrics.listen
// is empty. Its m is a sink: add it to the pipeline's sinks.
func newDaemonMetrics(cfg *configs.Config, version, revision string, log *slog.Logger) *daemonMetrics {
	if cfg.Metrics.Listen == "" {
		return nil
	}
	if version == "(devel)" {
		version = "dev"
	}
	return &daemonMetrics{m: metrics.New(version, revision), log: log.With("component", "metrics")}
}

// attach connects the metrics to the pipeline (a bundle tap, the state
// read at scrape time) and starts serving. A listener that cannot start is
// logged and the daemon runs on without metrics: a robot must not stop for
// want of a port.
func (dm *daemonMetrics) attach(cfg *configs.Config, p *pipeline, link *natsLink, outbox *sinks.JetStreamSink) {
	framePeriod := syncConfig(cfg).FramePeriodNS
	p.bundleTaps = append(p.bundleTaps, func(b *av.Bundle) { dm.m.ObserveBundle(b, framePeriod) })
	dm.m.RegisterState(func() metrics.State {
		st := p.status()
		ys := p.sync.Stats()
		s := metrics.State{Backend: st.Backend, Queues: st.Queues, Drops: st.Drops, Sources: p.sourceHealth(),
			Sync: &metrics.SyncStats{Bundles: ys.Bundles, VideoMissing: ys.VideoMissing, AudioMissing: ys.AudioMissing,
				Deadline: ys.Deadline, LateAudio: ys.LateAudio, GapFrames: ys.GapFrames, ClockResets: ys.ClockResets,
				VideoResets: ys.VideoResets, DriftPPM: ys.DriftPPM}}
		if link != nil {
			r := link.report()
			if outbox != nil {
				o := outbox.Stats()
				r.Outbox = &o
			}
			s.NATS = &r
		}
		return s
	})
	health := func() metrics.Health { return metrics.CheckSources(p.sourceHealth()) }
	srv, err := metrics.Serve(cfg.Metrics.Listen, dm.m.Handler(health, dm.log), dm.log)
	if err != nil {
		dm.log.Error("metrics not served; running without them", "err", err)
		return
	}
	dm.srv = srv
	dm.log.Info("metrics up", "url", "http://"+srv.Addr()+"/metrics", "healthz", "http://"+srv.Addr()+"/healthz")
}

// close stops the HTTP server.
func (dm *daemonMetrics) close() {
	if dm == nil || dm.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = dm.srv.Close(ctx) // logged by Close
}

// addr is where the metrics are served ("" when they are not).
func (dm *daemonMetrics) addr() string {
	if dm == nil || dm.srv == nil {
		return ""
	}
	return dm.srv.Addr()
}
