//go:build !nosensors

package fusiond

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	avsync "github.com/seed-4c364652/fusiond/sync"
)

// flashToneClip writes the flash + tone clip of MEDIA.md: a white frame
// flash at 1.0 s of every 2 s and a 1 kHz tone on during 1–2 s of every 2 s,
// each in its own track's time, for 6 s. offsetFlag shifts one input with
// -itsoffset ("audio" or "video", by seconds).
func flashToneClip(t *testing.T, shift string, seconds string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "flash-tone.mkv")
	video := []string{"-f", "lavfi", "-i", "color=c=black:s=320x240:r=30,drawbox=w=iw:h=ih:color=white:t=fill:enable='between(mod(t,2),1,1.1)'"}
	audio := []string{"-f", "lavfi", "-i", `aevalsrc=0.5*sin(2*PI*1000*t)*gte(mod(t\,2)\,1):s=16000`}
	if shift == "audio" {
		audio = append([]string{"-itsoffset", seconds}, audio...)
	} else {
		video = append([]string{"-itsoffset", seconds}, video...)
	}
	args := append([]string{"-nostdin", "-loglevel", "error"}, video...)
	args = append(args, audio...)
	args = append(args, "-t", "6", "-c:v", "mjpeg", "-q:v", "3", "-c:a", "pcm_s16le", p)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	return p
}

// measureAVOffset plays clip as a file camera plus its own audio track
// (the media microphone), through the pipeline's sources and synchroniser,
// and measures, in the bundles, each brightness onset of the video and the
// audio-energy onset that follows it. It returns audio onset minus video
// onset for each flash.
func measureAVOffset(t *testing.T, clip string) []time.Duration {
	return measureAVOffsetLooped(t, clip, 0)
}

// collectUntil runs src and keeps the samples captured before untilNS.
func collectUntil(t *testing.T, src Source, startNS, untilNS int64) []av.Sample {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := av.NewQueue[av.Sample]("q", 1<<10, av.Block, nil)
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, q, startNS)
		q.Close()
	}()
	var kept []av.Sample
	for s := range q.C() {
		if s.SampleMeta().CaptureNS >= untilNS {
			cancel()
			s.Release()
			continue
		}
		kept = append(kept, s)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return kept
}

