package foxglove

import (
	"context"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// BenchmarkNobodyConnected: what the live view costs the pipeline per
// frame, audio chunk and decision while no viewer is connected (a lock
// and an atomic load each; no encoding, no allocation).
func BenchmarkNobodyConnected(b *testing.B) {
	v := NewView(NewServer(Options{Logger: quiet}), ViewOptions{})
	f := testFrame("cam0", baseNS)
	c := &av.AudioChunk{Meta: av.Meta{Stream: "mic0", CaptureNS: baseNS}, RateHz: 16000, Channels: 1, Data: make([]float32, 1600)}
	d := testDecision("speech", 1, baseNS)
	st := &decision.Status{Schema: decision.StatusSchema, Robot: "demo", TimeNS: baseNS, Backend: "cpu"}
	faces := []Face{{ID: 1, Box: image.Rect(100, 80, 200, 180), Candidate: true}, {ID: 2, Box: image.Rect(400, 100, 460, 160)}}
	for _, bc := range []struct {
		name string
		call func(i int)
	}{
		{"frame", func(i int) { f.CaptureNS = baseNS + int64(i)*100_000_000; v.Frame(f) }},
		{"audio", func(int) { v.Audio(c) }},
		{"decision", func(int) { v.Decision(d) }},
		{"status", func(int) { v.Status(st) }},
		{"faces", func(i int) { v.Faces("cam0", baseNS+int64(i)*33_000_000, 640, 480, faces) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				bc.call(i)
			}
		})
	}
	if v.Stats().Images != 0 {
		b.Fatal("encoded")
	}
}

// BenchmarkOneViewer640x480: one viewer watching one 640x480 camera: per
// frame sent, the caller's cost (Frame: the copy for the encoder) and the
// whole path (copy, JPEG encode at 640 wide, quality 80, queue, socket).
// At 10 fps the CPU share is ns/op × 10 / 1e9.
func BenchmarkOneViewer640x480(b *testing.B) {
	srv := NewServer(Options{Logger: quiet})
	v := NewView(srv, ViewOptions{ImageWidth: 640, ImageFPS: 10, JPEGQuality: 80})
	v.AddCamera("cam0")
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); srv.Serve(ctx, ln) }()
	go func() { defer wg.Done(); v.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	c := dial(b, "ws://"+ln.Addr().String(), Subprotocols[0])
	defer c.conn.CloseNow()
	c.nextJSON(nil)
	c.nextJSON(nil)
	c.send(`{"op":"subscribe","subscriptions":[{"id":1,"channelId":3}]}`)
	for !srv.Subscribed(3) {
		time.Sleep(time.Millisecond)
	}
	got := make(chan int, 1024)
	go func() {
		for {
			_, data, err := c.conn.Read(ctx)
			if err != nil {
				close(got)
				return
			}
			got <- len(data)
		}
	}()
	f := testFrame("cam0", baseNS)
	var frameNS time.Duration
	bytes := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.CaptureNS = baseNS + int64(i)*100_000_000
		start := time.Now()
		v.Frame(f)
		frameNS += time.Since(start)
		bytes += <-got
	}
	b.StopTimer()
	b.ReportMetric(float64(frameNS.Nanoseconds())/float64(b.N), "frame-call-ns/op")
	b.ReportMetric(float64(bytes)/float64(b.N), "jpeg-bytes/op")
	if st := v.Stats(); st.SkippedImages != 0 || st.Dropped != 0 {
		b.Fatalf("%+v", st)
	}
}

// BenchmarkJPEGEncode640x480: the encoder alone on the same frame (OpenCV's
// IMEncode; the standard library's with nosensors), the peer of
// BenchmarkOneViewer640x480's whole path.
func BenchmarkJPEGEncode640x480(b *testing.B) {
	f := testFrame("cam0", baseNS)
	j := job{width: f.Width, height: f.Height, stride: f.Stride, format: f.Format, pix: f.Pix}
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if out, err = encodeJPEG(out[:0], &j, 640, 80); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(out)), "jpeg-bytes/op")
}
