package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/camera"
	"github.com/seed-4c364652/fusiond/ingest/media"
	"github.com/seed-4c364652/fusiond/ingest/mic"
	"github.com/seed-4c364652/fusiond/ingest/retry"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// Backoff between attempts to reopen a missing or lost device.
const (
	deviceMinBackoff = 500 * time.Millisecond
	deviceMaxBackoff = 10 * time.Second
)

// failedSource stands in for a source whose file could not be opened: the
// error is logged at start, the stream is missing from every bundle, the
// rest of the pipeline runs, and run returns the error at the end.
type failedSource struct{ err error }

func (f failedSource) Run(context.Context, *av.Queue[av.Sample], int64) error { return f.err }

// openFailed logs err and returns the stand-in source.
func openFailed(log *slog.Logger, kind, name string, err error) source {
	log.Error(kind+" cannot start; its stream will be missing", "stream", name, "err", err)
	return failedSource{retry.Permanent(fmt.Errorf("%s %s: %w", kind, name, err))}
}

// supervised wraps a live device so that a missing or lost device is
// retried with backoff while the other streams go on.
func supervised(src retry.Source, name string, clock av.Clock, drops *av.Drops, log *slog.Logger) source {
	return retry.New(src, retry.Config{Stream: av.StreamID(name), MinBackoff: deviceMinBackoff, MaxBackoff: deviceMaxBackoff}, clock, drops, log)
}

// newCameraSource builds the source of one configured camera.
func newCameraSource(cam configs.Camera, clock av.Clock, drops *av.Drops, log *slog.Logger) (source, error) {
	if cam.Source == "synthetic" {
		s := cam.Synthetic
		return synthetic.NewVideo(synthetic.VideoConfig{
			Stream: av.StreamID(cam.Name), Width: cam.Width, Height: cam.Height, FPS: cam.FPS,
			Seed: s.Seed, ShapeRadius: s.ShapeRadius, SpeedPxPerS: s.SpeedPxPerS,
			VisiblePeriod: s.VisiblePeriod, VisibleFor: s.VisibleFor, NoiseAmplitude: s.NoiseAmplitude,
		}, clock)
	}
	cc := camera.Config{
		Stream: av.StreamID(cam.Name), Kind: camera.Kind(cam.Source),
		Width: cam.Width, Height: cam.Height, FPS: cam.FPS, FourCC: cam.PixelFormat,
		LatencyNS: int64(cam.Latency), Pace: cam.Pace, Loop: cam.Loop,
	}
	switch cc.Kind {
	case camera.Device:
		cc.Target = cam.Device
	case camera.URL:
		cc.Target = cam.URL
	case camera.GStreamer:
		cc.Target = cam.Pipeline
	case camera.File:
		cc.Target = cam.File
	}
	c, err := camera.New(cc, clock, log)
	if err != nil {
		return nil, err
	}
	if cc.Kind == camera.File {
		// A file either plays or it does not: no retries.
		return permanentSource{c, log, cam.Name}, nil
	}
	return supervised(c, cam.Name, clock, drops, log), nil
}

// permanentSource logs and marks every error of a file source as
// permanent: the stream is missing from then on, the others go on.
type permanentSource struct {
	src  retry.Source
	log  *slog.Logger
	name string
}

func (p permanentSource) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	if err := p.src.Run(ctx, out, startNS); err != nil {
		p.log.Error("source failed; its stream will be missing", "stream", p.name, "err", err)
		return retry.Permanent(err)
	}
	return nil
}

// newMicSource builds the source of one configured microphone.
func newMicSource(m configs.Microphone, clock av.Clock, drops *av.Drops, log *slog.Logger) (source, error) {
	chunk := int(av.NSToFrames(int64(m.Chunk), m.RateHz))
	switch m.Source {
	case "synthetic":
		s := m.Synthetic
		events := make([]synthetic.AudioEvent, len(s.Events))
		for i, e := range s.Events {
			events[i] = synthetic.AudioEvent{Kind: e.Kind, At: e.At, Duration: e.Duration, FreqHz: e.FreqHz, LevelDBFS: e.LevelDBFS}
		}
		return synthetic.NewAudio(synthetic.AudioConfig{
			Stream: av.StreamID(m.Name), RateHz: m.RateHz, Channels: m.Channels, ChunkFrames: chunk,
			Seed: s.Seed, NoiseDBFS: s.NoiseDBFS, ChannelDelay: s.ChannelDelay, Period: s.Period, Events: events,
		}, clock)
	case "wav":
		w, err := media.OpenWAV(media.WAVConfig{Stream: av.StreamID(m.Name), Path: m.File, RateHz: m.RateHz, Channels: m.Channels,
			ChunkFrames: chunk, Pace: m.Pace, Loop: m.Loop}, clock)
		if err != nil {
			return openFailed(log, "microphone", m.Name, err), nil
		}
		return permanentSource{w, log, m.Name}, nil
	case "media":
		t, err := media.OpenTrack(media.TrackConfig{Stream: av.StreamID(m.Name), Path: m.File, RateHz: m.RateHz, Channels: m.Channels,
			ChunkFrames: chunk, Pace: m.Pace, Loop: m.Loop}, clock)
		if err != nil {
			return openFailed(log, "microphone", m.Name, err), nil
		}
		log.Info("audio track open", "stream", m.Name, "file", m.File, "offset_from_video", time.Duration(t.OffsetNS()))
		return permanentSource{t, log, m.Name}, nil
	case "portaudio":
		a, err := mic.New(mic.Config{Stream: av.StreamID(m.Name), Device: m.Device, RateHz: m.RateHz, Channels: m.Channels,
			ChunkFrames: chunk, Format: mic.SampleFormat(m.SampleFormat), LatencyNS: int64(m.Latency), Pace: m.Pace}, clock, drops, log)
		if err != nil {
			return nil, err
		}
		return supervised(a, m.Name, clock, drops, log), nil
	}
	return nil, fmt.Errorf("unknown microphone source %q", m.Source)
}
