//go:build !nosensors

package vision

import (
	"fmt"
	"image"
	"testing"

	"gocv.io/x/gocv"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// clipFrames returns n frames of Megamind.avi (faces talking) scaled to
// 640×480, the bundle frame.
func clipFrames(b *testing.B, n int) []*av.Frame {
	vc, err := gocv.VideoCaptureFile(media(b, "Megamind.avi"))
	if err != nil {
		b.Fatal(err)
	}
	defer vc.Close()
	m, s := gocv.NewMat(), gocv.NewMat()
	defer m.Close()
	defer s.Close()
	var out []*av.Frame
	for len(out) < n && vc.Read(&m) {
		gocv.Resize(m, &s, image.Pt(640, 480), 0, 0, gocv.InterpolationLinear)
		out = append(out, matFrame(b, s))
	}
	return out
}

// benchVision runs the extractor over the clip; phase ≥ 0 pins every frame
// to that position of the detector's cycle (that band of face sizes).
func benchVision(b *testing.B, cfg Config, phase int) {
	frames := clipFrames(b, 40)
	cfg.Width, cfg.Height = 640, 480
	e := newTestExtractor(b, cfg)
	for _, f := range frames[:10] {
		e.Push(f)
	}
	faces := 0
	b.ReportAllocs()
	i := 10
	for b.Loop() {
		if phase >= 0 {
			e.frameN = uint64(phase)
		}
		faces += len(e.Push(frames[i%len(frames)]).Faces)
		i++
	}
	b.ReportMetric(float64(faces)/float64(b.N), "faces/frame")
}

// All visual features per 640×480 frame, the detector's pass spread over 5
// frames.
func BenchmarkVision640x480(b *testing.B) { benchVision(b, Config{}, -1) }

// Each position of the detector's 5-frame cycle on its own: the slowest
// is the p99 of a steady stream, every position being 20 % of frames.
func BenchmarkVisionCycleFrame640x480(b *testing.B) {
	for k := range 5 {
		b.Run(fmt.Sprintf("band%d", k), func(b *testing.B) { benchVision(b, Config{}, k) })
	}
}

// Motion, MOG2 and the frame conversions alone (face detection off).
func BenchmarkVisionNoFaces640x480(b *testing.B) { benchVision(b, Config{FaceEvery: -1}, -1) }

// The motion grid alone, on the Backend.
func BenchmarkVisionMotionGrid640x480(b *testing.B) {
	frames := clipFrames(b, 2)
	be := fuse.NewCPU()
	n := 80 * 60
	grids, prev, diffs := [][]float32{make([]float32, n)}, [][]float32{make([]float32, n)}, [][]float32{make([]float32, n)}
	f := frames[0]
	refs := []fuse.FrameRef{{Pix: f.Pix, Width: f.Width, Height: f.Height, Stride: f.Stride, Format: f.Format}}
	b.ReportAllocs()
	for b.Loop() {
		if err := be.MotionGrids(refs, 8, grids, prev, diffs); err != nil {
			b.Fatal(err)
		}
	}
}

// MOG2 on the 160×120 image it runs on.
func BenchmarkVisionMOG2(b *testing.B) {
	frames := clipFrames(b, 20)
	mog := gocv.NewBackgroundSubtractorMOG2WithParams(500, 16, true)
	defer mog.Close()
	var smalls []gocv.Mat
	for _, f := range frames {
		img, _ := gocv.NewMatFromBytes(480, 640, gocv.MatTypeCV8UC3, f.Pix)
		s := gocv.NewMat()
		gocv.Resize(img, &s, image.Pt(160, 120), 0, 0, gocv.InterpolationArea)
		img.Close()
		smalls = append(smalls, s)
	}
	mask := gocv.NewMat()
	defer mask.Close()
	i := 0
	for b.Loop() {
		mog.Apply(smalls[i%len(smalls)], &mask)
		i++
	}
	for _, s := range smalls {
		s.Close()
	}
}

// Mouth motion of one 80×80 face (160×160 in the frame) on 320×240 luma.
func BenchmarkVisionMouth(b *testing.B) {
	cur, prev := make([]byte, 320*240), make([]byte, 320*240)
	for i := range cur {
		cur[i], prev[i] = byte(i*7), byte(i*13)
	}
	box := image.Rect(120, 80, 200, 160)
	b.ReportAllocs()
	for b.Loop() {
		mouthMotion(cur, prev, 320, 240, box, box.Add(image.Pt(2, 1)))
	}
}

// All visual features per 640×480 frame with each choice of face
// cascades, one detector pass spread over 10 frames (the daemon's
// face_every), the mean over the cycle: "today" (the default) is the LBP frontal cascade
// on the frame scaled to 320 px wide (faces from 48 px), the others scan
// the full frame (faces from 24 px, Config.SmallFaces).
func BenchmarkFaceCascades640x480(b *testing.B) {
	lbp, alt2, prof, profM := Cascade{Path: CascadeLBPFrontal}, Cascade{Path: CascadeHaarAlt2}, Cascade{Path: CascadeHaarProfile}, Cascade{Path: CascadeHaarProfile, Mirrored: true}
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"today", Config{}},
		{"lbp", Config{Cascades: []Cascade{lbp}}.SmallFaces()},
		{"lbp+profile2", Config{Cascades: []Cascade{lbp, prof, profM}}.SmallFaces()},
		{"lbp+alt2", Config{Cascades: []Cascade{lbp, alt2}}.SmallFaces()},
		{"lbp+alt2+profile2", Config{Cascades: []Cascade{lbp, alt2, prof, profM}}.SmallFaces()},
	} {
		c.cfg.FaceEvery = 10
		b.Run(c.name, func(b *testing.B) { benchVision(b, c.cfg, -1) })
	}
}
