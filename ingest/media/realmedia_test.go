package media_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/media"
)

// need returns path under .cache/media, or skips when scripts/fetch-media.sh
// has not fetched it (make test does).
func need(t *testing.T, pkg, path string) string {
	t.Helper()
	p := filepath.Join("../../.cache/media", pkg, path)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s: run scripts/fetch-media.sh %s (make test does)", p, pkg)
	}
	return p
}

// level returns the RMS level in dBFS of the loudest 100 ms of chunks.
func loudest(chunks []*av.AudioChunk, rate int) float64 {
	var all []float32
	for _, c := range chunks {
		all = append(all, c.Data...)
	}
	best := 0.0
	win := rate / 10
	for i := 0; i+win <= len(all); i += win {
		var s float64
		for _, v := range all[i : i+win] {
			s += float64(v) * float64(v)
		}
		best = max(best, s/float64(win))
	}
	return 10 * math.Log10(best+1e-20)
}

// TestRealSpeechWAV plays a LibriVox recording (pocketsphinx-testdata).
func TestRealSpeechWAV(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := need(t, "pocketsphinx-testdata", "usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav")
	w, err := media.OpenWAV(media.WAVConfig{Stream: "mic0", Path: p, RateHz: 16000, Channels: 1, ChunkFrames: 320}, av.NewVirtualClock(0))
	if err != nil {
		t.Fatal(err)
	}
	chunks := collect(t, w, 0)
	var frames int64
	for _, c := range chunks {
		frames += int64(c.Frames())
	}
	if frames != w.Info().Frames() || frames < 16000 {
		t.Fatalf("%d frames, want the file's %d", frames, w.Info().Frames())
	}
	if l := loudest(chunks, 16000); l < -30 || l > 0 {
		t.Fatalf("loudest 100 ms at %.1f dBFS: not speech", l)
	}
	for _, c := range chunks {
		c.Release()
	}
}

// TestRealTrack decodes Megamind.avi's AC3 stereo track through ffmpeg.
func TestRealTrack(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := need(t, "opencv-doc", "usr/share/doc/opencv-doc/examples/data/Megamind.avi")
	tr, err := media.OpenTrack(media.TrackConfig{Stream: "mic0", Path: p, RateHz: 48000, Channels: 2, ChunkFrames: 960}, av.NewVirtualClock(0))
	if err != nil {
		t.Fatal(err)
	}
	if tr.OffsetNS() != 0 {
		t.Fatalf("offset %d, want 0 (both tracks start at 0)", tr.OffsetNS())
	}
	chunks := collect(t, tr, 0)
	last := chunks[len(chunks)-1]
	if end := last.EndNS(); end < 11e9 || end > 11.6e9 {
		t.Fatalf("the track ends at %v s, want about 11.3 s", float64(end)/1e9)
	}
	if l := loudest(chunks, 48000); l < -30 {
		t.Fatalf("loudest 100 ms at %.1f dBFS: no sound", l)
	}
	for _, c := range chunks {
		c.Release()
	}
}

// TestStereoDelayWAV plays the stereo speech clip of fetch-media.sh, whose
// right channel is 437.5 µs (7 frames at 16 kHz) late, and finds that lag
// by cross-correlation: the channels arrive interleaved as recorded.
func TestStereoDelayWAV(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := need(t, "synthetic", "speech-stereo-delay.wav")
	w, err := media.OpenWAV(media.WAVConfig{Stream: "mic0", Path: p, RateHz: 16000, Channels: 2, ChunkFrames: 320}, av.NewVirtualClock(0))
	if err != nil {
		t.Fatal(err)
	}
	var l, r []float64
	for _, c := range collect(t, w, 0) {
		for k := range c.Frames() {
			l = append(l, float64(c.Data[2*k]))
			r = append(r, float64(c.Data[2*k+1]))
		}
		c.Release()
	}
	best, bestLag := math.Inf(-1), 0
	for lag := -20; lag <= 20; lag++ {
		var s float64
		for i := 20; i < len(l)-20; i++ {
			s += l[i] * r[i+lag]
		}
		if s > best {
			best, bestLag = s, lag
		}
	}
	if bestLag != 7 {
		t.Fatalf("right channel lags by %d frames, want 7", bestLag)
	}
}
