//go:build !nosensors

package vision

import (
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

const mediaDir = "../../.cache/media/opencv-doc/usr/share/doc/opencv-doc/examples/data"

func newTestExtractor(t testing.TB, cfg Config) *Extractor {
	t.Helper()
	e, err := New(cfg)
	if errors.Is(err, ErrNoCascade) {
		t.Skip("no face cascade: install opencv-data")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// matFrame copies a BGR Mat into a frame.
func matFrame(t testing.TB, m gocv.Mat) *av.Frame {
	t.Helper()
	b := m.ToBytes()
	return &av.Frame{Width: m.Cols(), Height: m.Rows(), Stride: 3 * m.Cols(), Format: av.BGR24, Pix: b}
}

func media(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(mediaDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s: run scripts/fetch-media.sh opencv-doc", p)
	}
	return p
}

// The foreground fraction of a still scene falls to 0; people walking in
// vtest.avi make it rise.
func TestForeground(t *testing.T) {
	e := newTestExtractor(t, Config{Width: 768, Height: 576, FaceEvery: -1})
	vc, err := gocv.VideoCaptureFile(media(t, "vtest.avi"))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	m := gocv.NewMat()
	defer m.Close()
	var fg float64
	for i := 0; i < 120 && vc.Read(&m); i++ {
		v := e.Push(matFrame(t, m))
		if i >= 60 {
			fg += v.Foreground
		}
	}
	t.Logf("vtest.avi: mean foreground %.4f", fg/60)
	if fg/60 < 0.005 {
		t.Errorf("people walking: foreground %.4f", fg/60)
	}
	still := matFrame(t, m)
	var v *Values
	for range 100 {
		v = e.Push(still)
	}
	if v.Foreground > 0.001 {
		t.Errorf("a still frame, 100 times: foreground %.4f", v.Foreground)
	}
}

// messi5.jpg has one face (turned, looking down), left of centre; the
// hand-checked box is in testdata/faces.txt.
func TestFaceInImage(t *testing.T) {
	img := gocv.IMRead(media(t, "messi5.jpg"), gocv.IMReadColor)
	defer img.Close()
	f := matFrame(t, img)
	e := newTestExtractor(t, Config{Width: f.Width, Height: f.Height, HFOVDeg: 60, DetectWidth: f.Width})
	var v *Values
	for range e.Config().FaceEvery + detectLag { // one full pass of the detector, matched
		v = e.Push(f)
	}
	t.Logf("messi5.jpg %dx%d: faces %+v", f.Width, f.Height, v.Faces)
	if !v.Has(FeatFaces) || len(v.Faces) == 0 {
		t.Fatal("no face found")
	}
	var fc, largest Face
	for _, x := range v.Faces {
		if x.Box.Dx()*x.Box.Dy() > largest.Box.Dx()*largest.Box.Dy() {
			largest = x
		}
		if sameFace(x.Box, image.Rect(222, 90, 266, 134)) {
			fc = x
		}
	}
	if fc.ID == 0 {
		t.Fatalf("the face at (222,90)-(266,134) not found: %+v", v.Faces)
	}
	cx := float64(largest.Box.Min.X+largest.Box.Max.X) / 2
	want := math.Atan((cx-float64(f.Width)/2)/(float64(f.Width)/2/math.Tan(math.Pi/6))) * 180 / math.Pi
	if math.Abs(v.FaceBearingDeg-want) > 1e-9 || v.FaceBearingStdDeg <= 0 {
		t.Errorf("bearing %.2f ± %.2f, want %.2f", v.FaceBearingDeg, v.FaceBearingStdDeg, want)
	}
	// Tracked between detections: the same face (its box may take another
	// detection's scale), and no mouth motion on a still image.
	for i := 1; i < 12; i++ {
		v = e.Push(f)
		var same bool
		for _, x := range v.Faces {
			same = same || (x.ID == fc.ID && sameFace(x.Box, fc.Box))
		}
		if !same {
			t.Fatalf("frame %d: faces %+v, want %+v tracked", i, v.Faces, fc)
		}
		if v.Has(FeatMouth) && v.MouthMotion > 0.5 {
			t.Errorf("frame %d: mouth motion %.2f on a still image", i, v.MouthMotion)
		}
	}
}

// shifted returns img translated by (dx, dy), edges replicated.
func shifted(img gocv.Mat, dx, dy int) gocv.Mat {
	out := gocv.NewMat()
	m := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer m.Close()
	m.SetDoubleAt(0, 0, 1)
	m.SetDoubleAt(0, 2, float64(dx))
	m.SetDoubleAt(1, 1, 1)
	m.SetDoubleAt(1, 2, float64(dy))
	gocv.WarpAffineWithParams(img, &out, m, image.Pt(img.Cols(), img.Rows()), gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})
	return out
}

// A head that moves while its mouth stays still gives little mouth
// motion; a mouth that moves gives much more.
func TestMouthMotionCorrectedForHeadMotion(t *testing.T) {
	img := gocv.IMRead(media(t, "messi5.jpg"), gocv.IMReadColor)
	defer img.Close()
	e := newTestExtractor(t, Config{Width: img.Cols(), Height: img.Rows(), FaceEvery: 5, DetectWidth: img.Cols()})
	var v *Values
	for range 5 {
		v = e.Push(matFrame(t, img))
	}
	if len(v.Faces) == 0 {
		t.Skip("no face to test with")
	}
	largest := func(v *Values) Face {
		f := v.Faces[0]
		for _, x := range v.Faces {
			if x.Box.Dx()*x.Box.Dy() > f.Box.Dx()*f.Box.Dy() {
				f = x
			}
		}
		return f
	}
	box := largest(v).Box
	var head, mouth float64
	for i := 1; i <= 8; i++ {
		s := shifted(img, 2*i, i)
		v = e.Push(matFrame(t, s))
		s.Close()
		if !v.Has(FeatMouth) {
			t.Fatalf("head motion frame %d: no mouth motion (faces %+v)", i, v.Faces)
		}
		head += v.MouthMotion
	}
	// Now the mouth region alone changes: a dark bar opens and closes.
	base := shifted(img, 16, 8)
	defer base.Close()
	fb := largest(v).Box
	for i := 1; i <= 8; i++ {
		fr := base.Clone()
		mr := image.Rect(fb.Min.X+fb.Dx()*3/8, fb.Min.Y+fb.Dy()*3/4, fb.Max.X-fb.Dx()*3/8, fb.Min.Y+fb.Dy()*3/4+(i%2)*fb.Dy()/10+1)
		gocv.Rectangle(&fr, mr, color.RGBA{0, 0, 0, 255}, -1)
		v = e.Push(matFrame(t, fr))
		fr.Close()
		if v.Has(FeatMouth) {
			mouth += v.MouthMotion
		}
	}
	t.Logf("face %v: mean mouth motion %.2f with head motion, %.2f with mouth motion", box, head/8, mouth/8)
	if head/8 > 1 || mouth/8 < 3*max(head/8, 0.3) {
		t.Errorf("mouth motion %.2f with the head moving, %.2f with the mouth moving", head/8, mouth/8)
	}
}

// Faces are found in the Megamind clip (animated characters talking).
func TestFacesInClip(t *testing.T) {
	vc, err := gocv.VideoCaptureFile(media(t, "Megamind.avi"))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	m := gocv.NewMat()
	defer m.Close()
	var e *Extractor
	var frames, withFace, mouths int
	for vc.Read(&m) {
		if e == nil {
			e = newTestExtractor(t, Config{Width: m.Cols(), Height: m.Rows()})
		}
		v := e.Push(matFrame(t, m))
		frames++
		if len(v.Faces) > 0 {
			withFace++
		}
		if v.Has(FeatMouth) {
			mouths++
		}
	}
	t.Logf("Megamind.avi: %d frames, %d with a face, %d with mouth motion; %+v", frames, withFace, mouths, e.Counters)
	if frames < 200 || withFace < frames/4 {
		t.Errorf("faces in %d of %d frames", withFace, frames)
	}
}

func TestBadFrames(t *testing.T) {
	good := func(w, h int) *av.Frame {
		return &av.Frame{Width: w, Height: h, Stride: 3 * w, Format: av.BGR24, Pix: make([]byte, 3*w*h)}
	}
	for _, tc := range []struct {
		name     string
		f        *av.Frame
		counter  func(*Counters) uint64
		measured bool // features present
	}{
		{"nil", nil, func(c *Counters) uint64 { return c.Missing }, false},
		{"zero size", &av.Frame{Format: av.BGR24}, func(c *Counters) uint64 { return c.BadFrame }, false},
		{"no pixels", &av.Frame{Width: 64, Height: 48, Stride: 192, Format: av.BGR24}, func(c *Counters) uint64 { return c.BadFrame }, false},
		{"short pixels", &av.Frame{Width: 64, Height: 48, Stride: 192, Format: av.BGR24, Pix: make([]byte, 100)}, func(c *Counters) uint64 { return c.BadFrame }, false},
		{"unknown format", &av.Frame{Width: 64, Height: 48, Stride: 192, Pix: make([]byte, 192*48)}, func(c *Counters) uint64 { return c.BadFrame }, false},
		{"tiny", good(8, 8), func(c *Counters) uint64 { return c.BadFrame }, false},
		{"odd size", good(641, 479), func(c *Counters) uint64 { return c.ResolutionMismatch }, true},
		{"other resolution", good(320, 240), func(c *Counters) uint64 { return c.ResolutionMismatch }, true},
		{"padded stride", &av.Frame{Width: 64, Height: 48, Stride: 200, Format: av.BGR24, Pix: make([]byte, 200*48)}, func(c *Counters) uint64 { return c.ResolutionMismatch }, true},
		{"gray", &av.Frame{Width: 64, Height: 48, Stride: 64, Format: av.Gray8, Pix: make([]byte, 64*48)}, func(c *Counters) uint64 { return c.ResolutionMismatch }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestExtractor(t, Config{Width: 640, Height: 480})
			var v *Values
			for range 3 {
				v = e.Push(tc.f)
			}
			if tc.counter(&e.Counters) == 0 {
				t.Errorf("not counted: %+v", e.Counters)
			}
			if v.Has(FeatForeground) != tc.measured {
				t.Errorf("foreground present %v, want %v", v.Has(FeatForeground), tc.measured)
			}
			if !tc.measured && (v.Has(FeatFaces) || v.Has(FeatMouth)) {
				t.Error("faces from a bad frame")
			}
		})
	}
	// Alternating sizes restart the state each time, without a panic.
	e := newTestExtractor(t, Config{Width: 640, Height: 480})
	for i := range 6 {
		e.Push(good(64+16*(i%2), 48))
	}
	if e.Counters.Restarts != 5 {
		t.Errorf("restarts %d, want 5", e.Counters.Restarts)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{}, {Width: 640, Height: 480, HFOVDeg: 200}, {Width: 640, Height: 480, DetectWidth: 10}, {Width: 640, Height: 480, Cascades: []Cascade{{Path: "/nonexistent.xml"}}}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// The speaker candidate keeps its identity: only a face found twice and
// more than twice its area replaces it, and a small face found once never
// becomes it.
func TestSpeakerCandidate(t *testing.T) {
	sq := func(x, side int) image.Rectangle { return image.Rect(x, 10, x+side, 10+side) }
	for _, tc := range []struct {
		name    string
		speaker uint64
		faces   []track
		want    uint64
	}{
		{"none", 0, nil, 0},
		{"small face found once", 0, []track{{id: 1, box: sq(0, 20), hits: 1}}, 0},
		{"small face found twice", 0, []track{{id: 1, box: sq(0, 20), hits: 2}}, 1},
		{"large face found once", 0, []track{{id: 1, box: sq(0, 30), hits: 1}}, 1},
		{"largest of the eligible", 0, []track{{id: 1, box: sq(0, 30), hits: 2}, {id: 2, box: sq(50, 60), hits: 1}, {id: 3, box: sq(120, 22), hits: 1}}, 2},
		{"kept beside a larger face", 1, []track{{id: 1, box: sq(0, 40), hits: 2}, {id: 2, box: sq(50, 55), hits: 5}}, 1},
		{"kept beside a face found once", 1, []track{{id: 1, box: sq(0, 30), hits: 2}, {id: 2, box: sq(50, 90), hits: 1}}, 1},
		{"replaced by one twice its area", 1, []track{{id: 1, box: sq(0, 30), hits: 2}, {id: 2, box: sq(50, 45), hits: 2}}, 2},
		{"lost: the largest eligible", 7, []track{{id: 1, box: sq(0, 30), hits: 2}, {id: 2, box: sq(50, 45), hits: 2}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Extractor{faces: tc.faces, speaker: tc.speaker, minFace: 12}
			i := e.candidate()
			var got uint64
			if i >= 0 {
				got = e.faces[i].id
			}
			if got != tc.want || e.speaker != tc.want {
				t.Errorf("candidate %d (speaker %d), want %d", got, e.speaker, tc.want)
			}
		})
	}
}

// The cameras of one daemon start their detector cycles apart
// (CyclePhase), so that their small-face passes, the costly ones, fall on
// different frames; one camera alone starts at 0, as before.
func TestCyclePhaseSpreadsTheCostlyPasses(t *testing.T) {
	for _, c := range []struct{ i, n, every, want int }{
		{0, 1, 15, 0}, {0, 4, 15, 0}, {1, 4, 15, 11}, {2, 4, 15, 22}, {3, 4, 15, 33}, {1, 2, 15, 22}, {1, 4, -1, 0},
	} {
		if got := CyclePhase(c.i, c.n, c.every); got != c.want {
			t.Errorf("CyclePhase(%d, %d, %d) = %d, want %d", c.i, c.n, c.every, got, c.want)
		}
	}
	const cameras = 4
	var es []*Extractor
	for i := range cameras {
		e := newTestExtractor(t, Config{Width: 640, Height: 480, FaceEvery: 15, Phase: CyclePhase(i, cameras, 15)})
		e.Push(&av.Frame{Width: 640, Height: 480, Stride: 640, Format: av.Gray8, Pix: make([]byte, 640*480)})
		es = append(es, e)
	}
	costly := 0
	for frame := range uint64(smallCycles * 15) { // frame numbers of the daemon, from the first
		n := 0
		for _, e := range es {
			if _, _, ok := e.smallSched.band(uint64(e.cfg.Phase) + frame); ok {
				n++
			}
		}
		if n > 1 {
			t.Errorf("frame %d: %d cameras scan small faces", frame, n)
		}
		costly += n
	}
	if costly == 0 {
		t.Fatal("no camera scanned small faces: the test sees nothing")
	}
}
