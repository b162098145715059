//go:build !nosensors

package camera

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/media"
)

// poolCapacity bounds the free frames a camera keeps.
const poolCapacity = 8

// Camera is an OpenCV video source.
type Camera struct {
	cfg   Config
	clock av.Clock
	log   *slog.Logger

	mu      sync.Mutex
	granted Mode

	pool      *av.FramePool
	poolW     int
	poolH     int
	poolF     av.PixelFormat
	seq       uint64
	lastNS    int64 // capture time of the last frame sent
	haveLast  bool
	loopBase  int64 // file time of the current loop's start
	loopNS    int64 // a looping file's period: its container duration
	opened    bool  // the granted mode of this opening was logged
	mono      monoClock
	noDriverT bool // the driver gave no usable timestamps
}

// New validates cfg and returns the camera; it is opened by Run. log may
// be nil.
func New(cfg Config, clock av.Clock, log *slog.Logger) (*Camera, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	quietOpenCV()
	c := &Camera{cfg: cfg, clock: clock, log: log, mono: realMono{}}
	if cfg.Kind == File && cfg.Loop {
		if p, err := media.Probe("ffprobe", cfg.Target); err == nil {
			c.loopNS = p.DurationNS
		}
	}
	return c, nil
}

// Config returns the camera's configuration.
func (c *Camera) Config() Config { return c.cfg }

// Granted returns the mode the camera delivered when last opened.
func (c *Camera) Granted() Mode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.granted
}

// open opens the capture and applies the requested mode.
func (c *Camera) open() (*gocv.VideoCapture, error) {
	var vc *gocv.VideoCapture
	var err error
	switch c.cfg.Kind {
	case Device:
		n, _ := DeviceIndex(c.cfg.Target)
		vc, err = gocv.VideoCaptureDeviceWithAPI(n, gocv.VideoCaptureV4L2)
	case GStreamer:
		vc, err = gocv.VideoCaptureFileWithAPI(c.cfg.Target, gocv.VideoCaptureGstreamer)
	case URL, File:
		vc, err = gocv.VideoCaptureFileWithAPI(c.cfg.Target, gocv.VideoCaptureFFmpeg)
	}
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		return nil, fmt.Errorf("camera %s: %w %s %q (OpenCV gave no capture; for a pipeline, try it with gst-launch-1.0)", c.cfg.Stream, ErrOpen, c.cfg.Kind, c.cfg.Target)
	}
	if c.cfg.Kind == Device || c.cfg.Kind == URL {
		if c.cfg.FourCC != "" {
			vc.Set(gocv.VideoCaptureFOURCC, vc.ToCodec(c.cfg.FourCC))
		}
		if c.cfg.Width > 0 {
			vc.Set(gocv.VideoCaptureFrameWidth, float64(c.cfg.Width))
		}
		if c.cfg.Height > 0 {
			vc.Set(gocv.VideoCaptureFrameHeight, float64(c.cfg.Height))
		}
		if c.cfg.FPS > 0 {
			vc.Set(gocv.VideoCaptureFPS, c.cfg.FPS)
		}
	}
	return vc, nil
}

func (c *Camera) noteGranted(vc *gocv.VideoCapture, w, h int) {
	g := Mode{Width: w, Height: h, FPS: vc.Get(gocv.VideoCaptureFPS), FourCC: fourCC(vc.Get(gocv.VideoCaptureFOURCC))}
	c.mu.Lock()
	c.granted = g
	c.mu.Unlock()
	req := Mode{Width: c.cfg.Width, Height: c.cfg.Height, FPS: c.cfg.FPS, FourCC: c.cfg.FourCC}
	c.log.Info("camera open", "stream", c.cfg.Stream, "kind", c.cfg.Kind, "target", c.cfg.Target, "requested", req.String(), "granted", g.String())
	if (req.Width > 0 && req.Width != g.Width) || (req.Height > 0 && req.Height != g.Height) ||
		(req.FourCC != "" && req.FourCC != g.FourCC) || (req.FPS > 0 && g.FPS > 0 && req.FPS != g.FPS) {
		if c.cfg.Kind == Device || c.cfg.Kind == URL {
			c.log.Warn("camera granted another mode than requested", "stream", c.cfg.Stream, "requested", req.String(), "granted", g.String())
		}
	}
}

