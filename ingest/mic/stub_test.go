//go:build nosensors

package mic_test

import (
	"errors"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/mic"
)

func TestNotBuilt(t *testing.T) {
	_, err := mic.New(mic.Config{Stream: "mic0", RateHz: 16000, Channels: 1, ChunkFrames: 160}, av.NewVirtualClock(0), nil, nil)
	if !errors.Is(err, mic.ErrNotBuilt) {
		t.Fatalf("err = %v, want ErrNotBuilt", err)
	}
}
