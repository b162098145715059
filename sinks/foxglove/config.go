package foxglove

import (
	"log/slog"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// NewFromConfig returns a view of cfg's cameras and microphones on a new
// server, with the foxglove: section's settings (all but its listen
// address, which the caller listens on). time declares the time
// capability (replay).
func NewFromConfig(cfg *configs.Config, time bool, log *slog.Logger) *View {
	f := cfg.Foxglove
	srv := NewServer(Options{Name: "fusiond " + cfg.Robot, QueueLen: f.QueueCapacity, WriteTimeout: f.WriteTimeout,
		Time: time, Logger: log})
	v := NewView(srv, ViewOptions{ImageWidth: f.ImageWidth, ImageFPS: f.ImageFPS, JPEGQuality: f.JPEGQuality, HFOVDeg: hfovOf(cfg)})
	for _, c := range cfg.Cameras {
		v.AddCamera(av.StreamID(c.Name))
	}
	for _, m := range cfg.Microphones {
		v.AddMicrophone(av.StreamID(m.Name))
	}
	return v
}

// NewAnnotatorFromConfig returns an annotator of cfg's cameras (the
// recorder's: the same drawing as the view's).
func NewAnnotatorFromConfig(cfg *configs.Config) *Annotator { return NewAnnotator(hfovOf(cfg)) }

// hfovOf is each camera's horizontal field of view.
func hfovOf(cfg *configs.Config) map[av.StreamID]float64 {
	hfov := map[av.StreamID]float64{}
	for _, c := range cfg.Cameras {
		hfov[av.StreamID(c.Name)] = cfg.Fuse.Features.CameraHFOVDeg
	}
	return hfov
}
