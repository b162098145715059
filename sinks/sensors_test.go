package sinks

import (
	"bytes"
	"context"
	"encoding/binary"
	"image/jpeg"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
)

// TestSensorPublisher: frames go out as JPEG, audio as 16-bit PCM, with
// their capture times; an oversize frame is counted and skipped; the
// connection stays up.
func TestSensorPublisher(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := StartEmbedded(EmbeddedConfig{MaxPayload: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, _ := nc.SubscribeSync("fusion.r.sensor.>")
	nc.Flush()
	sp := NewSensorPublisher(nc, SensorConfig{Robot: "r", Queue: 16})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sp.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	fp := av.NewFramePool(64, 48, av.BGR24, 2)
	f := fp.Get()
	for i := range f.Pix {
		f.Pix[i] = byte(i)
	}
	f.Stream, f.CaptureNS = "cam0", 42
	sp.Offer(f)
	f.Release() // the publisher copied it
	ap := av.NewAudioPool(16000, 2, 2, 2)
	c := ap.Get()
	c.Stream, c.CaptureNS, c.RateHz, c.Channels = "mic0", 43, 16000, 2
	copy(c.Data, []float32{0.5, -0.5, 2, -1})
	sp.Offer(c)
	c.Release()
	// A frame too big for the server (random pixels do not compress).
	big := av.NewFramePool(640, 480, av.BGR24, 1)
	bf := big.Get()
	for i := range bf.Pix {
		bf.Pix[i] = byte(i * 7919 >> 3)
	}
	bf.Stream = "cam1"
	sp.Offer(bf)
	bf.Release()

	got := map[string]*nats.Msg{}
	for len(got) < 2 {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("got %d: %v", len(got), err)
		}
		got[m.Subject] = m
	}
	jm := got["fusion.r.sensor.cam0.jpeg"]
	img, err := jpeg.Decode(bytes.NewReader(jm.Data))
	if err != nil || img.Bounds().Dx() != 64 || img.Bounds().Dy() != 48 || jm.Header.Get(HeaderCaptureTime) != "42" {
		t.Fatalf("jpeg: %v %v %v", err, img, jm.Header)
	}
	am := got["fusion.r.sensor.mic0.pcm16"]
	if len(am.Data) != 8 || int16(binary.LittleEndian.Uint16(am.Data[0:])) != 16384 || int16(binary.LittleEndian.Uint16(am.Data[4:])) != 32767 {
		t.Fatalf("pcm %v", am.Data)
	}
	avtest.Poll(t, "the oversize frame", func() bool { return sp.Stats().Oversize == 1 })
	if !nc.IsConnected() || sp.Stats().Published != 2 {
		t.Fatalf("stats %+v", sp.Stats())
	}
}
