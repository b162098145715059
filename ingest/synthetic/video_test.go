package synthetic

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
)

const testStartNS = int64(1_700_000_000_000_000_000)

func testVideoConfig() VideoConfig {
	return VideoConfig{Stream: "cam0", Width: 96, Height: 64, FPS: 30, Seed: 1, NoiseAmplitude: 20}
}

func mustVideo(t testing.TB, cfg VideoConfig) *Video {
	t.Helper()
	v, err := NewVideo(cfg, av.NewVirtualClock(testStartNS))
	if err != nil {
		t.Fatalf("NewVideo: %v", err)
	}
	return v
}

func render(v *Video, seq uint64) *av.Frame {
	cfg := v.Config()
	f := av.NewFramePool(cfg.Width, cfg.Height, av.BGR24, 1).Get()
	v.Render(seq, f)
	return f
}

// pixel returns the B, G and R bytes at (x, y).
func pixel(f *av.Frame, x, y int) [3]byte {
	i := y*f.Stride + 3*x
	return [3]byte{f.Pix[i], f.Pix[i+1], f.Pix[i+2]}
}

func TestNewVideoRejects(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*VideoConfig)
		field string
	}{
		{"no stream", func(c *VideoConfig) { c.Stream = "" }, "stream"},
		{"narrow", func(c *VideoConfig) { c.Width = 15 }, "width"},
		{"huge", func(c *VideoConfig) { c.Width = 1 << 20 }, "width"},
		{"short", func(c *VideoConfig) { c.Height = 0 }, "height"},
		{"zero fps", func(c *VideoConfig) { c.FPS = 0 }, "fps"},
		{"negative fps", func(c *VideoConfig) { c.FPS = -30 }, "fps"},
		{"nan fps", func(c *VideoConfig) { c.FPS = math.NaN() }, "fps"},
		{"inf fps", func(c *VideoConfig) { c.FPS = math.Inf(1) }, "fps"},
		{"negative frames", func(c *VideoConfig) { c.Frames = -1 }, "frames"},
		{"negative radius", func(c *VideoConfig) { c.ShapeRadius = -2 }, "shape_radius"},
		{"radius too big", func(c *VideoConfig) { c.ShapeRadius = 32 }, "shape_radius"},
		{"negative speed", func(c *VideoConfig) { c.SpeedPxPerS = -1 }, "speed_px_per_s"},
		{"nan speed", func(c *VideoConfig) { c.SpeedPxPerS = math.NaN() }, "speed_px_per_s"},
		{"negative period", func(c *VideoConfig) { c.VisiblePeriod = -time.Second }, "visible_period"},
		{"visible_for without period", func(c *VideoConfig) { c.VisibleFor = time.Second }, "visible_for"},
		{"visible_for zero", func(c *VideoConfig) { c.VisiblePeriod = time.Second }, "visible_for"},
		{"visible_for too long", func(c *VideoConfig) { c.VisiblePeriod, c.VisibleFor = time.Second, 2*time.Second }, "visible_for"},
		{"negative noise", func(c *VideoConfig) { c.NoiseAmplitude = -1 }, "noise_amplitude"},
		{"too much noise", func(c *VideoConfig) { c.NoiseAmplitude = 256 }, "noise_amplitude"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testVideoConfig()
			tt.edit(&cfg)
			_, err := NewVideo(cfg, av.NewVirtualClock(0))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("NewVideo error = %v, want a *ConfigError", err)
			}
			if ce.Field != tt.field || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q names field %q, want %q", err, ce.Field, tt.field)
			}
			if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("error %q does not start lowercase", msg)
			}
		})
	}
}

func TestNewVideoDefaults(t *testing.T) {
	cfg := mustVideo(t, testVideoConfig()).Config()
	if cfg.ShapeRadius != 64/8 {
		t.Errorf("default ShapeRadius = %d, want %d", cfg.ShapeRadius, 64/8)
	}
	if cfg.SpeedPxPerS != 96.0/4 {
		t.Errorf("default SpeedPxPerS = %v, want %v", cfg.SpeedPxPerS, 96.0/4)
	}
}

