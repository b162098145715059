//go:build nosensors

package source

import (
	"errors"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/camera"
	"github.com/seed-4c364652/fusiond/ingest/mic"
)

// TestNotBuilt: in a nosensors build the OpenCV and PortAudio kinds are
// listed and checked as in any other, and opening one says what is
// missing.
func TestNotBuilt(t *testing.T) {
	cfg, err := Parse("", nil, []string{"cameras.0.source=device", "cameras.0.device=0", "microphones.0.source=portaudio"})
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Clock: av.NewVirtualClock(0), Drops: av.NewDrops()}
	if _, err := OpenCamera(cfg.Cameras[0], env); !errors.Is(err, camera.ErrNotBuilt) {
		t.Errorf("camera: %v", err)
	}
	if _, err := OpenMicrophone(cfg.Microphones[0], env); !errors.Is(err, mic.ErrNotBuilt) {
		t.Errorf("microphone: %v", err)
	}
}
