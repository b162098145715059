//go:build !nosensors

package camera_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/camera"
)

// opencvDoc holds opencv-doc's sample clips (scripts/fetch-media.sh).
const opencvDoc = "../../.cache/media/opencv-doc/usr/share/doc/opencv-doc/examples/data"

func realClip(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(opencvDoc, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s: run scripts/fetch-media.sh opencv-doc (make test does)", p)
	}
	return p
}

// TestRealClips decodes real recordings through the file camera: every
// frame, its size, and capture times on the file's time line.
func TestRealClips(t *testing.T) {
	defer goleak.VerifyNone(t)
	checkMats(t)
	for _, tc := range []struct {
		name          string
		frames        int
		width, height int
		fps           float64
	}{
		{"vtest.avi", 795, 768, 576, 10},              // people walking
		{"Megamind.avi", 270, 720, 528, 2997.0 / 125}, // speaking characters
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, err := runCamera(t, camera.Config{Stream: "cam0", Kind: camera.File, Target: realClip(t, tc.name)}, av.NewVirtualClock(0))
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) != tc.frames {
				t.Fatalf("%d frames, want %d", len(frames), tc.frames)
			}
			if d := frames[0].CaptureNS - 1e9; d < 0 || float64(d) > 1e9/tc.fps+1e6 {
				t.Fatalf("frame 0 captured %d ns after the stream start, want within one frame", d)
			}
			for i, f := range frames {
				if f.Width != tc.width || f.Height != tc.height || f.Format != av.BGR24 {
					t.Fatalf("frame %d: %dx%d %v", i, f.Width, f.Height, f.Format)
				}
				// Frame i at its position in the file. An AVI with
				// B-frames (Megamind) carries decode times only, and its
				// first frame comes out stamped one frame late, as ffprobe
				// reports it too: allow that constant.
				want := frames[0].CaptureNS + int64(float64(i)*1e9/tc.fps)
				if d := f.CaptureNS - want; d < -2e6 || d > 2e6 {
					t.Fatalf("frame %d captured at %d, want %d", i, f.CaptureNS, want)
				}
			}
			// Real footage: frames differ from one another.
			a, b := frames[0].Pix, frames[len(frames)/2].Pix
			diff := 0
			for i := range a {
				if a[i] != b[i] {
					diff++
				}
			}
			if diff < len(a)/10 {
				t.Fatalf("frames 0 and %d differ in %d of %d bytes", len(frames)/2, diff, len(a))
			}
		})
	}
}
