package source

import (
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
)

// cameraSynthetic renders a bright disc moving on a noisy background
// (ingest/synthetic): the built-in default camera. Open returns the
// *synthetic.Video itself.
var cameraSynthetic = register(&Spec{
	Modality: Camera,
	Kind:     "synthetic",
	Doc:      "A bright disc moving on a noisy dark background, rendered deterministically from a seed.",
	Keys: []Key{
		{Name: "synthetic.seed", Type: Int, Default: "1", Min: "0", Doc: "Seed of the background noise."},
		{Name: "synthetic.shape_radius", Type: Int, Default: "0", Min: "0", Max: "4096", Unit: "px", Doc: "Disc radius (0: height/8)."},
		{Name: "synthetic.speed_px_per_s", Type: Float, Default: "0", Min: "0", Unit: "px/s", Doc: "Disc speed (0: width/4 per second)."},
		{Name: "synthetic.visible_period", Type: Duration, Default: "6s", Min: "0s", Doc: "The disc's appear/disappear cycle (0s: always visible)."},
		{Name: "synthetic.visible_for", Type: Duration, Default: "4s", Min: "0s", Doc: "How long the disc is visible at the start of each period."},
		{Name: "synthetic.noise_amplitude", Type: Int, Default: "12", Min: "0", Max: "255", Unit: "grey levels", Doc: "Background noise, ± around a dark grey."},
	},
	Check: func(v Values) []Problem {
		if p, f := v.Duration("synthetic.visible_period"), v.Duration("synthetic.visible_for"); p > 0 && f > p {
			return []Problem{{Key: "synthetic.visible_for", Msg: f.String() + " must lie within visible_period " + p.String()}}
		}
		return nil
	},
	Open: func(e Entry, v Values, env Env) (Source, error) {
		return synthetic.NewVideo(synthetic.VideoConfig{
			Stream: av.StreamID(e.Name), Width: e.Width, Height: e.Height, FPS: e.FPS,
			Seed:           uint64(v.Int("synthetic.seed")),
			ShapeRadius:    v.Int("synthetic.shape_radius"),
			SpeedPxPerS:    v.Float("synthetic.speed_px_per_s"),
			VisiblePeriod:  v.Duration("synthetic.visible_period"),
			VisibleFor:     v.Duration("synthetic.visible_for"),
			NoiseAmplitude: v.Int("synthetic.noise_amplitude"),
			Memory:         env.Memory,
		}, env.Clock)
	},
})
