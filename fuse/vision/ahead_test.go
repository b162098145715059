//go:build !nosensors

package vision

import (
	"fmt"
	"image"
	"reflect"
	"testing"

	"gocv.io/x/gocv"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// The passes made ahead, in one part or spread over two or three, give the
// features Push computes alone, byte for byte, on a clip with faces, at
// 640×480 (both schedules: small faces on the full frame, larger ones at
// the detection width) and at the clip's own size, across a change of
// size, a nil and a malformed frame; a Scanned of another frame is
// ignored.
func TestAheadMatchesPush(t *testing.T) {
	vc, err := gocv.VideoCaptureFile(media(t, "Megamind.avi"))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	m, s := gocv.NewMat(), gocv.NewMat()
	defer m.Close()
	defer s.Close()
	var frames []*av.Frame
	for len(frames) < 150 && vc.Read(&m) {
		if len(frames) >= 100 { // a change of size
			frames = append(frames, matFrame(t, m))
			continue
		}
		gocv.Resize(m, &s, image.Pt(640, 480), 0, 0, gocv.InterpolationLinear)
		frames = append(frames, matFrame(t, s))
	}
	frames[20] = nil
	frames[30] = &av.Frame{Width: 640, Height: 480, Stride: 1920, Format: av.BGR24, Pix: make([]byte, 10)}
	cfg := Config{Width: 640, Height: 480, FaceEvery: 5}

	alone := newTestExtractor(t, cfg)
	var want []Values
	detections := 0
	for _, f := range frames {
		v := *alone.Push(f)
		v.Faces = append([]Face(nil), v.Faces...)
		detections += len(v.Faces)
		want = append(want, v)
	}
	if detections == 0 {
		t.Fatal("no face in the clip: the test would prove nothing")
	}
	for _, parts := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("parts%d", parts), func(t *testing.T) {
			e := newTestExtractor(t, cfg)
			var aheads []*Ahead
			for k := range parts {
				a, err := e.NewAhead(k, parts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { a.Close() })
				aheads = append(aheads, a)
			}
			scanned := 0
			for i, f := range frames {
				var sc *Scanned
				for _, a := range aheads {
					if x := a.Scan(f); x != nil {
						if sc != nil {
							t.Fatalf("frame %d scanned by two parts", i)
						}
						sc = x
					}
				}
				if i == 50 { // another frame's passes: ignored
					sc = aheads[0].x.scanFor(frames[i-1])
				}
				if sc != nil {
					scanned++
				}
				e.UseScan(sc)
				got := *e.Push(f)
				got.Faces = append([]Face(nil), got.Faces...)
				if !reflect.DeepEqual(got, want[i]) {
					t.Fatalf("frame %d: %+v with passes made ahead, %+v alone", i, got, want[i])
				}
			}
			if scanned < len(frames)-3 || e.usedPre != uint64(scanned-1) {
				t.Errorf("%d of %d frames scanned ahead, %d of them used", scanned, len(frames), e.usedPre)
			}
			if e.Counters != alone.Counters {
				t.Errorf("counters %+v, alone %+v", e.Counters, alone.Counters)
			}
		})
	}
}

// scanFor is a Scanned naming frame f, for a test of the guard.
func (x *Extractor) scanFor(f *av.Frame) *Scanned {
	return &Scanned{owner: x, frame: f, w: 640, h: 480}
}