func fourCC(v float64) string {
	n := uint32(int64(v))
	if n == 0 {
		return ""
	}
	b := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
	for i, x := range b {
		if x < 0x20 || x > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// stuckGraceNS is how long Run waits, once told to stop, for a read in
// progress (a stalled stream, a hung driver) before it returns without it.
const stuckGraceNS = int64(500 * time.Millisecond)

// Run opens the camera and sends its frames to out until ctx ends or the
// configured frame count is reached (nil), a file ends (nil, or it loops),
// or the camera fails (ErrOpen, ErrLost, ErrFormat). It does not close out.
//
// A reader goroutine owns the capture and its Mat: it reads, copies each
// frame out and hands it over, one frame ahead. When ctx ends, Run waits
// for a read in progress at most stuckGraceNS, so a stalled stream does not
// hold up shutdown; the reader then closes the capture when its read
// returns.
func (c *Camera) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	vc, err := c.open()
	if err != nil {
		return err
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	frames := make(chan *av.Frame, 1)
	readErr := make(chan error, 1)
	go func() { readErr <- c.read(rctx, vc, startNS, frames) }()

	release := func() {
		stop()
		// Wait for the reader to let go of the device, but not forever.
		wait, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			_ = c.clock.WaitUntil(wait, c.clock.Now()+stuckGraceNS)
			cancel()
		}()
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					return
				}
				f.Release()
			case <-wait.Done():
				c.log.Warn("camera read still blocked after stop; leaving it to finish", "stream", c.cfg.Stream)
				return
			}
		}
	}
	for {
		var f *av.Frame
		var ok bool
		select {
		case f, ok = <-frames:
		case <-ctx.Done():
			release()
			return nil
		}
		if !ok {
			return stopErr(ctx, <-readErr)
		}
		if c.cfg.Kind == File && c.cfg.Pace {
			if err := c.clock.WaitUntil(ctx, f.CaptureNS); err != nil {
				f.Release()
				release()
				return nil
			}
			f.ArrivalNS = c.clock.Now()
		}
		if err := out.Send(ctx, f); err != nil {
			f.Release()
			release()
			return nil
		}
	}
}

// read is the reader goroutine: it owns vc and the source's one Mat, and
// closes both (and frames) when it returns.
func (c *Camera) read(ctx context.Context, vc *gocv.VideoCapture, startNS int64, frames chan<- *av.Frame) error {
	defer close(frames)
	defer vc.Close()
	mat := gocv.NewMat()
	defer mat.Close()

	first := true
	c.opened = false
	var sent int
	for ctx.Err() == nil {
		if c.cfg.Frames > 0 && sent >= c.cfg.Frames {
			return nil
		}
		if !vc.Read(&mat) || mat.Empty() {
			if c.cfg.Kind == File {
				if first {
					return fmt.Errorf("camera %s: %w: %s has no readable video frames", c.cfg.Stream, ErrOpen, c.cfg.Target)
				}
				if !c.cfg.Loop {
					return nil
				}
				// Start over. The next pass begins one container duration
				// after this one, as the file's audio track does when it
				// loops (ingest/media.Track), so the two stay aligned; if
				// the duration is unknown, one frame period after the last
				// frame.
				if c.loopNS > 0 {
					c.loopBase += c.loopNS
				} else {
					c.loopBase = c.lastNS - startNS + c.framePeriodNS(vc)
				}
				vc.Set(gocv.VideoCapturePosFrames, 0)
				first = true
				continue
			}
			return fmt.Errorf("camera %s: %s %q %w", c.cfg.Stream, c.cfg.Kind, c.cfg.Target, ErrLost)
		}
		arrival := c.clock.Now()
		if first && !c.opened {
			c.noteGranted(vc, mat.Cols(), mat.Rows()) // once per opening, not per loop
			c.opened = true
		}
		first = false
		captureNS := c.captureTime(vc, startNS, arrival)
		if c.haveLast && captureNS <= c.lastNS {
			// Keep capture times increasing. A file's position stalls for
			// the frames the decoder flushes at its end: they follow at
			// the frame rate.
			step := int64(1)
			if p := c.framePeriodNS(vc); c.cfg.Kind == File && p > 0 {
				step = p
			}
			captureNS = c.lastNS + step
		}
		f, err := c.copyOut(&mat)
		if err != nil {
			return err
		}
		f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = c.cfg.Stream, c.seq, captureNS, arrival
		c.seq++
		c.lastNS, c.haveLast = captureNS, true
		sent++
		select {
		case frames <- f:
		case <-ctx.Done():
			f.Release()
			return nil
		}
	}
	return nil
}

