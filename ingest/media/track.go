package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// ErrNoAudio is returned for a media file without an audio track.
var ErrNoAudio = errors.New("no audio track")

// TrackConfig configures the audio track of a media file as a source.
type TrackConfig struct {
	Stream      av.StreamID
	Path        string
	RateHz      int // ffmpeg resamples the track to this rate
	Channels    int // and downmixes or upmixes to this many channels
	ChunkFrames int // audio frames per chunk, > 0
	Pace        bool
	Loop        bool
	// FFmpeg and FFprobe are the programs to run; empty means "ffmpeg" and
	// "ffprobe" on PATH.
	FFmpeg, FFprobe string
}

// Track plays the audio track of a media file (any container and codec
// ffmpeg reads) as an audio stream, demuxed and decoded by an ffmpeg
// subprocess.
type Track struct {
	cfg        TrackConfig
	clock      av.Clock
	offsetNS   int64
	durationNS int64 // the container's: the period of a loop
}

// OpenTrack probes cfg.Path with ffprobe: the file must exist and have an
// audio track. It measures the track's start relative to the first video
// track's, so that Run timestamps the audio on the video's time line.
func OpenTrack(cfg TrackConfig, clock av.Clock) (*Track, error) {
	if cfg.ChunkFrames <= 0 || cfg.RateHz <= 0 || cfg.Channels <= 0 {
		return nil, fmt.Errorf("media: track %s: need rate, channels and chunk > 0", cfg.Path)
	}
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.FFprobe == "" {
		cfg.FFprobe = "ffprobe"
	}
	if _, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("media: track: %w", err)
	}
	p, err := Probe(cfg.FFprobe, cfg.Path)
	if err != nil {
		return nil, err
	}
	if !p.HasAudio {
		return nil, fmt.Errorf("media: %s: %w", cfg.Path, ErrNoAudio)
	}
	t := &Track{cfg: cfg, clock: clock, offsetNS: p.AudioStartNS, durationNS: p.DurationNS}
	if p.HasVideo {
		t.offsetNS -= p.VideoStartNS
	}
	return t, nil
}

// OffsetNS returns where the audio track starts on the video track's time
// line: positive when the audio starts later.
func (t *Track) OffsetNS() int64 { return t.offsetNS }

// Run decodes the track and sends it to out: frame k is captured at
// startNS + OffsetNS + k/rate. It returns at the end of the track (or runs
// forever with Loop) or when ctx ends. It does not close out.
//
// With Loop, pass n starts n container durations after the first, as the
// same file played by a looping camera (ingest/camera) does, so the two
// stay aligned however their tracks' lengths differ; a track shorter than
// the container leaves a gap of missing audio at each loop.
func (t *Track) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	p := newPCMPump(t.cfg.Stream, t.cfg.RateHz, t.cfg.Channels, t.cfg.ChunkFrames, PCMFloat32, t.cfg.Pace, t.clock)
	for pass := int64(1); ; pass++ {
		before := p.next
		if err := t.playOnce(ctx, p, out, startNS+t.offsetNS); err != nil {
			return stopErr(ctx, err)
		}
		if !t.cfg.Loop || p.next == before {
			return nil
		}
		if t.durationNS > 0 {
			// The next pass's first frame, like the first pass's, comes
			// OffsetNS after its video start, pass×duration: at frame
			// pass×duration×rate from the origin (startNS + OffsetNS).
			p.next = max(p.next, av.NSToFrames(pass*t.durationNS, t.cfg.RateHz))
		}
	}
}

// DurationNS returns the container's duration, the period of a loop.
func (t *Track) DurationNS() int64 { return t.durationNS }

func (t *Track) playOnce(ctx context.Context, p *pcmPump, out *av.Queue[av.Sample], originNS int64) error {
	cmd := exec.CommandContext(ctx, t.cfg.FFmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
		"-i", t.cfg.Path, "-map", "0:a:0", "-vn", "-f", "f32le", "-acodec", "pcm_f32le",
		"-ac", strconv.Itoa(t.cfg.Channels), "-ar", strconv.Itoa(t.cfg.RateHz), "pipe:1")
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("media: track %s: starting %s: %w", t.cfg.Path, t.cfg.FFmpeg, err)
	}
	perr := p.pump(ctx, stdout, out, originNS, -1)
	if perr != nil {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	switch {
	case perr != nil:
		return perr
	case ctx.Err() != nil:
		return ctx.Err()
	case werr != nil:
		return fmt.Errorf("media: track %s: ffmpeg: %w: %s", t.cfg.Path, werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitedWriter) Write(b []byte) (int, error) {
	if room := l.n - l.w.Len(); room > 0 {
		l.w.Write(b[:min(room, len(b))])
	}
	return len(b), nil
}

// ProbeResult is what Probe learns of a media file.
type ProbeResult struct {
	HasVideo, HasAudio         bool
	VideoStartNS, AudioStartNS int64
	AudioRateHz, AudioChannels int
	VideoFPS                   float64
	VideoWidth, VideoHeight    int
	DurationNS                 int64
}

// Probe runs ffprobe on path and reports its first video and audio
// tracks.
func Probe(ffprobe, path string) (ProbeResult, error) {
	var res ProbeResult
	out, err := exec.Command(ffprobe, "-v", "error", "-print_format", "json", "-show_streams", "-show_format", path).Output()
	if err != nil {
		msg := ""
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return res, fmt.Errorf("media: %s: ffprobe: %w: %s", path, err, msg)
	}
	return parseProbe(out)
}

type probeJSON struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		StartTime    string `json:"start_time"`
		SampleRate   string `json:"sample_rate"`
		Channels     int    `json:"channels"`
		AvgFrameRate string `json:"avg_frame_rate"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func parseProbe(b []byte) (ProbeResult, error) {
	var res ProbeResult
	var pj probeJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return res, fmt.Errorf("media: ffprobe output: %w", err)
	}
	for _, s := range pj.Streams {
		switch {
		case s.CodecType == "video" && !res.HasVideo:
			res.HasVideo, res.VideoStartNS = true, secondsNS(s.StartTime)
			res.VideoFPS = ratio(s.AvgFrameRate)
			res.VideoWidth, res.VideoHeight = s.Width, s.Height
		case s.CodecType == "audio" && !res.HasAudio:
			res.HasAudio, res.AudioStartNS = true, secondsNS(s.StartTime)
			res.AudioRateHz, _ = strconv.Atoi(s.SampleRate)
			res.AudioChannels = s.Channels
		}
	}
	res.DurationNS = secondsNS(pj.Format.Duration)
	return res, nil
}

func secondsNS(s string) int64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e9 {
		return 0
	}
	return int64(math.Round(v * 1e9))
}

func ratio(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		v, _ := strconv.ParseFloat(s, 64)
		return v
	}
	n, err1 := strconv.ParseFloat(num, 64)
	d, err2 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || d == 0 {
		return 0
	}
	return n / d
}
