package fusiond_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// multiScene is a Source of three synthetic cameras (cam0..cam2) and two
// microphones (mic0, mic1) over two seconds, in capture order, each sample
// arriving when captured; camera deadCam (-1: none) stops after 0.5 s.
type multiScene struct {
	videos  []*synthetic.Video
	audios  []*synthetic.Audio
	frames  *av.FramePool
	chunks  *av.AudioPool
	deadCam int
}

func newMultiScene(t *testing.T, clock av.Clock, deadCam int) *multiScene {
	t.Helper()
	s := &multiScene{frames: av.NewFramePool(160, 120, av.BGR24, 16), chunks: av.NewAudioPool(16000, 1, 320, 16), deadCam: deadCam}
	for i := range 3 {
		v, err := synthetic.NewVideo(synthetic.VideoConfig{Stream: av.StreamID(fmt.Sprintf("cam%d", i)), Width: 160, Height: 120, FPS: 30,
			Seed: uint64(i + 1), NoiseAmplitude: 12}, clock)
		if err != nil {
			t.Fatal(err)
		}
		s.videos = append(s.videos, v)
	}
	for i := range 2 {
		a, err := synthetic.NewAudio(synthetic.AudioConfig{Stream: av.StreamID(fmt.Sprintf("mic%d", i)), RateHz: 16000, Channels: 1, ChunkFrames: 320,
			Seed: uint64(i + 1), NoiseDBFS: -60,
			Events: []synthetic.AudioEvent{{Kind: "tone", At: 500 * time.Millisecond, Duration: time.Second, FreqHz: 440, LevelDBFS: -12}}}, clock)
		if err != nil {
			t.Fatal(err)
		}
		s.audios = append(s.audios, a)
	}
	return s
}

func (s *multiScene) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	const mediaNS, chunk = int64(2 * time.Second), 320
	var seq uint64
	var k uint64
	for ctx.Err() == nil {
		tf, ta := s.videos[0].CaptureOffsetNS(seq), av.FramesToNS(int64(k)*chunk, 16000)
		if tf >= mediaNS && ta >= mediaNS {
			return nil
		}
		var smps []av.Sample
		if tf <= ta {
			for i, v := range s.videos {
				if i == s.deadCam && tf > int64(500*time.Millisecond) {
					continue
				}
				f := s.frames.Get()
				v.Render(seq, f)
				// Camera i captures i ms after camera 0: approximate sets.
				at := startNS + tf + int64(i)*1e6
				f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = av.StreamID(fmt.Sprintf("cam%d", i)), seq, at, at
				smps = append(smps, f)
			}
			seq++
		} else {
			for i, a := range s.audios {
				c := s.chunks.Get()
				a.Fill(int64(k)*chunk, c.Data)
				c.Stream, c.Seq, c.FirstFrame, c.CaptureNS, c.ArrivalNS = av.StreamID(fmt.Sprintf("mic%d", i)), k, int64(k)*chunk, startNS+ta, startNS+ta
				smps = append(smps, c)
			}
			k++
		}
		for _, smp := range smps {
			if err := out.Send(ctx, smp); err != nil {
				smp.Release()
				return nil
			}
		}
	}
	return nil
}

// decisions keeps every decision a daemon publishes.
type decisions struct{ all []av.Decision }

func (d *decisions) WriteDecision(x *av.Decision, _ []byte) error {
	d.all = append(d.all, *x)
	return nil
}

// multiConfig is exampleConfig with three cameras and two microphones
// under the approximate policy.
func multiConfig(t *testing.T) *configs.Config {
	t.Helper()
	yml := `cameras:
  - {name: cam0, width: 160, height: 120}
  - {name: cam1, width: 160, height: 120, pose: {yaw_deg: 90, hfov_deg: 60}}
  - {name: cam2, width: 160, height: 120, pose: {yaw_deg: -90, hfov_deg: 60}}
microphones:
  - {name: mic0, rate_hz: 16000, channels: 1}
  - {name: mic1, rate_hz: 16000, channels: 1}
sync: {policy: approximate}
`
	return quietConfig(t, "multi.yaml", []byte(yml))
}

