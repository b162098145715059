//go:build !nosensors

package camera_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/ingest/camera"
)

// checkMats fails the test if it leaves open Mats (with -tags matprofile).
func checkMats(t *testing.T) {
	before := liveMats()
	t.Cleanup(func() {
		if after := liveMats(); after != before {
			t.Errorf("leaked %d gocv Mats", after-before)
		}
	})
}

// runCamera runs cfg to its end and returns the frames it sent.
func runCamera(t *testing.T, cfg camera.Config, clock av.Clock) ([]*av.Frame, error) {
	t.Helper()
	c, err := camera.New(cfg, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	q := av.NewQueue[av.Sample]("test", 4096, av.Block, nil)
	err = c.Run(ctx, q, 1_000_000_000)
	q.Close()
	var frames []*av.Frame
	for s := range q.C() {
		frames = append(frames, s.(*av.Frame))
	}
	t.Cleanup(func() {
		for _, f := range frames {
			f.Release()
		}
	})
	return frames, err
}

const testPipeline = "videotestsrc num-buffers=30 pattern=solid-color foreground-color=0xffff0000 ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! video/x-raw,format=BGR ! appsink sync=false"

func TestGStreamerBGR(t *testing.T) {
	defer goleak.VerifyNone(t)
	checkMats(t)
	frames, err := runCamera(t, camera.Config{Stream: "cam0", Kind: camera.GStreamer, Target: testPipeline, LatencyNS: 5e6}, av.NewRealClock())
	if !errors.Is(err, camera.ErrLost) {
		// A live pipeline that ends is a camera that stopped.
		t.Fatalf("err = %v, want ErrLost at the end of the pipeline", err)
	}
	if len(frames) != 30 {
		t.Fatalf("%d frames, want 30", len(frames))
	}
	for i, f := range frames {
		if f.Width != 320 || f.Height != 240 || f.Format != av.BGR24 || f.Seq != uint64(i) || f.Stream != "cam0" {
			t.Fatalf("frame %d: %dx%d %v seq %d stream %s", i, f.Width, f.Height, f.Format, f.Seq, f.Stream)
		}
		// Solid red: B=0, G=0, R=255 everywhere.
		for _, p := range []int{0, 3 * (160*320 + 160), len(f.Pix) - 3} {
			if f.Pix[p] != 0 || f.Pix[p+1] != 0 || f.Pix[p+2] != 255 {
				t.Fatalf("frame %d pixel at %d = %v, want red", i, p, f.Pix[p:p+3])
			}
		}
		if f.CaptureNS != f.ArrivalNS-5e6 {
			t.Fatalf("frame %d: capture %d, arrival %d; want arrival minus 5ms", i, f.CaptureNS, f.ArrivalNS)
		}
		if i > 0 && f.CaptureNS <= frames[i-1].CaptureNS {
			t.Fatalf("frame %d: capture time did not increase", i)
		}
	}
}

// With host memory (a GPU backend's pinned memory), frames are captured
// into it.
func TestCaptureIntoHostMemory(t *testing.T) {
	defer goleak.VerifyNone(t)
	checkMats(t)
	mem := &avtest.HostMemory{}
	frames, _ := runCamera(t, camera.Config{Stream: "cam0", Kind: camera.GStreamer, Frames: 5, Memory: mem,
		Target: "videotestsrc ! video/x-raw,width=64,height=48 ! videoconvert ! video/x-raw,format=BGR ! appsink"}, av.NewRealClock())
	if len(frames) != 5 {
		t.Fatalf("%d frames, want 5", len(frames))
	}
	for i, f := range frames {
		if !mem.Owns(f.Pix) {
			t.Fatalf("frame %d is not in the host memory", i)
		}
	}
}

func TestGStreamerGray(t *testing.T) {
	defer goleak.VerifyNone(t)
	checkMats(t)
	frames, _ := runCamera(t, camera.Config{Stream: "cam0", Kind: camera.GStreamer, Frames: 5,
		Target: "videotestsrc ! video/x-raw,width=64,height=48 ! videoconvert ! video/x-raw,format=GRAY8 ! appsink"}, av.NewRealClock())
	if len(frames) != 5 {
		t.Fatalf("%d frames, want 5", len(frames))
	}
	if f := frames[0]; f.Format != av.Gray8 || f.Width != 64 || f.Height != 48 || len(f.Pix) != 64*48 {
		t.Fatalf("frame %dx%d %v, %d bytes", f.Width, f.Height, f.Format, len(f.Pix))
	}
}

func TestOpenErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	checkMats(t)
	corrupt := filepath.Join(t.TempDir(), "corrupt.avi")
	if err := os.WriteFile(corrupt, []byte("RIFF\x10\x00\x00\x00AVI LIST garbage that is not a video"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []camera.Config{
		{Stream: "cam0", Kind: camera.GStreamer, Target: "nosuchelement ! appsink"},
		{Stream: "cam0", Kind: camera.GStreamer, Target: "videotestsrc ! fakesink"}, // no appsink
		{Stream: "cam0", Kind: camera.File, Target: filepath.Join(t.TempDir(), "missing.avi")},
		{Stream: "cam0", Kind: camera.File, Target: corrupt},
		{Stream: "cam0", Kind: camera.Device, Target: "/dev/video63"},
	} {
		_, err := runCamera(t, cfg, av.NewRealClock())
		if !errors.Is(err, camera.ErrOpen) {
			t.Errorf("%s %q: err = %v, want ErrOpen", cfg.Kind, cfg.Target, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []camera.Config{
		{Stream: "c", Kind: "webcam", Target: "0"},
		{Stream: "c", Kind: camera.Device, Target: "front"},
		{Stream: "c", Kind: camera.File, Target: ""},
		{Stream: "c", Kind: camera.Device, Target: "0", FourCC: "MJPEG"},
		{Stream: "", Kind: camera.Device, Target: "0"},
	} {
		if _, err := camera.New(cfg, av.NewRealClock(), nil); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

// testClip writes a 30 fps MJPEG AVI of n frames.
func testClip(t *testing.T, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clip.avi")
	out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30",
		"-frames:v", itoa(n), "-c:v", "mjpeg", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	return p
}

func itoa(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

func TestFileTimestamps(t *testing.T) {
	defer goleak.VerifyNone(t)
	checkMats(t)
	clip := testClip(t, 30)
	frames, err := runCamera(t, camera.Config{Stream: "cam0", Kind: camera.File, Target: clip}, av.NewVirtualClock(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 30 {
		t.Fatalf("%d frames, want 30", len(frames))
	}
	for i, f := range frames {
		want := int64(1e9) + int64(i)*1e9/30
		if d := f.CaptureNS - want; d < -1e6 || d > 1e6 {
			t.Fatalf("frame %d captured at %d, want %d (file time, from the stream start)", i, f.CaptureNS, want)
		}
	}
}

func TestFileLoop(t *testing.T) {
	defer goleak.VerifyNone(t)
	checkMats(t)
	clip := testClip(t, 10)
	frames, err := runCamera(t, camera.Config{Stream: "cam0", Kind: camera.File, Target: clip, Loop: true, Frames: 25}, av.NewVirtualClock(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 25 {
		t.Fatalf("%d frames, want 25", len(frames))
	}
	for i, f := range frames {
		want := int64(1e9) + int64(i)*1e9/30
		if d := f.CaptureNS - want; d < -2e6 || d > 2e6 {
			t.Fatalf("frame %d captured at %d, want %d: loops continue the time line", i, f.CaptureNS, want)
		}
	}
}

func TestFilePaced(t *testing.T) {
	defer goleak.VerifyNone(t)
	checkMats(t)
	clip := testClip(t, 6)
	clock := av.NewRealClock()
	c, err := camera.New(camera.Config{Stream: "cam0", Kind: camera.File, Target: clip, Pace: true}, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := av.NewQueue[av.Sample]("test", 16, av.Block, nil)
	start := clock.Now()
	if err := c.Run(context.Background(), q, start); err != nil {
		t.Fatal(err)
	}
	q.Close()
	n := 0
	for s := range q.C() {
		f := s.(*av.Frame)
		if f.ArrivalNS < f.CaptureNS {
			t.Errorf("frame %d sent at %d, before its capture time %d", f.Seq, f.ArrivalNS, f.CaptureNS)
		}
		n++
		f.Release()
	}
	if n != 6 {
		t.Errorf("%d frames, want 6", n)
	}
	if g := c.Granted(); g.Width != 160 || g.Height != 120 || g.FPS != 30 {
		t.Errorf("granted %v, want 160x120@30", g)
	}
}

// TestGrantedModeReported: a mode the source cannot give is not an error;
// what was granted is logged and returned by Granted.
func TestGrantedModeReported(t *testing.T) {
	defer goleak.VerifyNone(t)
	checkMats(t)
	clip := testClip(t, 3)
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	c, err := camera.New(camera.Config{Stream: "cam0", Kind: camera.URL, Target: "file://" + clip,
		Width: 640, Height: 480, FPS: 60, FourCC: "YUYV"}, av.NewVirtualClock(0), log)
	if err != nil {
		t.Fatal(err)
	}
	q := av.NewQueue[av.Sample]("test", 16, av.Block, nil)
	err = c.Run(context.Background(), q, 0)
	q.Close()
	for s := range q.C() {
		s.Release()
	}
	if !errors.Is(err, camera.ErrLost) {
		t.Fatalf("err = %v, want ErrLost at the end of the stream", err)
	}
	if g := c.Granted(); g.Width != 160 || g.Height != 120 {
		t.Fatalf("granted %v, want the stream's 160x120", g)
	}
	for _, want := range []string{"camera granted another mode than requested", `requested="640x480@60 YUYV"`, `granted="160x120@30`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}

// TestStopWhileReadBlocks: a camera whose read is stalled (here a stream at
// one frame per 3 s) stops within the grace period when told to, and its
// reader lets go of the device and the Mat once the read returns.
func TestStopWhileReadBlocks(t *testing.T) {
	before := liveMats()
	c, err := camera.New(camera.Config{Stream: "cam0", Kind: camera.GStreamer,
		Target: "videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=1/3 ! videoconvert ! video/x-raw,format=BGR ! appsink"}, av.NewRealClock(), nil)
	if err != nil {
		t.Fatal(err)
	}
	q := av.NewQueue[av.Sample]("test", 4, av.DropOldest, func(s av.Sample) { s.Release() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, q, 0) }()
	// The first frame comes at once; the second only after 3 s.
	select {
	case s := <-q.C():
		s.Release()
	case <-time.After(10 * time.Second):
		t.Fatal("no first frame")
	}
	stopAt := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(stopAt); d > 1500*time.Millisecond {
		t.Fatalf("Run took %v to stop with a read blocked; want about the 500 ms grace", d)
	}
	// The reader finishes its read (within 3 s), closes its Mat and exits.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for liveMats() != before || goleak.Find() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("reader still running or %d Mats still open after the blocked read: %v", liveMats()-before, goleak.Find())
		}
		<-tick.C
	}
}
