package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks/decision"
	"github.com/seed-4c364652/fusiond/sinks/foxglove"
)

// replayView serves a replay to Foxglove as a live source (replay
// --foxglove): the samples as they are fed to the synchroniser, the
// decisions fusion makes again (it is a sink), the recorded status, and
// Time messages that follow the samples' capture times.
type replayView struct {
	*foxglove.View
	lastTimeNS int64
}

// timeStepNS: a Time message goes out when the replay's time has moved
// this much.
const timeStepNS = 10_000_000

// startReplayView listens on addr and serves the view until ctx ends;
// wait returns when it has stopped.
func startReplayView(ctx context.Context, addr string, cfg *configs.Config, log *slog.Logger) (rv *replayView, wait func(), err error) {
	ln, err := foxglove.Listen(addr)
	if err != nil {
		return nil, nil, err
	}
	rv = &replayView{View: foxglove.NewFromConfig(cfg, true, log.With("component", "foxglove"))}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := rv.Serve(ctx, ln); err != nil {
			log.Error("foxglove server stopped", "err", err)
		}
	}()
	log.Info("foxglove live view up", "url", "ws://"+ln.Addr().(*net.TCPAddr).String())
	return rv, func() { <-done }, nil
}

func (rv *replayView) message(m recording.Message) {
	if m.Topic != recording.TopicStatus {
		return
	}
	var st decision.Status
	if json.Unmarshal(m.Data, &st) == nil {
		rv.Status(&st)
	}
}

func (rv *replayView) sample(s av.Sample) {
	rv.Sample(s)
	// A replay that loops starts the clock again.
	if t := s.SampleMeta().CaptureNS; t >= rv.lastTimeNS+timeStepNS || t < rv.lastTimeNS-int64(time.Second) {
		rv.lastTimeNS = t
		rv.Time(t)
	}
}