// TestSeveralCamerasAndMicrophones: a daemon with three cameras and two
// microphones decides the visual kinds per camera, each naming its
// camera, and the heard kinds once (no camera); a camera that stops
// leaves the others deciding, and its visual kinds go unknown naming it in
// missing_streams.
func TestSeveralCamerasAndMicrophones(t *testing.T) {
	const startNS = int64(1_700_000_000e9)
	for _, dead := range []int{-1, 2} {
		t.Run(fmt.Sprintf("dead=%d", dead), func(t *testing.T) {
			cfg := multiConfig(t)
			clock := av.NewVirtualClock(startNS)
			opts := []fusiond.Option{fusiond.WithClock(clock), fusiond.WithSource("cam0", newMultiScene(t, clock, dead))}
			for _, n := range []string{"cam1", "cam2", "mic0", "mic1"} {
				opts = append(opts, fusiond.WithSource(n, nil))
			}
			out := &decisions{}
			d, err := fusiond.New(cfg, append(opts, fusiond.WithSink(out))...)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			visual := map[string]int{} // camera → visual decisions
			heard := map[string]int{}  // "kind time" → heard decisions
			lastCam := map[string]av.Decision{}
			seqs := map[uint64]bool{}
			for _, x := range out.all {
				if seqs[x.Seq] {
					t.Fatalf("seq %d published twice", x.Seq)
				}
				seqs[x.Seq] = true
				switch x.Kind {
				case fuse.KindMotion, fuse.KindPresence:
					visual[x.Camera]++
					lastCam[x.Camera] = x
				case fuse.KindSpeech, fuse.KindSoundEvent:
					if x.Camera != "" {
						t.Errorf("%s names camera %q", x.Kind, x.Camera)
					}
					heard[fmt.Sprint(x.Kind, x.TimeNS)]++
				}
			}
			for _, cam := range []string{"cam0", "cam1", "cam2"} {
				if visual[cam] == 0 {
					t.Errorf("no motion or presence decision names %s (by camera: %v)", cam, visual)
				}
			}
			if len(visual) != 3 {
				t.Errorf("visual decisions by camera %v, want cam0..cam2", visual)
			}
			if len(heard) == 0 {
				t.Error("no heard decisions")
			}
			for k, n := range heard {
				if n > 1 {
					t.Errorf("%s decided %d times", k, n)
				}
			}
			if dead < 0 {
				return
			}
			name := fmt.Sprintf("cam%d", dead)
			x := lastCam[name]
			if x.State != "unknown" || !slices.Contains(x.MissingStreams, name) {
				t.Errorf("the dead camera's last visual decision: state %q, missing_streams %v; want unknown naming %s", x.State, x.MissingStreams, name)
			}
			for _, cam := range []string{"cam0", "cam1"} {
				if y := lastCam[cam]; y.State == "unknown" || slices.Contains(y.MissingStreams, cam) {
					t.Errorf("%s stopped deciding with %s: its last is %s, missing_streams %v", cam, name, y.State, y.MissingStreams)
				}
			}
		})
	}
}

// TestSeveralCamerasReplay: a recording of three cameras and two
// microphones replays to the live run's decisions (all fields but
// latency_ns), the same twice.
func TestSeveralCamerasReplay(t *testing.T) {
	const startNS = int64(1_700_000_000e9)
	cfg := multiConfig(t)
	cfg.Record.FlushInterval = 100 * time.Millisecond
	// The scene runs as fast as it renders: room for every message, as a
	// recorder that falls behind drops (and counts) rather than stall.
	cfg.Record.QueueCapacity = 4096
	path := filepath.Join(t.TempDir(), "multi.mcap")
	clock := av.NewVirtualClock(startNS)
	live := &collector{}
	opts := []fusiond.Option{fusiond.WithClock(clock), fusiond.WithSource("cam0", newMultiScene(t, clock, 2)),
		fusiond.WithSink(live), fusiond.WithRecording(path)}
	for _, n := range []string{"cam1", "cam2", "mic0", "mic1"} {
		opts = append(opts, fusiond.WithSource(n, nil))
	}
	d, err := fusiond.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(live.lines) < 10 {
		t.Fatalf("%d live decisions", len(live.lines))
	}
	rcfg, err := recordedConfig(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rcfg.Cameras) != 3 || len(rcfg.Microphones) != 2 {
		t.Fatalf("the recorded config has %d cameras and %d microphones", len(rcfg.Cameras), len(rcfg.Microphones))
	}
	replayMatchesLive(t, path, rcfg, live.lines)
}
