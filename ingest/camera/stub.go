//go:build nosensors

package camera

import (
	"context"
	"log/slog"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Camera is absent from nosensors builds.
type Camera struct{}

// New returns ErrNotBuilt.
func New(cfg Config, clock av.Clock, log *slog.Logger) (*Camera, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, ErrNotBuilt
}

// Run returns ErrNotBuilt.
func (c *Camera) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	return ErrNotBuilt
}
