package fusiond_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// scene is a Source: a synthetic camera (a bright disc moving on a noisy
// background) and microphone (a tone from 0.5 s to 1.5 s), rendered for
// two seconds in capture order from one goroutine, as fast as it can. Each
// sample arrives when it was captured, so the run is the same every time.
type scene struct {
	video  *synthetic.Video
	audio  *synthetic.Audio
	frames *av.FramePool
	chunks *av.AudioPool
}

func newScene(clock av.Clock) (*scene, error) {
	v, err := synthetic.NewVideo(synthetic.VideoConfig{Stream: "cam0", Width: 160, Height: 120, FPS: 30, Seed: 1, NoiseAmplitude: 12}, clock)
	if err != nil {
		return nil, err
	}
	a, err := synthetic.NewAudio(synthetic.AudioConfig{Stream: "mic0", RateHz: 16000, Channels: 1, ChunkFrames: 320, Seed: 1, NoiseDBFS: -60,
		Events: []synthetic.AudioEvent{{Kind: "tone", At: 500 * time.Millisecond, Duration: time.Second, FreqHz: 440, LevelDBFS: -12}}}, clock)
	if err != nil {
		return nil, err
	}
	return &scene{video: v, audio: a, frames: av.NewFramePool(160, 120, av.BGR24, 8), chunks: av.NewAudioPool(16000, 1, 320, 8)}, nil
}

func (s *scene) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	const mediaNS, chunk = int64(2 * time.Second), 320
	var seq, k uint64
	for ctx.Err() == nil {
		tf, ta := s.video.CaptureOffsetNS(seq), av.FramesToNS(int64(k)*chunk, 16000)
		if tf >= mediaNS && ta >= mediaNS {
			return nil
		}
		var smp av.Sample
		if tf <= ta {
			f := s.frames.Get()
			s.video.Render(seq, f)
			f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = "cam0", seq, startNS+tf, startNS+tf
			smp, seq = f, seq+1
		} else {
			c := s.chunks.Get()
			s.audio.Fill(int64(k)*chunk, c.Data)
			c.Stream, c.Seq, c.FirstFrame, c.CaptureNS, c.ArrivalNS = "mic0", k, int64(k)*chunk, startNS+ta, startNS+ta
			smp, k = c, k+1
		}
		if err := out.Send(ctx, smp); err != nil {
			smp.Release()
			return nil
		}
	}
	return nil
}

// printer is a sink: it prints the first few activity decisions.
type printer struct {
	startNS int64
	n       int
}

func (p *printer) WriteDecision(d *av.Decision, payload []byte) error {
	if d.Kind == "activity" && p.n < 4 {
		p.n++
		fmt.Printf("%s at %4d ms: confidence %.2f, missing %v\n", d.Kind, (d.TimeNS-p.startNS)/1e6, d.Confidence, d.Missing)
	}
	return nil
}

// A program embedding fusiond: the configured camera and microphone are
// replaced by one Source rendering both, decisions go to a custom sink
// besides the embedded NATS server (in-process only), and a virtual clock
// that never moves makes the run deterministic: every time the sink sees
// the same decisions.
func Example() {
	dir, err := os.MkdirTemp("", "fusiond-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg, err := configs.Parse("", nil, []string{
		"cameras.0.width=160", "cameras.0.height=120", "microphones.0.rate_hz=16000", "microphones.0.channels=1",
		"pipeline.overflow=block", "fuse.backend=cpu",
		"nats.embedded.listen=", "nats.jetstream.enabled=false", "nats.control=false", "metrics.listen=",
		"state_dir=" + dir, "nats.signing.key_file=" + filepath.Join(dir, "robot.nk"),
	})
	if err != nil {
		log.Fatal(err)
	}
	const startNS = int64(1_700_000_000e9)
	src, err := newScene(av.NewVirtualClock(startNS))
	if err != nil {
		log.Fatal(err)
	}
	d, err := fusiond.New(cfg,
		fusiond.WithClock(av.NewVirtualClock(startNS)),
		fusiond.WithSource("cam0", src),
		fusiond.WithSource("mic0", nil), // src delivers mic0 too
		fusiond.WithSink(&printer{startNS: startNS}),
	)
	if err != nil {
		log.Fatal(err)
	}
	// Run returns when the source ends and the pipeline has drained.
	if err := d.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// activity at  466 ms: confidence 0.53, missing []
	// activity at  966 ms: confidence 0.99, missing []
	// activity at 1466 ms: confidence 0.99, missing []
	// activity at 1966 ms: confidence 0.98, missing []
}
