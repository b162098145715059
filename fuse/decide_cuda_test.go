package fuse_test

import (
	"math"
	"testing"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// TestDeciderCUDAMatchesCPU runs the fusion head through the CUDA Dense:
// the same states as on the CPU (logits within float32 rounding), and every
// decision's contributions sum to its logit.
func TestDeciderCUDAMatchesCPU(t *testing.T) {
	gpu := cudaOrSkip(t)
	cfg := fuse.DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60, ChangeBearingDeg: 15, HeartbeatNS: 2e9}
	cfg.Backend = fuse.NewCPU()
	cpu, err := fuse.NewDecider(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Backend = gpu
	cu, err := fuse.NewDecider(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		x := float64(i)
		ev := map[string]float64{"vad_speech_fraction": math.Abs(math.Sin(x / 7)), "vad_score": 5 * math.Sin(x/5), "audio_level_dbfs": -40 + 20*math.Sin(x/9),
			"audio_onsets": float64(i % 3), "doa_bearing_deg": 30 * math.Sin(x/11), "doa_bearing_std_deg": 4, "motion_energy": 0.2 * math.Abs(math.Cos(x/6)),
			"motion_x": 0.5 + 0.4*math.Sin(x/13), "audio_coverage": 1, "video_foreground": 0.05}
		var missing []string
		if i%17 == 5 {
			missing = []string{"video"}
		}
		a, err := cpu.Observe(nil, "r", ev, missing, int64(i)*5e8, av.Stamps{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := cu.Observe(nil, "r", ev, missing, int64(i)*5e8, av.Stamps{})
		if err != nil {
			t.Fatal(err)
		}
		for k, s := range cpu.States() {
			g := cu.States()[k]
			if math.Abs(s.Logit-g.Logit) > 1e-4 || s.Active != g.Active && math.Abs(s.Confidence-0.5) > 0.2 {
				t.Fatalf("interval %d %s: cpu logit %v, cuda %v", i, s.Kind, s.Logit, g.Logit)
			}
		}
		for _, d := range append(a, b...) {
			var sum float64
			for _, c := range d.Contributions {
				sum += c
			}
			if math.Abs(sum-d.Logit) > 1e-12 {
				t.Fatalf("%s: contributions sum %v, logit %v", d.Kind, sum, d.Logit)
			}
		}
	}
}
