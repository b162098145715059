package media_test

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/media"
)

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

type source interface {
	Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error
}

// collect runs src to its end and returns its chunks.
func collect(t *testing.T, src source, startNS int64) []*av.AudioChunk {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := av.NewQueue[av.Sample]("test", 1<<14, av.Block, nil)
	if err := src.Run(ctx, q, startNS); err != nil {
		t.Fatal(err)
	}
	q.Close()
	var out []*av.AudioChunk
	for s := range q.C() {
		out = append(out, s.(*av.AudioChunk))
	}
	return out
}

func TestWAVSource(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := filepath.Join(t.TempDir(), "tone.wav")
	run(t, "sox", "-n", "-r", "16000", "-c", "2", "-b", "16", p, "synth", "0.5", "sine", "400", "sine", "800")
	w, err := media.OpenWAV(media.WAVConfig{Stream: "mic0", Path: p, RateHz: 16000, Channels: 2, ChunkFrames: 320}, av.NewVirtualClock(0))
	if err != nil {
		t.Fatal(err)
	}
	if info := w.Info(); info.Frames() != 8000 {
		t.Fatalf("info %+v: want 8000 frames", info)
	}
	chunks := collect(t, w, 7e9)
	if len(chunks) != 25 {
		t.Fatalf("%d chunks, want 25", len(chunks))
	}
	for i, c := range chunks {
		if c.FirstFrame != int64(i*320) || c.CaptureNS != 7e9+av.FramesToNS(c.FirstFrame, 16000) || c.Channels != 2 || c.Frames() != 320 {
			t.Fatalf("chunk %d: first %d capture %d channels %d frames %d", i, c.FirstFrame, c.CaptureNS, c.Channels, c.Frames())
		}
	}
	// Left is 400 Hz: it crosses zero upwards 400 times a second.
	var left []float32
	for _, c := range chunks {
		for k := range c.Frames() {
			left = append(left, c.Data[2*k])
		}
	}
	var ups int
	for k := 1; k < len(left); k++ {
		if left[k-1] < 0 && left[k] >= 0 {
			ups++
		}
	}
	if ups < 190 || ups > 201 {
		t.Errorf("%d upward zero crossings in 0.5 s of the left channel, want about 200", ups)
	}
	for _, c := range chunks {
		c.Release()
	}
}

func TestWAVLoop(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := filepath.Join(t.TempDir(), "short.wav")
	run(t, "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", p, "synth", "0.1", "sine", "300")
	w, err := media.OpenWAV(media.WAVConfig{Stream: "mic0", Path: p, ChunkFrames: 300, Loop: true}, av.NewVirtualClock(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	q := av.NewQueue[av.Sample]("test", 64, av.Block, nil)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, q, 0) }()
	var next int64
	for range 10 { // 3 loops of 800 frames: 300, 300, 200, 300, ...
		c := (<-q.C()).(*av.AudioChunk)
		if c.FirstFrame != next {
			t.Fatalf("chunk %d starts at frame %d, want %d", c.Seq, c.FirstFrame, next)
		}
		next += int64(c.Frames())
		c.Release()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWAVErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.wav")
	if err := os.WriteFile(corrupt, []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x55\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.wav")
	run(t, "sox", "-n", "-r", "16000", "-c", "1", good, "synth", "0.1", "sine", "300")
	for _, tc := range []struct {
		cfg    media.WAVConfig
		wantIn string
	}{
		{media.WAVConfig{Stream: "m", Path: filepath.Join(dir, "missing.wav"), ChunkFrames: 10}, "no such file"},
		{media.WAVConfig{Stream: "m", Path: corrupt, ChunkFrames: 10}, "not a supported WAV file"},
		{media.WAVConfig{Stream: "m", Path: good, ChunkFrames: 10, RateHz: 48000}, "set rate_hz: 16000, channels: 1"},
	} {
		_, err := media.OpenWAV(tc.cfg, av.NewVirtualClock(0))
		if err == nil || !strings.Contains(err.Error(), tc.wantIn) || !strings.Contains(err.Error(), filepath.Base(tc.cfg.Path)) {
			t.Errorf("OpenWAV(%s): err = %v, want one naming the file and %q", tc.cfg.Path, err, tc.wantIn)
		}
	}
}

// offsetClip writes the flash + tone clip of MEDIA.md, with the audio
// shifted by offset.
func offsetClip(t *testing.T, offset string) string {
	p := filepath.Join(t.TempDir(), "offset.mkv")
	run(t, "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
		"color=c=black:s=160x120:r=30,drawbox=w=iw:h=ih:color=white:t=fill:enable='between(mod(t,2),1,1.1)'",
		"-itsoffset", offset, "-f", "lavfi", "-i", "aevalsrc=0.5*sin(2*PI*1000*t)*gte(mod(t\\,2)\\,1):s=16000",
		"-t", "3", "-c:v", "mjpeg", "-c:a", "pcm_s16le", p)
	return p
}

func TestTrack(t *testing.T) {
	defer goleak.VerifyNone(t)
	clip := offsetClip(t, "0.2")
	tr, err := media.OpenTrack(media.TrackConfig{Stream: "mic0", Path: clip, RateHz: 16000, Channels: 2, ChunkFrames: 160}, av.NewVirtualClock(0))
	if err != nil {
		t.Fatal(err)
	}
	if tr.OffsetNS() != 200e6 {
		t.Fatalf("offset %d, want 200 ms", tr.OffsetNS())
	}
	chunks := collect(t, tr, 1e9)
	if c := chunks[0]; c.CaptureNS != 1e9+200e6 || c.Channels != 2 {
		t.Fatalf("first chunk at %d with %d channels, want 1.2 s and 2", c.CaptureNS, c.Channels)
	}
	// The tone starts 1 s into the track: at 2.2 s of pipeline time.
	var onset int64 = -1
	for _, c := range chunks {
		for k := 0; k < c.Frames() && onset < 0; k++ {
			if math.Abs(float64(c.Data[2*k])) > 0.05 {
				onset = c.CaptureNS + av.FramesToNS(int64(k), 16000)
			}
		}
		c.Release()
	}
	if d := onset - 2200e6; d < 0 || d > 1e6 {
		t.Fatalf("tone onset at %d, want 2.2 s", onset)
	}
}

func TestTrackErrors(t *testing.T) {
	dir := t.TempDir()
	silent := filepath.Join(dir, "video-only.avi")
	run(t, "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-frames:v", "3", "-c:v", "mjpeg", silent)
	junk := filepath.Join(dir, "junk.mkv")
	if err := os.WriteFile(junk, []byte("this is not a media file"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := media.TrackConfig{Stream: "m", RateHz: 16000, Channels: 1, ChunkFrames: 160}
	for path, want := range map[string]string{silent: "no audio track", junk: "ffprobe", filepath.Join(dir, "missing.mkv"): "no such file"} {
		cfg.Path = path
		_, err := media.OpenTrack(cfg, av.NewVirtualClock(0))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("OpenTrack(%s): err = %v, want %q", filepath.Base(path), err, want)
		}
		if path == silent && !errors.Is(err, media.ErrNoAudio) {
			t.Errorf("err = %v, want ErrNoAudio", err)
		}
	}
}
