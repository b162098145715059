package bench

import (
	"context"
	"errors"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// genSource renders a synthetic camera and microphone as fast as it can,
// interleaved in capture order, for mediaNS of media: the maximum-speed
// run's source. Arrival times are the real clock's.
type genSource struct {
	video   *synthetic.Video
	audio   *synthetic.Audio
	frames  *av.FramePool
	chunks  *av.AudioPool
	vcfg    synthetic.VideoConfig
	acfg    synthetic.AudioConfig
	clock   av.Clock
	mediaNS int64
}

func newGenSource(cfg *configs.Config, clock av.Clock, mediaNS int64) (*genSource, error) {
	if len(cfg.Cameras) != 1 || len(cfg.Microphones) != 1 || cfg.Cameras[0].Source != "synthetic" || cfg.Microphones[0].Source != "synthetic" {
		return nil, errors.New("the maximum-speed run renders synthetic sources: the config needs one synthetic camera and one synthetic microphone (or give a FILE.mcap)")
	}
	cam, mic := cfg.Cameras[0], cfg.Microphones[0]
	env := sources.Env{Clock: clock}        // as a daemon opens them (fusiond.NewCameraSource)
	vs, err := sources.OpenCamera(cam, env) // a synthetic camera is a *synthetic.Video
	if err != nil {
		return nil, err
	}
	as, err := sources.OpenMicrophone(mic, env) // and a synthetic microphone a *synthetic.Audio
	if err != nil {
		return nil, err
	}
	v, a := vs.(*synthetic.Video), as.(*synthetic.Audio)
	g := &genSource{video: v, audio: a, vcfg: v.Config(), acfg: a.Config(), clock: clock, mediaNS: mediaNS}
	g.frames = av.NewFramePool(cam.Width, cam.Height, av.BGR24, 2*cfg.Pipeline.QueueCapacity+8)
	g.chunks = av.NewAudioPool(mic.RateHz, mic.Channels, g.acfg.ChunkFrames, 2*cfg.Pipeline.QueueCapacity+8)
	return g, nil
}

func (g *genSource) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	var seq, k uint64
	n, rate := int64(g.acfg.ChunkFrames), g.acfg.RateHz
	for ctx.Err() == nil {
		tf := g.video.CaptureOffsetNS(seq)
		ta := av.FramesToNS(int64(k)*n, rate)
		if tf >= g.mediaNS && ta >= g.mediaNS {
			return nil
		}
		var s av.Sample
		if tf <= ta {
			f := g.frames.Get()
			g.video.Render(seq, f)
			f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = g.vcfg.Stream, seq, startNS+tf, g.clock.Now()
			s = f
			seq++
		} else {
			c := g.chunks.Get()
			first := int64(k) * n
			g.audio.Fill(first, c.Data)
			c.Stream, c.Seq, c.FirstFrame = g.acfg.Stream, k, first
			c.CaptureNS, c.ArrivalNS = startNS+ta, g.clock.Now()
			s = c
			k++
		}
		if err := out.Send(ctx, s); err != nil {
			s.Release()
			return nil
		}
	}
	return nil
}
