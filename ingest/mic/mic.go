//go:build !nosensors

package mic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gordonklaus/portaudio"

	"github.com/seed-4c364652/fusiond/hardware"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// poolCapacity bounds the free chunks a microphone keeps.
const poolCapacity = 8

// Mic is a PortAudio microphone.
type Mic struct {
	cfg   Config
	clock av.Clock
	log   *slog.Logger
	drops *av.Drops
	pool  *av.AudioPool

	i16 []int16
	f32 []float32

	seq       uint64
	next      int64 // the next frame's index
	originNS  int64 // capture time of frame 0
	anchored  bool
	overflows atomic.Uint64
	device    atomic.Value // hardware.AudioDevice, once opened
}

// New validates cfg and returns the microphone; the device is opened by
// Run. drops may be nil.
func New(cfg Config, clock av.Clock, drops *av.Drops, log *slog.Logger) (*Mic, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Mic{cfg: cfg, clock: clock, log: log, drops: drops}
	m.pool = av.NewAudioPool(cfg.RateHz, cfg.Channels, cfg.ChunkFrames, poolCapacity)
	n := cfg.ChunkFrames * cfg.Channels
	if cfg.Format == Int16 {
		m.i16 = make([]int16, n)
	} else {
		m.f32 = make([]float32, n)
	}
	return m, nil
}

// Config returns the configuration with its defaults applied.
func (m *Mic) Config() Config { return m.cfg }

// Overflows returns how many reads reported an input overflow.
func (m *Mic) Overflows() uint64 { return m.overflows.Load() }

// Device returns the device last opened, if any.
func (m *Mic) Device() (hardware.AudioDevice, bool) {
	d, ok := m.device.Load().(hardware.AudioDevice)
	return d, ok
}

// Run opens the device and captures into out until ctx ends (nil), the
// configured number of frames was captured (nil), or the device fails (an
// error). It does not close out.
func (m *Mic) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	release, err := hardware.OpenPortAudio()
	if err != nil {
		return err
	}
	defer release()
	dev, info, err := hardware.ResolveAudioInput(m.cfg.Device)
	if err != nil {
		return fmt.Errorf("mic %s: %w", m.cfg.Stream, err)
	}
	latency := time.Duration(m.cfg.LatencyNS)
	if latency == 0 {
		latency = info.DefaultHighInputLatency
	}
	params := portaudio.StreamParameters{
		Input:      portaudio.StreamDeviceParameters{Device: info, Channels: m.cfg.Channels, Latency: latency},
		SampleRate: float64(m.cfg.RateHz), FramesPerBuffer: m.cfg.ChunkFrames,
	}
	var buf any = m.i16
	if m.cfg.Format == Float32 {
		buf = m.f32
	}
	var stream *portaudio.Stream
	hardware.Locked(func() { stream, err = portaudio.OpenStream(params, buf) })
	if err != nil {
		return fmt.Errorf("mic %s: device %s cannot capture %d Hz, %d channels, %s (it offers up to %d channels at %g Hz by default): %w",
			m.cfg.Stream, dev, m.cfg.RateHz, m.cfg.Channels, m.cfg.Format, dev.MaxInputChannels, dev.DefaultRateHz, err)
	}
	defer hardware.Locked(func() { _ = stream.Close() })
	if err := stream.Start(); err != nil {
		return fmt.Errorf("mic %s: starting %s: %w", m.cfg.Stream, dev, err)
	}
	defer stream.Stop()
	m.device.Store(dev)
	grantedLatency := latency
	if si := stream.Info(); si != nil {
		grantedLatency = si.InputLatency
	}
	m.log.Info("microphone open", "stream", m.cfg.Stream, "device", dev.Name, "index", dev.Index, "host_api", dev.HostAPI,
		"rate_hz", m.cfg.RateHz, "channels", m.cfg.Channels, "frames_per_buffer", m.cfg.ChunkFrames,
		"format", m.cfg.Format, "latency", grantedLatency)
	return m.capture(ctx, stream, out, int64(grantedLatency))
}

func (m *Mic) capture(ctx context.Context, stream *portaudio.Stream, out *av.Queue[av.Sample], latencyNS int64) error {
	n := m.cfg.ChunkFrames
	chunkNS := av.FramesToNS(int64(n), m.cfg.RateHz)
	first := true
	var got int64 // frames captured by this Run
	for ctx.Err() == nil {
		if m.cfg.Frames > 0 && got >= m.cfg.Frames {
			return nil
		}
		err := stream.Read()
		arrival := m.clock.Now()
		if errors.Is(err, portaudio.InputOverflowed) {
			m.overflows.Add(1)
			if m.drops != nil {
				m.drops.Add(m.cfg.Stream, DropInputOverflow, 1)
			}
			err = nil
		}
		if err != nil {
			return fmt.Errorf("mic %s: read: %w", m.cfg.Stream, err)
		}
		if first {
			// The buffer's first frame was captured one buffer and the
			// input latency before it arrived.
			t0 := arrival - chunkNS - latencyNS
			if !m.anchored {
				m.originNS, m.anchored = t0, true
			} else if k := av.NSToFrames(t0-m.originNS, m.cfg.RateHz); k > m.next {
				m.next = k // a reopen: skip the frames of the gap
			}
			first = false
		}
		frames := n
		if m.cfg.Frames > 0 {
			frames = int(min(int64(n), m.cfg.Frames-got))
		}
		c := m.pool.Get()
		c.Data = c.Data[:frames*m.cfg.Channels]
		if m.i16 != nil {
			for i := range c.Data {
				c.Data[i] = float32(m.i16[i]) / (1 << 15)
			}
		} else {
			copy(c.Data, m.f32)
		}
		c.Stream, c.Seq, c.FirstFrame = m.cfg.Stream, m.seq, m.next
		c.CaptureNS = m.originNS + av.FramesToNS(m.next, m.cfg.RateHz)
		m.seq++
		m.next += int64(frames)
		got += int64(frames)
		if m.cfg.Pace {
			if err := m.clock.WaitUntil(ctx, m.originNS+av.FramesToNS(m.next, m.cfg.RateHz)); err != nil {
				c.Release()
				return nil
			}
		}
		c.ArrivalNS = m.clock.Now()
		if err := out.Send(ctx, c); err != nil {
			c.Release()
			return nil
		}
	}
	return nil
}
