//go:build !nosensors

package vision

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const goldenVision = "../../testdata/features/vision_synthetic.jsonl"

// The demo camera (a disc on a noisy background, visible 4 s of every 6 s)
// through the extractor: every fifth frame's evidence, rounded to 4
// significant digits.
func TestGoldenVisionFeatures(t *testing.T) {
	src, err := synthetic.NewVideo(synthetic.VideoConfig{Stream: "cam0", Width: 320, Height: 240, FPS: 30, Seed: 1, NoiseAmplitude: 12,
		VisiblePeriod: 6e9, VisibleFor: 4e9}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestExtractor(t, Config{Width: 320, Height: 240})
	f := &av.Frame{Width: 320, Height: 240, Stride: 960, Format: av.BGR24, Pix: make([]byte, 320*240*3)}
	var b strings.Builder
	for seq := uint64(0); seq < 210; seq++ {
		src.Render(seq, f)
		v := e.Push(f)
		if seq%5 != 0 {
			continue
		}
		ev := map[string]float64{}
		v.Evidence(ev)
		for k, x := range ev {
			if x != 0 {
				p := math.Pow(10, 4-math.Ceil(math.Log10(math.Abs(x))))
				ev[k] = math.Round(x*p) / p
			}
		}
		line, _ := json.Marshal(struct {
			Frame    uint64             `json:"frame"`
			Evidence map[string]float64 `json:"evidence"`
		}{seq, ev})
		b.Write(line)
		b.WriteByte('\n')
	}
	if *update {
		if err := os.WriteFile(goldenVision, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenVision)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != b.String() {
		t.Errorf("%s differs (rerun with -update if intended):\n%s", goldenVision, b.String())
	}
}
