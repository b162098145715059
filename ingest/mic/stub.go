//go:build nosensors

package mic

import (
	"context"
	"log/slog"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Mic is absent from nosensors builds.
type Mic struct{}

// New returns ErrNotBuilt.
func New(cfg Config, clock av.Clock, drops *av.Drops, log *slog.Logger) (*Mic, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, ErrNotBuilt
}

// Run returns ErrNotBuilt.
func (m *Mic) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	return ErrNotBuilt
}
