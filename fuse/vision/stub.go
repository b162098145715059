//go:build nosensors

package vision

import (
	"errors"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// ErrNotBuilt is returned by New in nosensors builds, which link no OpenCV.
var ErrNotBuilt = errors.New("vision: built with the nosensors tag (no OpenCV)")

// Extractor is absent from nosensors builds.
type Extractor struct{ v Values }

// New returns ErrNotBuilt.
func New(cfg Config) (*Extractor, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return nil, ErrNotBuilt
}

// Push returns no features.
func (e *Extractor) Push(*av.Frame) *Values { return &e.v }

// PushFrame adds nothing.
func (e *Extractor) PushFrame(*av.Frame, map[string]float64) {}

// Close does nothing.
func (e *Extractor) Close() error { return nil }

// Ahead is absent from nosensors builds.
type Ahead struct{}

// Scanned is absent from nosensors builds.
type Scanned struct{}

// NewAhead returns ErrNotBuilt.
func (e *Extractor) NewAhead(k, n int) (*Ahead, error) { return nil, ErrNotBuilt }

// Scan returns nil.
func (a *Ahead) Scan(*av.Frame) *Scanned { return nil }

// Close does nothing.
func (a *Ahead) Close() error { return nil }

// UseScan does nothing.
func (e *Extractor) UseScan(*Scanned) {}

// SetOpenCVThreads does nothing.
func SetOpenCVThreads(int) {}

// OpenCVThreads returns 1.
func OpenCVThreads() int { return 1 }
