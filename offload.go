package fusiond

import (
	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
)

// DecideConfig is the decision kinds' configuration of cfg, its model
// loaded (nil when fuse.decisions.enabled is off): what a fusion worker
// (sinks/worker) fuses offloaded robots with.
func DecideConfig(cfg *configs.Config) (*fuse.DecideConfig, error) { return decideConfig(cfg) }
