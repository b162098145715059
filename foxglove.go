package fusiond

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks/decision"
	"github.com/seed-4c364652/fusiond/sinks/foxglove"
)

// startLiveView starts the live view (foxglove.listen; docs/VIEWING.md):
// it listens now, so that a busy port fails the start, and serves until
// ctx ends; wait returns when it has stopped.
func startLiveView(ctx context.Context, cfg *configs.Config, log *slog.Logger) (v *foxglove.View, wait func(), err error) {
	return serveView(ctx, cfg.Foxglove.Listen, cfg, false, log)
}

// serveView listens on addr and serves a view of cfg's streams until ctx
// ends (with the time capability for a replay); wait returns when it has
// stopped.
func serveView(ctx context.Context, addr string, cfg *configs.Config, replay bool, log *slog.Logger) (v *foxglove.View, wait func(), err error) {
	ln, err := foxglove.Listen(addr)
	if err != nil {
		return nil, nil, err
	}
	v = foxglove.NewFromConfig(cfg, replay, log.With("component", "foxglove"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := v.Serve(ctx, ln); err != nil {
			log.Error("foxglove server stopped", "err", err)
		}
	}()
	log.Info("foxglove live view up", "url", "ws://"+ln.Addr().String())
	return v, func() { <-done }, nil
}

// ReplayView serves a replay to Foxglove as a live source (fusiond replay
// --foxglove): the samples as they are fed to the synchroniser, the
// decisions fusion makes again (it is a sink), the recorded status, and
// Time messages that follow the samples' capture times. Set its Message
// and Sample as the ReplayConfig's MessageTap and SampleTap, and add it
// to the Sinks.
type ReplayView struct {
	*foxglove.View
	lastTimeNS int64
}

// timeStepNS: a Time message goes out when the replay's time has moved
// this much.
const timeStepNS = 10_000_000

// ServeReplayView listens on addr (loopback) and serves a replay of cfg's
// streams until ctx ends; wait returns when it has stopped.
func ServeReplayView(ctx context.Context, addr string, cfg *configs.Config, log *slog.Logger) (rv *ReplayView, wait func(), err error) {
	v, wait, err := serveView(ctx, addr, cfg, true, log)
	if err != nil {
		return nil, nil, err
	}
	return &ReplayView{View: v}, wait, nil
}

// Message takes the recording's messages: the status is shown.
func (rv *ReplayView) Message(m recording.Message) {
	if m.Topic != recording.TopicStatus {
		return
	}
	var st decision.Status
	if json.Unmarshal(m.Data, &st) == nil {
		rv.Status(&st)
	}
}

// Sample shows a replayed sample and moves the viewer's clock.
func (rv *ReplayView) Sample(s av.Sample) {
	rv.View.Sample(s)
	// A replay that loops starts the clock again.
	if t := s.SampleMeta().CaptureNS; t >= rv.lastTimeNS+timeStepNS || t < rv.lastTimeNS-int64(time.Second) {
		rv.lastTimeNS = t
		rv.Time(t)
	}
}
