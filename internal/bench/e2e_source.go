package bench

import (
	"context"
	"errors"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// genSource renders a config's synthetic cameras and microphone as fast
// as it can, interleaved in capture order, for mediaNS of media: the
// maximum-speed run's source, in one goroutine. Arrival times are the
// real clock's.
type genSource struct {
	videos  []genVideo
	audio   *synthetic.Audio
	chunks  *av.AudioPool
	acfg    synthetic.AudioConfig
	clock   av.Clock
	mediaNS int64
}

type genVideo struct {
	video  *synthetic.Video
	frames *av.FramePool
	stream av.StreamID
	seq    uint64
}

func newGenSource(cfg *configs.Config, clock av.Clock, mediaNS int64) (*genSource, error) {
	if len(cfg.Cameras) == 0 || len(cfg.Microphones) != 1 || !allSynthetic(cfg) {
		return nil, errors.New("the maximum-speed run renders synthetic sources: the config needs synthetic cameras and one synthetic microphone (or give a FILE.mcap)")
	}
	env := sources.Env{Clock: clock} // as a daemon opens them (fusiond.NewCameraSource)
	g := &genSource{clock: clock, mediaNS: mediaNS}
	pooled := 2*cfg.Pipeline.QueueCapacity + 8
	for _, cam := range cfg.Cameras {
		vs, err := sources.OpenCamera(cam, env) // a synthetic camera is a *synthetic.Video
		if err != nil {
			return nil, err
		}
		v := vs.(*synthetic.Video)
		g.videos = append(g.videos, genVideo{video: v, stream: v.Config().Stream,
			frames: av.NewFramePool(cam.Width, cam.Height, av.BGR24, pooled)})
	}
	mic := cfg.Microphones[0]
	as, err := sources.OpenMicrophone(mic, env) // and a synthetic microphone a *synthetic.Audio
	if err != nil {
		return nil, err
	}
	g.audio = as.(*synthetic.Audio)
	g.acfg = g.audio.Config()
	g.chunks = av.NewAudioPool(mic.RateHz, mic.Channels, g.acfg.ChunkFrames, pooled)
	return g, nil
}

func (g *genSource) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	var k uint64
	n, rate := int64(g.acfg.ChunkFrames), g.acfg.RateHz
	for ctx.Err() == nil {
		// The earliest capture due next: a camera's frame (cameras in
		// config order on a tie) or, after them, the audio chunk.
		next, at := -1, av.FramesToNS(int64(k)*n, rate)
		for i := range g.videos {
			if t := g.videos[i].video.CaptureOffsetNS(g.videos[i].seq); t <= at && t < g.mediaNS && (next < 0 || t < g.videos[next].video.CaptureOffsetNS(g.videos[next].seq)) {
				next = i
			}
		}
		if next < 0 && at >= g.mediaNS {
			return nil
		}
		var s av.Sample
		if next >= 0 {
			v := &g.videos[next]
			f := v.frames.Get()
			v.video.Render(v.seq, f)
			f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = v.stream, v.seq, startNS+v.video.CaptureOffsetNS(v.seq), g.clock.Now()
			s = f
			v.seq++
		} else {
			c := g.chunks.Get()
			first := int64(k) * n
			g.audio.Fill(first, c.Data)
			c.Stream, c.Seq, c.FirstFrame = g.acfg.Stream, k, first
			c.CaptureNS, c.ArrivalNS = startNS+at, g.clock.Now()
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