// measureAVOffsetLooped is measureAVOffset with both sources looping, for
// the given number of container durations (0: no loop).
func measureAVOffsetLooped(t *testing.T, clip string, loops int) []time.Duration {
	t.Helper()
	loop := fmt.Sprint(loops > 0)
	cfg, err := configs.Parse("", nil, []string{
		"cameras.0.source=file", "cameras.0.file=" + clip, "cameras.0.pace=false", "cameras.0.fps=30", "cameras.0.loop=" + loop,
		"microphones.0.source=media", "microphones.0.file=" + clip, "microphones.0.pace=false", "microphones.0.loop=" + loop,
		"microphones.0.rate_hz=16000", "microphones.0.channels=1", "microphones.0.chunk=20ms",
		"nats.embedded.listen=",
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := av.NewVirtualClock(0)
	log := slog.New(slog.DiscardHandler)
	drops := av.NewDrops()
	cam, err := NewCameraSource(cfg.Cameras[0], clock, drops, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	mic, err := NewMicSource(cfg.Microphones[0], clock, drops, log)
	if err != nil {
		t.Fatal(err)
	}
	const startNS = 10e9
	var samples []av.Sample
	until := int64(math.MaxInt64)
	if loops > 0 {
		until = startNS + int64(loops)*int64(6*time.Second) // the clips are 6 s long
	}
	for _, src := range []Source{cam, mic} {
		samples = append(samples, collectUntil(t, src, startNS, until)...)
	}
	// Present the samples as live capture would: in capture order.
	sort.SliceStable(samples, func(i, j int) bool { return samples[i].SampleMeta().CaptureNS < samples[j].SampleMeta().CaptureNS })

	s, err := avsync.NewFrameSync(avsync.Config{
		Video: "cam0", FramePeriodNS: int64(time.Second / 30),
		Audio: "mic0", AudioRateHz: 16000, AudioChannels: 1,
		AudioWindowNS: int64(cfg.Sync.AudioWindow), MaxWaitNS: int64(cfg.Sync.MaxWait),
		MinAudioCoverage: cfg.Sync.MinAudioCoverage, PendingFrames: 1 << 12,
	}, drops)
	if err != nil {
		t.Fatal(err)
	}
	var videoOn []int64
	audio := map[int64]float32{} // |sample| by capture time, from the bundles' slices
	bright := false
	emit := func(b *av.Bundle) {
		defer b.Release()
		if b.Frame != nil {
			var sum int
			for _, v := range b.Frame.Pix {
				sum += int(v)
			}
			now := sum > 128*len(b.Frame.Pix)
			if now && !bright {
				videoOn = append(videoOn, b.TimeNS)
			}
			bright = now
		}
		a := b.Audio
		for k := range a.Frames() {
			if k < a.Covered || a.Covered == a.Frames() {
				audio[a.StartNS+av.FramesToNS(int64(k), a.RateHz)] = float32(math.Abs(float64(a.Data[k])))
			}
		}
	}
	for _, smp := range samples {
		s.Push(smp, emit)
	}
	s.Flush(emit)

	times := make([]int64, 0, len(audio))
	for ts := range audio {
		times = append(times, ts)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	var audioOn []int64
	quiet := 0
	for _, ts := range times {
		if audio[ts] > 0.05 {
			if quiet >= 800 { // 50 ms of silence before it
				audioOn = append(audioOn, ts)
			}
			quiet = 0
		} else {
			quiet++
		}
	}
	if len(videoOn) == 0 || len(audioOn) == 0 {
		t.Fatalf("onsets: video %v, audio %v", videoOn, audioOn)
	}
	var offsets []time.Duration
	for _, v := range videoOn {
		best := int64(math.MaxInt64)
		for _, a := range audioOn {
			if d := a - v; math.Abs(float64(d)) < math.Abs(float64(best)) {
				best = d
			}
		}
		offsets = append(offsets, time.Duration(best))
	}
	return offsets
}

// TestAVOffsetOfClip: the audio–video offset the pipeline measures on a
// real media clip matches the clip's true offset within one video frame.
func TestAVOffsetOfClip(t *testing.T) {
	const frame = time.Second / 30
	for _, tc := range []struct {
		shift, seconds string
		want           time.Duration
	}{
		{"audio", "0.2", 200 * time.Millisecond},
		{"video", "0.1", -100 * time.Millisecond},
		{"audio", "0", 0},
	} {
		t.Run(fmt.Sprintf("%s+%ss", tc.shift, tc.seconds), func(t *testing.T) {
			offsets := measureAVOffset(t, flashToneClip(t, tc.shift, tc.seconds))
			if len(offsets) < 2 {
				t.Fatalf("measured %d flashes, want at least 2", len(offsets))
			}
			for i, got := range offsets {
				t.Logf("flash %d: audio onset − video onset = %v (true %v)", i, got, tc.want)
				if d := got - tc.want; d < -frame || d > frame {
					t.Errorf("flash %d: offset %v, want %v within one frame (%v)", i, got, tc.want, frame)
				}
			}
		})
	}
}

// TestAVOffsetLooped: looping the clip (camera and audio track each start
// over at the end) keeps the true offset on every pass, although the audio
// track is 200 ms shorter than the video.
func TestAVOffsetLooped(t *testing.T) {
	const frame = time.Second / 30
	offsets := measureAVOffsetLooped(t, flashToneClip(t, "audio", "0.2"), 3)
	if len(offsets) < 8 {
		t.Fatalf("measured %d flashes over 3 loops, want 9", len(offsets))
	}
	for i, got := range offsets {
		if d := got - 200*time.Millisecond; d < -frame || d > frame {
			t.Errorf("flash %d: offset %v, want 200ms within one frame", i, got)
		}
	}
}