func TestRenderDeterministic(t *testing.T) {
	tests := []struct {
		name         string
		seedA, seedB uint64
		seqA, seqB   uint64
		same         bool
	}{
		{"same seed same frame", 1, 1, 7, 7, true},
		{"same seed frame zero", 42, 42, 0, 0, true},
		{"different seed", 1, 2, 7, 7, false},
		{"different frame", 1, 1, 7, 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgA, cfgB := testVideoConfig(), testVideoConfig()
			cfgA.Seed, cfgB.Seed = tt.seedA, tt.seedB
			a, b := mustVideo(t, cfgA), mustVideo(t, cfgB)
			// Render other frames into the same buffer first: Render must not
			// depend on what the buffer held or on the order of calls.
			f := render(a, 3)
			a.Render(tt.seqA, f)
			g := render(b, tt.seqB)
			if got := bytes.Equal(f.Pix, g.Pix); got != tt.same {
				t.Errorf("frames equal = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestRenderDisc(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*VideoConfig)
		noise int
	}{
		{"default", func(*VideoConfig) {}, 20},
		{"no noise", func(c *VideoConfig) { c.NoiseAmplitude = 0 }, 0},
		{"big disc odd size", func(c *VideoConfig) { c.Width, c.Height, c.ShapeRadius = 37, 23, 11 }, 20},
		{"small disc fast", func(c *VideoConfig) { c.ShapeRadius, c.SpeedPxPerS = 3, 500 }, 20},
		{"blinking", func(c *VideoConfig) { c.VisiblePeriod, c.VisibleFor = time.Second, 400*time.Millisecond }, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testVideoConfig()
			tt.edit(&cfg)
			v := mustVideo(t, cfg)
			cfg = v.Config()
			r := float64(cfg.ShapeRadius)
			var shown, hidden int
			for seq := uint64(0); seq < 90; seq++ {
				x, y, visible := v.ShapeAt(seq)
				if x < r || x > float64(cfg.Width-1)-r || y < r || y > float64(cfg.Height-1)-r {
					t.Fatalf("frame %d: disc centre (%.1f, %.1f) lets the disc leave the frame", seq, x, y)
				}
				f := render(v, seq)
				var bright int
				for yy := range cfg.Height {
					for xx := range cfg.Width {
						p := pixel(f, xx, yy)
						if p == [3]byte{255, 255, 255} {
							bright++
							if d := math.Hypot(float64(xx)-x, float64(yy)-y); d > r+1e-9 {
								t.Fatalf("frame %d: white pixel (%d, %d) is %.2f from the centre, radius %v", seq, xx, yy, d, r)
							}
							continue
						}
						for _, b := range p {
							if int(b) < backgroundBGR-tt.noise || int(b) > backgroundBGR+tt.noise {
								t.Fatalf("frame %d: background byte %d outside 64±%d", seq, b, tt.noise)
							}
						}
					}
				}
				if !visible {
					hidden++
					if bright != 0 {
						t.Fatalf("frame %d: disc hidden but %d white pixels", seq, bright)
					}
					continue
				}
				shown++
				if p := pixel(f, int(math.Round(x)), int(math.Round(y))); p != [3]byte{255, 255, 255} {
					t.Fatalf("frame %d: centre pixel is %v, want white", seq, p)
				}
				// Nearly all of the disc's area is white (edge pixels vary).
				if area := math.Pi * r * r; float64(bright) < 0.8*area || float64(bright) > 1.2*area+4*r {
					t.Fatalf("frame %d: %d white pixels, want about %.0f", seq, bright, area)
				}
			}
			if shown == 0 {
				t.Error("the disc never showed")
			}
			if cfg.VisiblePeriod > 0 {
				// 90 frames at 30 fps cover 3 periods, visible 40% of each.
				if want := 3 * 12; shown != want || hidden != 90-want {
					t.Errorf("shown %d, hidden %d frames; want %d and %d", shown, hidden, want, 90-want)
				}
			}
		})
	}
}

func TestBackgroundNoise(t *testing.T) {
	for _, amp := range []int{0, 1, 20, 64, 127, 255} {
		cfg := testVideoConfig()
		cfg.NoiseAmplitude = amp
		// Visible only in frame 0, so frames 1 and 2 are all background.
		cfg.VisiblePeriod, cfg.VisibleFor = time.Hour, time.Millisecond
		v := mustVideo(t, cfg)
		a, b := render(v, 1), render(v, 2)
		lo, hi := max(backgroundBGR-amp, 0), min(backgroundBGR+amp, 255)
		var sum float64
		counts := make(map[byte]int)
		var changed int
		for i, x := range a.Pix {
			sum += float64(x)
			counts[x]++
			if x != b.Pix[i] {
				changed++
			}
		}
		n := len(a.Pix)
		// A hash byte picks the level, so up to ±127 every level occurs.
		if amp <= 127 && len(counts) != hi-lo+1 {
			t.Errorf("amplitude %d: %d distinct levels, want %d (%d..%d)", amp, len(counts), hi-lo+1, lo, hi)
		}
		for x := range counts {
			if int(x) < lo || int(x) > hi {
				t.Errorf("amplitude %d: level %d outside %d..%d", amp, x, lo, hi)
			}
		}
		if amp > 64 {
			continue // clipped at black: neither centred nor fresh everywhere
		}
		if mean := sum / float64(n); math.Abs(mean-backgroundBGR) > 0.5 {
			t.Errorf("amplitude %d: mean level %.2f, want 64", amp, mean)
		}
		// Fresh noise every frame: almost every byte changes.
		if want := float64(n) * float64(2*amp) / float64(2*amp+1) * 0.95; float64(changed) < want {
			t.Errorf("amplitude %d: %d of %d bytes changed between frames, want at least %.0f", amp, changed, n, want)
		}
	}
}

func TestVisibilitySchedule(t *testing.T) {
	cfg := testVideoConfig()
	cfg.FPS = 10
	cfg.VisiblePeriod, cfg.VisibleFor = time.Second, 300*time.Millisecond
	v := mustVideo(t, cfg)
	for seq := uint64(0); seq < 30; seq++ {
		_, _, visible := v.ShapeAt(seq)
		if want := seq%10 < 3; visible != want {
			t.Errorf("frame %d visible = %v, want %v", seq, visible, want)
		}
	}
}

func TestDiscMoves(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 99} {
		cfg := testVideoConfig()
		cfg.Seed = seed
		v := mustVideo(t, cfg)
		var minX, maxX, minY, maxY = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		px, py, _ := v.ShapeAt(0)
		for seq := uint64(1); seq < 300; seq++ {
			x, y, _ := v.ShapeAt(seq)
			// The speed is 24 px/s: 0.8 px per frame, less at a bounce.
			if step := math.Hypot(x-px, y-py); step < 0.1 || step > 0.8+1e-9 {
				t.Fatalf("seed %d frame %d: disc moved %.3f px, want (0.1, 0.8]", seed, seq, step)
			}
			px, py = x, y
			minX, maxX = min(minX, x), max(maxX, x)
			minY, maxY = min(minY, y), max(maxY, y)
		}
		// Over 10 s it crosses most of the frame in both directions.
		if maxX-minX < 40 || maxY-minY < 20 {
			t.Errorf("seed %d: disc covered x [%.0f, %.0f], y [%.0f, %.0f]; want wider", seed, minX, maxX, minY, maxY)
		}
		if a, b := render(v, 0), render(v, 15); bytes.Equal(a.Pix, b.Pix) {
			t.Errorf("seed %d: frames 0 and 15 are identical", seed)
		}
	}
}

func TestRenderAllocatesNothing(t *testing.T) {
	v := mustVideo(t, testVideoConfig())
	f := render(v, 0)
	seq := uint64(0)
	if n := testing.AllocsPerRun(50, func() { seq++; v.Render(seq, f) }); n != 0 {
		t.Errorf("Render allocates %v times per frame, want 0", n)
	}
}

func TestRenderRejectsWrongFrame(t *testing.T) {
	v := mustVideo(t, testVideoConfig())
	defer func() {
		if recover() == nil {
			t.Error("Render into a frame of the wrong size did not panic")
		}
	}()
	v.Render(0, av.NewFramePool(32, 32, av.BGR24, 1).Get())
}

// recv returns the next sample on q, failing the test if none comes soon.
func recv(t *testing.T, q *av.Queue[av.Sample]) av.Sample {
	t.Helper()
	select {
	case s := <-q.C():
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no sample within 5s")
		return nil
	}
}

// start runs run in a goroutine. wait returns its result, failing the test
// if it does not come soon; cancel cancels run's context. Cleanup cancels and
// waits, so a failed test leaks no goroutine into the next one's leak check.
func start(t *testing.T, run func(context.Context) error) (wait func() error, cancel func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	wait = func() error {
		t.Helper()
		select {
		case <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return within 5s")
			return nil
		}
	}
	return wait, cancel
}

func TestVideoRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	tests := []struct {
		name   string
		fps    float64
		frames int
	}{
		{"30 fps", 30, 7},
		{"29.97 fps", 30000.0 / 1001, 5},
		{"one frame", 12.5, 1},
		{"in host memory", 30, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testVideoConfig()
			cfg.FPS, cfg.Frames = tt.fps, tt.frames
			mem := &avtest.HostMemory{}
			if tt.name == "in host memory" {
				cfg.Memory = mem
			}
			clock := av.NewVirtualClock(testStartNS - 1000)
			v, err := NewVideo(cfg, clock)
			if err != nil {
				t.Fatal(err)
			}
			q := av.NewQueue[av.Sample]("cam0", 4, av.Block, nil)
			wait, _ := start(t, func(ctx context.Context) error { return v.Run(ctx, q, testStartNS) })
			for seq := uint64(0); seq < uint64(tt.frames); seq++ {
				captureNS := testStartNS + int64(math.Round(float64(seq)*1e9/tt.fps))
				arrivalNS := captureNS + int64(seq)*100 // a little late, as a real camera is
				clock.Set(arrivalNS)
				f, ok := recv(t, q).(*av.Frame)
				if !ok {
					t.Fatal("Run sent a sample that is not a *av.Frame")
				}
				want := av.Meta{Stream: "cam0", Seq: seq, CaptureNS: captureNS, ArrivalNS: arrivalNS}
				if f.Meta != want {
					t.Fatalf("frame %d meta = %+v, want %+v", seq, f.Meta, want)
				}
				if g := render(v, seq); !bytes.Equal(f.Pix, g.Pix) || f.Format != av.BGR24 {
					t.Fatalf("frame %d pixels differ from Render", seq)
				}
				if cfg.Memory != nil && !mem.Owns(f.Pix) {
					t.Fatalf("frame %d is not in the host memory", seq)
				}
				f.Release()
			}
			if err := wait(); err != nil {
				t.Fatalf("Run = %v after %d frames, want nil", err, tt.frames)
			}
			if q.Len() != 0 {
				t.Errorf("Run sent %d frames beyond Frames", q.Len())
			}
		})
	}
}

func TestVideoRunStopsOnCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	tests := []struct {
		name   string
		policy av.Overflow
		ahead  int64 // how far to move the clock before cancelling
	}{
		{"waiting for the clock", av.Block, 0},
		{"blocked on a full queue", av.Block, 10e9},
		{"dropping into a full queue", av.DropOldest, 10e9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := av.NewVirtualClock(testStartNS)
			v, err := NewVideo(testVideoConfig(), clock)
			if err != nil {
				t.Fatal(err)
			}
			q := av.NewQueue[av.Sample]("cam0", 1, tt.policy, func(s av.Sample) { s.Release() })
			wait, cancel := start(t, func(ctx context.Context) error { return v.Run(ctx, q, testStartNS) })
			recv(t, q).Release() // frame 0, due at once
			clock.Advance(tt.ahead)
			cancel()
			if err := wait(); err != nil {
				t.Errorf("Run = %v on cancel, want nil", err)
			}
			for q.Len() > 0 {
				(<-q.C()).Release()
			}
		})
	}
}
