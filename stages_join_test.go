package fusiond

import (
	"fmt"
	"log/slog"
	"maps"
	"syscall"
	"testing"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
	"github.com/seed-4c364652/fusiond/internal/testenv"
	"go.uber.org/goleak"
)

// joinConfig is a robot of n synthetic w×h cameras, each its own scene.
func joinConfig(t testing.TB, n, w, h int, sets ...string) *configs.Config {
	cfg := testenv.Config(t, append([]string{"fuse.features.video=true", "fuse.backend=cpu", "sync.policy=approximate",
		fmt.Sprintf("cameras.0.width=%d", w), fmt.Sprintf("cameras.0.height=%d", h)}, sets...)...)
	for i := 1; i < n; i++ {
		c := cfg.Cameras[0]
		c.Name = fmt.Sprintf("cam%d", i)
		c.Params = c.Params.Clone()
		if err := c.Params.Set("synthetic.seed", i+1); err != nil {
			t.Fatal(err)
		}
		cfg.Cameras = append(cfg.Cameras, c)
	}
	return cfg
}

// joinBundles renders frames bundles of every camera of cfg; the caller
// releases them.
func joinBundles(t testing.TB, cfg *configs.Config, frames int) []*av.Bundle {
	var videos []*synthetic.Video
	for _, cam := range cfg.Cameras {
		vs, err := sources.OpenCamera(cam, sources.Env{Clock: av.NewVirtualClock(0)})
		if err != nil {
			t.Fatal(err)
		}
		videos = append(videos, vs.(*synthetic.Video))
	}
	var out []*av.Bundle
	for seq := range frames {
		b := &av.Bundle{Seq: uint64(seq)}
		for i, v := range videos {
			c := cfg.Cameras[i]
			f := &av.Frame{Width: c.Width, Height: c.Height, Stride: 3 * c.Width, Format: av.BGR24, Pix: make([]byte, 3*c.Width*c.Height)}
			v.Render(uint64(seq), f)
			f.Stream, f.Seq, f.CaptureNS = av.StreamID(c.Name), uint64(seq), v.CaptureOffsetNS(uint64(seq))
			if i == 0 {
				b.Frame = f
			} else {
				b.MoreFrames = append(b.MoreFrames, f)
			}
		}
		out = append(out, b)
	}
	return out
}

// processCPUNS is the process's CPU time, user and system.
func processCPUNS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func apartStages(t testing.TB, cfg *configs.Config) *stages {
	st, err := buildStages(cfg, av.NewDrops(), slog.New(slog.DiscardHandler), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.fuse.Close()
		st.backend.Close()
	})
	if len(st.apart) == 0 || st.apart[0] == nil {
		t.Skip("no visual features (nosensors build, or no OpenCV cascades)")
	}
	return st
}

// TestJoinVisualMatchesOneAfterTheOther: the cameras' visual features
// measured all at once (joinVisual) are those measured one camera after
// the other, frame for frame, and a bundle without video measures none.
func TestJoinVisualMatchesOneAfterTheOther(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the stages close (cleanups run last first)
	cfg := joinConfig(t, 3, 160, 120, "fuse.features.face_every=3")
	joined, apart := apartStages(t, cfg), apartStages(t, cfg)
	for n, b := range joinBundles(t, cfg, 12) {
		joined.joinVisual(b)
		for i, v := range apart.apart {
			want, got := v.measure(b, i), joined.apart[i].next
			if len(want) == 0 || !maps.Equal(want, got) {
				t.Fatalf("frame %d camera %d: joined %v, one after the other %v", n, i, got, want)
			}
		}
		b.Missing = []av.Modality{av.Video}
		joined.joinVisual(b)
		for i, v := range joined.apart {
			if v.next != nil {
				t.Fatalf("frame %d camera %d: features %v of a bundle without video", n, i, v.next)
			}
		}
	}
}

// BenchmarkJoinVisual is one tick's visual features of 4 cameras at
// 640×480 (the default face detector cycle), all at once (joined) and one
// after the other (sequential): ns/op is the tick's latency, cpu-ns/op
// its CPU time (OpenCV's own threads included).
func BenchmarkJoinVisual(b *testing.B) {
	cfg := joinConfig(b, 4, 640, 480)
	bundles := joinBundles(b, cfg, 60)
	for _, mode := range []string{"joined", "sequential"} {
		b.Run(mode, func(b *testing.B) {
			st := apartStages(b, cfg)
			n := 0
			cpu0 := processCPUNS()
			for b.Loop() {
				bu := bundles[n%len(bundles)]
				if mode == "joined" {
					st.joinVisual(bu)
				} else {
					for i, v := range st.apart {
						v.next = v.measure(bu, i)
					}
				}
				n++
			}
			b.ReportMetric(float64(processCPUNS()-cpu0)/float64(n), "cpu-ns/op")
		})
	}
}
