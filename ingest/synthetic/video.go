package synthetic

import (
	"context"
	"math"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// VideoConfig configures a synthetic camera: a bright disc bouncing around a
// noisy dark background.
type VideoConfig struct {
	Stream        av.StreamID
	Width, Height int     // at least 16×16
	FPS           float64 // > 0
	Seed          uint64
	// Frames stops Run after this many frames; 0 runs until ctx ends.
	Frames int
	// ShapeRadius is the disc's radius in pixels; 0 means Height/8.
	ShapeRadius int
	// SpeedPxPerS is the disc's speed; 0 means Width/4 per second.
	SpeedPxPerS float64
	// VisiblePeriod is the disc's appear/disappear cycle; 0 means always
	// visible. The disc is visible for the first VisibleFor of each period.
	VisiblePeriod time.Duration
	VisibleFor    time.Duration
	// NoiseAmplitude is the background noise, uniform within ±NoiseAmplitude
	// grey levels around a dark grey of 64, per byte, clipped to 0..255.
	// Each level is picked by one hash byte, so above ±127 only every
	// other level occurs. 0 means a flat background; the caller applies any
	// default.
	NoiseAmplitude int
	// Memory holds the frames' pixels (pinned memory for a GPU backend);
	// nil: Go memory.
	Memory av.HostMemory
}

const (
	minVideoSide  = 16
	maxVideoSide  = 1 << 14
	backgroundBGR = 64
	discBGR       = 255
	// poolCapacity bounds the free buffers a source keeps; more than the
	// few in flight between a source and the synchroniser is waste.
	poolCapacity = 8
)

// Video is a deterministic synthetic camera. Render and ShapeAt are pure and
// safe for concurrent use; Run is called once.
type Video struct {
	cfg   VideoConfig
	clock av.Clock
	pool  *av.FramePool

	noiseKey uint64
	// noiseLUT maps a hash byte to a background level, so that the per-byte
	// work of Render is a table lookup.
	noiseLUT [256]byte

	// The disc's path: a start point and a velocity, folded back into the
	// allowed range of centres (a bounce off each edge).
	x0, y0, vx, vy float64
	spanX, spanY   float64 // allowed range of centres, from radius
}

// NewVideo validates cfg, applies its defaults and returns the source.
func NewVideo(cfg VideoConfig, clock av.Clock) (*Video, error) {
	if err := validateVideo(&cfg); err != nil {
		return nil, err
	}
	v := &Video{cfg: cfg, clock: clock}
	v.pool = av.NewFramePoolIn(cfg.Width, cfg.Height, av.BGR24, poolCapacity, cfg.Memory)
	v.noiseKey = subKey(cfg.Seed, saltVideoNoise)
	amp := cfg.NoiseAmplitude
	for b := range v.noiseLUT {
		level := backgroundBGR - amp + b*(2*amp+1)/256
		v.noiseLUT[b] = byte(min(max(level, 0), 255))
	}

	r := float64(cfg.ShapeRadius)
	v.spanX = float64(cfg.Width-1) - 2*r
	v.spanY = float64(cfg.Height-1) - 2*r
	pathKey := subKey(cfg.Seed, saltVideoPath)
	unit := func(i int64) float64 { return float64(hashAt(pathKey, i)>>11) * 0x1p-53 }
	v.x0 = unit(0) * v.spanX
	v.y0 = unit(1) * v.spanY
	// A heading between 20° and 70° off an axis, in a seeded quadrant,
	// so the disc moves in both x and y and visits the whole frame.
	angle := (20 + 50*unit(2) + 90*math.Floor(4*unit(3))) * math.Pi / 180
	v.vx = cfg.SpeedPxPerS * math.Cos(angle)
	v.vy = cfg.SpeedPxPerS * math.Sin(angle)
	return v, nil
}

func validateVideo(cfg *VideoConfig) error {
	switch {
	case cfg.Stream == "":
		return fieldErr("stream", "must be set")
	case cfg.Width < minVideoSide || cfg.Width > maxVideoSide:
		return fieldErr("width", "must be between %d and %d, got %d", minVideoSide, maxVideoSide, cfg.Width)
	case cfg.Height < minVideoSide || cfg.Height > maxVideoSide:
		return fieldErr("height", "must be between %d and %d, got %d", minVideoSide, maxVideoSide, cfg.Height)
	case !(cfg.FPS > 0) || math.IsInf(cfg.FPS, 0):
		return fieldErr("fps", "must be positive and finite, got %v", cfg.FPS)
	case cfg.Frames < 0:
		return fieldErr("frames", "must not be negative, got %d", cfg.Frames)
	case cfg.ShapeRadius < 0:
		return fieldErr("shape_radius", "must not be negative, got %d", cfg.ShapeRadius)
	case !(cfg.SpeedPxPerS >= 0) || math.IsInf(cfg.SpeedPxPerS, 0):
		return fieldErr("speed_px_per_s", "must be zero (default) or positive and finite, got %v", cfg.SpeedPxPerS)
	case cfg.VisiblePeriod < 0:
		return fieldErr("visible_period", "must not be negative, got %v", cfg.VisiblePeriod)
	case cfg.VisiblePeriod == 0 && cfg.VisibleFor != 0:
		return fieldErr("visible_for", "is set (%v) but visible_period is 0 (always visible)", cfg.VisibleFor)
	case cfg.VisiblePeriod > 0 && (cfg.VisibleFor <= 0 || cfg.VisibleFor > cfg.VisiblePeriod):
		return fieldErr("visible_for", "must be in (0, visible_period=%v], got %v", cfg.VisiblePeriod, cfg.VisibleFor)
	case cfg.NoiseAmplitude < 0 || cfg.NoiseAmplitude > 255:
		return fieldErr("noise_amplitude", "must be between 0 and 255, got %d", cfg.NoiseAmplitude)
	}
	if cfg.ShapeRadius == 0 {
		cfg.ShapeRadius = cfg.Height / 8
	}
	if maxR := (min(cfg.Width, cfg.Height) - 1) / 2; cfg.ShapeRadius > maxR {
		return fieldErr("shape_radius", "must be at most %d for a %dx%d frame, got %d", maxR, cfg.Width, cfg.Height, cfg.ShapeRadius)
	}
	if cfg.SpeedPxPerS == 0 {
		cfg.SpeedPxPerS = float64(cfg.Width) / 4
	}
	return nil
}

// Config returns the source's configuration with its defaults applied.
func (v *Video) Config() VideoConfig { return v.cfg }

// CaptureOffsetNS returns the capture time of frame seq relative to the
// stream's start: seq/FPS seconds, rounded to the nanosecond.
func (v *Video) CaptureOffsetNS(seq uint64) int64 {
	return int64(math.Round(float64(seq) * 1e9 / v.cfg.FPS))
}

// ShapeAt returns the ground truth of frame seq: the disc's centre in pixel
// coordinates (x right, y down, pixel (i, j) at (i, j)) and whether it is
// drawn.
func (v *Video) ShapeAt(seq uint64) (x, y float64, visible bool) {
	t := float64(seq) / v.cfg.FPS
	r := float64(v.cfg.ShapeRadius)
	x = r + fold(v.x0+v.vx*t, v.spanX)
	y = r + fold(v.y0+v.vy*t, v.spanY)
	visible = true
	if p := v.cfg.VisiblePeriod; p > 0 {
		visible = time.Duration(v.CaptureOffsetNS(seq))%p < v.cfg.VisibleFor
	}
	return x, y, visible
}

// fold maps u onto [0, span] as a ball bouncing between 0 and span would.
func fold(u, span float64) float64 {
	if span <= 0 {
		return 0
	}
	m := math.Mod(u, 2*span)
	if m < 0 {
		m += 2 * span
	}
	if m > span {
		m = 2*span - m
	}
	return m
}

// Render writes frame seq into f, which must be a Width×Height BGR24 frame
// (one from a pool of that shape). It is a pure function of the config and
// seq, and allocates nothing.
func (v *Video) Render(seq uint64, f *av.Frame) {
	w, h := v.cfg.Width, v.cfg.Height
	if f.Width != w || f.Height != h || f.Format != av.BGR24 || f.Stride < 3*w || len(f.Pix) < f.Stride*(h-1)+3*w {
		panic("synthetic: Render needs a " + av.BGR24.String() + " frame of the configured size")
	}
	rowBytes := 3 * w
	wordsPerRow := int64((rowBytes + 7) / 8)
	key := subKey(v.noiseKey, seq)
	lut := &v.noiseLUT
	for yy := range h {
		row := f.Pix[yy*f.Stride : yy*f.Stride+rowBytes]
		word := int64(yy) * wordsPerRow
		i := 0
		for ; i+8 <= len(row); i += 8 {
			hv := hashAt(key, word)
			word++
			b := row[i : i+8 : i+8]
			b[0] = lut[byte(hv)]
			b[1] = lut[byte(hv>>8)]
			b[2] = lut[byte(hv>>16)]
			b[3] = lut[byte(hv>>24)]
			b[4] = lut[byte(hv>>32)]
			b[5] = lut[byte(hv>>40)]
			b[6] = lut[byte(hv>>48)]
			b[7] = lut[byte(hv>>56)]
		}
		if i < len(row) {
			hv := hashAt(key, word)
			for ; i < len(row); i++ {
				row[i] = lut[byte(hv)]
				hv >>= 8
			}
		}
	}

	cx, cy, visible := v.ShapeAt(seq)
	if !visible {
		return
	}
	r := float64(v.cfg.ShapeRadius)
	y0 := max(int(math.Ceil(cy-r)), 0)
	y1 := min(int(math.Floor(cy+r)), h-1)
	for yy := y0; yy <= y1; yy++ {
		dy := float64(yy) - cy
		half := math.Sqrt(max(r*r-dy*dy, 0))
		x0 := max(int(math.Ceil(cx-half)), 0)
		x1 := min(int(math.Floor(cx+half)), w-1)
		if x0 > x1 {
			continue
		}
		span := f.Pix[yy*f.Stride+3*x0 : yy*f.Stride+3*x1+3]
		for i := range span {
			span[i] = discBGR
		}
	}
}

// Run renders frames and sends them to out at their capture times, read from
// the clock: frame seq is captured at startNS + seq/FPS. It returns nil
// after cfg.Frames frames or when ctx ends, and does not close out.
func (v *Video) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	for seq := uint64(0); v.cfg.Frames == 0 || seq < uint64(v.cfg.Frames); seq++ {
		captureNS := startNS + v.CaptureOffsetNS(seq)
		if err := v.clock.WaitUntil(ctx, captureNS); err != nil {
			return stopErr(ctx, err)
		}
		f := v.pool.Get()
		v.Render(seq, f)
		f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = v.cfg.Stream, seq, captureNS, v.clock.Now()
		if err := out.Send(ctx, f); err != nil {
			f.Release()
			return stopErr(ctx, err)
		}
	}
	return nil
}

// stopErr turns the end of ctx into a normal stop: for a source,
// cancellation is how it is told to stop.
func stopErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
