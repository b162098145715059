//go:build !nosensors

package vision

import (
	"testing"

	"go.uber.org/goleak"
	"gocv.io/x/gocv"
)

// A frame's cascade passes are matched detectLag frames after their own:
// the face the first band to find it finds is reported that many frames
// later, not on its own frame; Close stops the worker.
func TestPassesMatchedAFrameLater(t *testing.T) {
	defer goleak.VerifyNone(t)
	img := gocv.IMRead(media(t, "messi5.jpg"), gocv.IMReadColor)
	defer img.Close()
	f := matFrame(t, img)
	e, err := New(Config{Width: f.Width, Height: f.Height, DetectWidth: f.Width})
	if err != nil {
		t.Skip(err) // no cascades (opencv-data)
	}
	defer e.Close()
	a, err := e.NewAhead(0, 1) // the same passes, to see which frame's find the face
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	foundAt, reportedAt := -1, -1
	var smallEdge, largeEdge []hit
	for n := range 2 * e.Config().FaceEvery {
		found := 0
		if s := a.Scan(f); s != nil { // its hits grouped as the extractor groups them
			x := a.x
			if _, hi, ok := x.smallSched.band(s.n); ok {
				found += len(x.groupHits(s.small, &smallEdge, x.sw, hi))
			}
			if _, hi, ok := x.largeSched.band(s.n); ok {
				found += len(x.groupHits(s.large, &largeEdge, x.dw, hi))
			}
		}
		if foundAt < 0 && found > 0 {
			foundAt = n
		}
		if v := e.Push(f); reportedAt < 0 && len(v.Faces) > 0 {
			reportedAt = n
		}
	}
	if foundAt < 0 || reportedAt != foundAt+detectLag {
		t.Fatalf("a band found the face on frame %d, reported on frame %d; want %d frame(s) later", foundAt, reportedAt, detectLag)
	}
}
