package fusiond

import (
	"time"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
)

// decideConfig returns the decision kinds' configuration for
// ActivityConfig.Decide (nil when fuse.decisions.enabled is off), with the
// configured fusion head loaded: an error names the model file and line.
func decideConfig(cfg *configs.Config) (*fuse.DecideConfig, error) {
	dc := cfg.Fuse.Decisions
	if !dc.Enabled {
		return nil, nil
	}
	m, err := loadModel(dc.Model)
	if err != nil {
		return nil, err
	}
	pose := cameraPose(cfg) // features.go
	camera := ""
	if len(cfg.Cameras) > 0 {
		camera = cfg.Cameras[0].Name
	}
	return &fuse.DecideConfig{Model: m, OnConfidence: dc.OnConfidence, OffConfidence: dc.OffConfidence, MinOffNS: int64(dc.MinOff),
		HeartbeatNS: int64(dc.Heartbeat / time.Nanosecond), ChangeBearingDeg: dc.ChangeBearingDeg,
		HFOVDeg: pose.HFOVDeg, Camera: camera, CameraYawDeg: pose.YawDeg}, nil
}

// loadModel resolves fuse.decisions.model.
func loadModel(name string) (*fuse.Model, error) {
	switch name {
	case "shipped":
		return fuse.ParseModel(configs.ShippedModelPath, configs.ShippedModel)
	case "handset":
		return fuse.DefaultModel(), nil
	}
	return fuse.LoadModel(name)
}
