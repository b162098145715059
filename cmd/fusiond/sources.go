package main

import (
	"context"
	"log/slog"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	sources "github.com/seed-4c364652/fusiond/ingest/source"
)

// newCameraSource builds the source of one configured camera: its kind's
// spec (ingest/source) opens it.
func newCameraSource(cam configs.Camera, clock av.Clock, drops *av.Drops, log *slog.Logger) (source, error) {
	return sources.OpenCamera(cam, sources.Env{Clock: clock, Drops: drops, Log: log})
}

// newMicSource builds the source of one configured microphone.
func newMicSource(m configs.Microphone, clock av.Clock, drops *av.Drops, log *slog.Logger) (source, error) {
	return sources.OpenMicrophone(m, sources.Env{Clock: clock, Drops: drops, Log: log})
}

// failedSource stands in for a source that could not be built: Run
// returns the error.
type failedSource struct{ err error }

func (f failedSource) Run(context.Context, *av.Queue[av.Sample], int64) error { return f.err }
