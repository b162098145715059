//go:build !nosensors

package camera

import (
	"context"
	"os"
	"testing"

	"gocv.io/x/gocv"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// BenchmarkCaptureOverhead640x480 measures what capture adds to a 640×480
// BGR frame that OpenCV has read: copying it out of the Mat into a pooled
// frame, timestamping it (arrival minus latency) and queueing it. The
// consumer releases each frame, so the pool recycles.
func BenchmarkCaptureOverhead640x480(b *testing.B) {
	mat := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer mat.Close()
	c, err := New(Config{Stream: "cam0", Kind: GStreamer, Target: "appsink", LatencyNS: 5e6}, av.NewRealClock(), nil)
	if err != nil {
		b.Fatal(err)
	}
	q := av.NewQueue[av.Sample]("bench", 4, av.DropOldest, func(s av.Sample) { s.Release() })
	ctx := context.Background()
	b.SetBytes(640 * 480 * 3)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		arrival := c.clock.Now()
		f, err := c.copyOut(&mat)
		if err != nil {
			b.Fatal(err)
		}
		f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = "cam0", uint64(i), arrival-c.cfg.LatencyNS, arrival
		_ = q.Send(ctx, f)
		(<-q.C()).Release()
	}
}

// benchRun runs a camera to its end and reports frames per second.
func benchRun(b *testing.B, cfg Config) {
	b.ReportAllocs()
	frames := 0
	for i := 0; i < b.N; i++ {
		c, err := New(cfg, av.NewVirtualClock(0), nil)
		if err != nil {
			b.Fatal(err)
		}
		q := av.NewQueue[av.Sample]("bench", 16, av.Block, nil)
		done := make(chan int)
		go func() {
			n := 0
			for s := range q.C() {
				s.Release()
				n++
			}
			done <- n
		}()
		err = c.Run(context.Background(), q, 0)
		q.Close()
		frames += <-done
		if err != nil && cfg.Kind == File {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
}

// BenchmarkGStreamer640x480 is the whole capture path from a GStreamer
// pipeline: videotestsrc, videoconvert to BGR, appsink, OpenCV's read, and
// the capture overhead above.
func BenchmarkGStreamer640x480(b *testing.B) {
	benchRun(b, Config{Stream: "cam0", Kind: GStreamer, Target: "videotestsrc num-buffers=300 pattern=black ! video/x-raw,width=640,height=480,format=BGR ! appsink sync=false"})
}

// BenchmarkFileDecode decodes FUSIOND_BENCH_FILE (a video file) as fast as
// it goes through the camera's file path; scripts/bench-decode.sh runs it
// side by side with `ffmpeg -benchmark -f null` on the same file.
func BenchmarkFileDecode(b *testing.B) {
	path := os.Getenv("FUSIOND_BENCH_FILE")
	if path == "" {
		b.Skip("set FUSIOND_BENCH_FILE to a video file (scripts/bench-decode.sh does)")
	}
	benchRun(b, Config{Stream: "cam0", Kind: File, Target: path})
}
