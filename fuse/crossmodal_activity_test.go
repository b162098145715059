package fuse

import (
	"math"
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// fakeFace is a face at a fixed bearing whose mouth moves while the
// synthetic speaker talks.
type fakeFace struct {
	bearing float64
	src     *synthetic.Audio
	closed  bool
}

func (f *fakeFace) PushFrame(fr *av.Frame, ev map[string]float64) {
	open := 0.5
	if _, on := f.src.ActiveAt(time.Duration(fr.CaptureNS)); on {
		open = 6
	}
	ev["faces"] = 1
	ev["face_bearing_deg"], ev["face_bearing_std_deg"] = f.bearing, 3
	ev["mouth_motion"] = open
}

func (f *fakeFace) Close() error { f.closed = true; return nil }

func TestActivityCrossModal(t *testing.T) {
	// Phrases at irregular times: a periodic signal would match itself
	// shifted by its period, and no alignment would stand out.
	var events []synthetic.AudioEvent
	for _, p := range [][2]int{{1000, 1600}, {2100, 2400}, {3000, 4200}, {4900, 5200}, {5600, 6800}, {7100, 7400}} {
		events = append(events, synthetic.AudioEvent{Kind: "speech", At: time.Duration(p[0]) * time.Millisecond, Duration: time.Duration(p[1]-p[0]) * time.Millisecond, LevelDBFS: -14})
	}
	src := synthAudio(t, synthetic.AudioConfig{RateHz: 48000, Channels: 2, NoiseDBFS: -60, ChannelDelay: 250 * time.Microsecond, Events: events})
	for _, tc := range []struct {
		bearing    float64
		agreeAbove float64
		agreeBelow float64
	}{{-59, 0.5, 1.01}, {30, -1, 0.01}} {
		face := &fakeFace{bearing: tc.bearing, src: src}
		cfg := testConfig()
		cfg.IntervalNS = 500 * ms
		cfg.AudioFeatures = &AudioConfig{RateHz: 48000, Channels: 2, DOA: stereoArray}
		cfg.Visual, cfg.CrossModal = face, &SynchronyConfig{}
		a, err := NewActivity(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var out []*av.Decision
		emit := func(d *av.Decision) { out = append(out, d) }
		for k := 3; k < 240; k++ {
			end := int64(k) * 1600
			data := make([]float32, 2*4800)
			src.Fill(end-4800, data)
			tns := av.FramesToNS(end, 48000)
			f := grayFrame(0, 0)
			f.CaptureNS = tns
			a.Push(&av.Bundle{TimeNS: tns, Frame: f, Audio: av.AudioSlice{RateHz: 48000, Channels: 2, Data: data, Covered: 4800, StartNS: av.FramesToNS(end-4800, 48000)}}, emit)
		}
		a.Flush(emit)
		ev := out[len(out)-3].Evidence // 7 s
		t.Logf("face at %v°: %v", tc.bearing, ev)
		if ev["av_sync_z"] < 2 || math.Abs(ev["av_sync_lag_ms"]) > 100 || ev["faces"] != 1 {
			t.Errorf("synchrony z %v lag %v ms, faces %v", ev["av_sync_z"], ev["av_sync_lag_ms"], ev["faces"])
		}
		if g, ok := ev["av_bearing_agreement"]; !ok || g <= tc.agreeAbove || g >= tc.agreeBelow {
			t.Errorf("face at %v°, sound at %v°: agreement %v (present %v)", tc.bearing, ev["doa_bearing_deg"], g, ok)
		}
		if err := a.Close(); err != nil || !face.closed {
			t.Error("Close did not close the visual features")
		}
	}
}
