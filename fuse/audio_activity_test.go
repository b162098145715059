package fuse

import (
	"testing"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// With AudioFeatures set, activity decisions carry the audio features in
// their evidence, and the logit is what it was without them.
func TestActivityAudioEvidence(t *testing.T) {
	src := synthAudio(t, synthetic.AudioConfig{RateHz: 48000, Channels: 2, NoiseDBFS: -60, ChannelDelay: 250 * time.Microsecond,
		Events: []synthetic.AudioEvent{{Kind: "speech", Duration: 3 * time.Second, LevelDBFS: -14}}})
	cfg := testConfig()
	cfg.IntervalNS = 500 * ms
	with := cfg
	with.AudioFeatures = &AudioConfig{RateHz: 48000, Channels: 2, DOA: stereoArray}
	run := func(cfg ActivityConfig) []*av.Decision {
		a, err := NewActivity(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var out []*av.Decision
		emit := func(d *av.Decision) { out = append(out, d) }
		for k := 3; k < 90; k++ {
			end := int64(k) * 1600
			data := make([]float32, 2*4800)
			src.Fill(end-4800, data)
			b := &av.Bundle{TimeNS: av.FramesToNS(end, 48000), Audio: av.AudioSlice{RateHz: 48000, Channels: 2, Data: data, Covered: 4800, StartNS: av.FramesToNS(end-4800, 48000)}, Missing: []av.Modality{av.Video}}
			a.Push(b, emit)
		}
		a.Flush(emit)
		return out
	}
	plain, feat := run(cfg), run(with)
	if len(plain) != len(feat) || len(feat) < 5 {
		t.Fatalf("%d and %d decisions", len(plain), len(feat))
	}
	for i, d := range feat {
		if d.Logit != plain[i].Logit {
			t.Errorf("decision %d: logit %v with features, %v without", i, d.Logit, plain[i].Logit)
		}
		if _, ok := plain[i].Evidence["vad_speech_fraction"]; ok {
			t.Error("audio features without AudioFeatures")
		}
	}
	last := feat[len(feat)-2].Evidence
	if last["vad_speech_fraction"] < 0.9 || last["doa_bearing_deg"] > -55 || last["doa_bearing_deg"] < -63 {
		t.Errorf("evidence %v", last)
	}
	pitched := 0
	for _, d := range feat {
		if hz, ok := d.Evidence["audio_pitch_hz"]; ok && hz > 120 && hz < 170 {
			pitched++
		}
	}
	if pitched == 0 {
		t.Error("no decision carries the speech's pitch")
	}
}
