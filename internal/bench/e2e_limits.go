package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"regexp"
	"strconv"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
)

// E2ELimits are the limits measured once beside the runs (each
// maximum-speed run has its source's own, E2ERun.SourceFPS).
type E2ELimits struct {
	// NATSPerS is core publishes per second of a decision-sized payload on
	// an embedded server configured as the runs' (in-process connection).
	NATSPerS     float64 `json:"nats_publish_per_s"`
	PayloadBytes int     `json:"payload_bytes"`
}

// sourceLimit is the source of cfg alone, frames/s: ffmpeg decoding the
// one camera's file, or the synthetic renderer of every camera and the
// microphone (the synthetic "decode" limit); 0 when neither applies.
func sourceLimit(ctx context.Context, cfg *configs.Config, mediaNS int64) (string, float64) {
	clock := av.NewRealClock()
	if len(cfg.Cameras) == 1 && cfg.Cameras[0].Source == "file" {
		file := cfg.Cameras[0].Params.String("file")
		return "ffmpeg -benchmark -f null " + file, ffmpegFPS(file)
	}
	g, err := newGenSource(cfg, clock, mediaNS)
	if err != nil {
		return "", 0
	}
	q := av.NewQueue[av.Sample]("gen", 64, av.Block, nil)
	done := make(chan struct{})
	var frames int
	go func() {
		defer close(done)
		for s := range q.C() {
			if _, ok := s.(*av.Frame); ok {
				frames++
			}
			s.Release()
		}
	}()
	t0 := clock.Now()
	_ = g.Run(ctx, q, t0)
	q.Close()
	<-done
	c, m := cfg.Cameras[0], cfg.Microphones[0]
	what := fmt.Sprintf("synthetic renderer alone (%d × %d×%d BGR + %d ch %d Hz)", len(cfg.Cameras), c.Width, c.Height, m.Channels, m.RateHz)
	return what, float64(frames) / (float64(clock.Now()-t0) / 1e9)
}

// measureNATS publishes a decision-sized payload for 2 s on the same
// server setup as cfg's.
func measureNATS(h Host, cfg *configs.Config, log *slog.Logger) E2ELimits {
	var l E2ELimits
	clock := av.NewRealClock()
	payload := make([]byte, 700)
	for i := range payload {
		payload[i] = 'x'
	}
	l.PayloadBytes = len(payload)
	nc, closeNATS, err := h.ConnectNATS(cfg.NATS, log)
	if err != nil {
		return l
	}
	defer closeNATS()
	subj := sinks.DecisionSubject("benchlimit", "activity")
	t0 := clock.Now()
	var nmsg int
	for clock.Now()-t0 < 2e9 {
		for range 1000 {
			_ = nc.Publish(subj, payload)
		}
		nmsg += 1000
	}
	_ = nc.Flush()
	l.NATSPerS = float64(nmsg) / (float64(clock.Now()-t0) / 1e9)
	return l
}

var ffmpegFrameRE = regexp.MustCompile(`frame=\s*(\d+)`)
var ffmpegRtimeRE = regexp.MustCompile(`rtime=([0-9.]+)s`)

// ffmpegFPS decodes path with ffmpeg -benchmark -f null and returns frames
// per second of wall time (0 if ffmpeg is missing or fails).
func ffmpegFPS(path string) float64 {
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostats", "-benchmark", "-i", path, "-an", "-f", "null", "-").CombinedOutput()
	if err != nil {
		return 0
	}
	return ffmpegRate(string(out))
}

// ffmpegRate is the frames per second of wall time that ffmpeg -benchmark
// reported in out (0 if it did not).
func ffmpegRate(out string) float64 {
	f := ffmpegFrameRE.FindAllStringSubmatch(out, -1)
	r := ffmpegRtimeRE.FindStringSubmatch(out)
	if len(f) == 0 || r == nil {
		return 0
	}
	frames, _ := strconv.ParseFloat(f[len(f)-1][1], 64)
	rt, _ := strconv.ParseFloat(r[1], 64)
	if rt <= 0 {
		return 0
	}
	return frames / rt
}
