package fusiond

import (
	"log/slog"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
)

// NewCameraSource builds the source of one configured camera, as a Daemon
// does: its kind's spec (ingest/source) opens it. Its frames are captured
// into mem (the backend's pinned host memory: fuse.HostMemory), or Go
// memory when nil.
func NewCameraSource(cam configs.Camera, clock av.Clock, drops *av.Drops, log *slog.Logger, mem av.HostMemory) (Source, error) {
	return sources.OpenCamera(cam, sources.Env{Clock: clock, Drops: drops, Log: log, Memory: mem})
}

// NewMicSource builds the source of one configured microphone, as a
// Daemon does.
func NewMicSource(m configs.Microphone, clock av.Clock, drops *av.Drops, log *slog.Logger) (Source, error) {
	return sources.OpenMicrophone(m, sources.Env{Clock: clock, Drops: drops, Log: log})
}
