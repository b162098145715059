//go:build nosensors

package camera_test

import (
	"errors"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/camera"
)

func TestNotBuilt(t *testing.T) {
	_, err := camera.New(camera.Config{Stream: "cam0", Kind: camera.Device, Target: "0"}, av.NewVirtualClock(0), nil)
	if !errors.Is(err, camera.ErrNotBuilt) {
		t.Fatalf("err = %v, want ErrNotBuilt", err)
	}
}