// stopErr turns the end of ctx into a normal stop.
func stopErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (c *Camera) framePeriodNS(vc *gocv.VideoCapture) int64 {
	if fps := vc.Get(gocv.VideoCaptureFPS); fps > 0 {
		return int64(1e9 / fps)
	}
	return 0
}

// captureTime is the frame's capture time (see the package doc).
func (c *Camera) captureTime(vc *gocv.VideoCapture, startNS, arrival int64) int64 {
	switch c.cfg.Kind {
	case File:
		return startNS + c.loopBase + int64(vc.Get(gocv.VideoCapturePosMsec)*1e6)
	case Device:
		if !c.noDriverT {
			if t, ok := driverTime(vc.Get(gocv.VideoCapturePosMsec), arrival, c.mono); ok {
				return t
			}
			c.noDriverT = true
			c.log.Info("camera gives no driver timestamps; using arrival minus latency", "stream", c.cfg.Stream)
		}
	}
	return arrival - c.cfg.LatencyNS
}

// copyOut copies the Mat into a pooled frame.
func (c *Camera) copyOut(mat *gocv.Mat) (*av.Frame, error) {
	var pf av.PixelFormat
	switch mat.Type() {
	case gocv.MatTypeCV8UC3:
		pf = av.BGR24
	case gocv.MatTypeCV8UC1:
		pf = av.Gray8
	default:
		return nil, fmt.Errorf("camera %s: %w: OpenCV Mat type %v (want 8-bit BGR or gray; end a pipeline with videoconvert ! video/x-raw,format=BGR ! appsink)", c.cfg.Stream, ErrFormat, mat.Type())
	}
	w, h := mat.Cols(), mat.Rows()
	if c.pool == nil || w != c.poolW || h != c.poolH || pf != c.poolF {
		c.pool = av.NewFramePoolIn(w, h, pf, poolCapacity, c.cfg.Memory)
		c.poolW, c.poolH, c.poolF = w, h, pf
	}
	f := c.pool.Get()
	rowBytes := w * pf.BytesPerPixel()
	if mat.IsContinuous() {
		data, err := mat.DataPtrUint8()
		if err != nil {
			f.Release()
			return nil, fmt.Errorf("camera %s: %w", c.cfg.Stream, err)
		}
		copy(f.Pix, data[:rowBytes*h])
		return f, nil
	}
	// A Mat with padded rows: copy row by row.
	for y := range h {
		row := mat.RowRange(y, y+1)
		data, err := row.DataPtrUint8()
		if err == nil {
			copy(f.Pix[y*f.Stride:y*f.Stride+rowBytes], data)
		}
		row.Close()
		if err != nil {
			f.Release()
			return nil, fmt.Errorf("camera %s: %w", c.cfg.Stream, err)
		}
	}
	return f, nil
}
