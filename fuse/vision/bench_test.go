//go:build !nosensors

package vision

import (
	"fmt"
	"image"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"
	"gorgonia.org/tensor"

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
	cpu0 := cpuTime()
	for b.Loop() {
		if phase >= 0 {
			e.frameN = uint64(phase)
		}
		faces += len(e.Push(frames[i%len(frames)]).Faces)
		i++
	}
	b.ReportMetric(float64(faces)/float64(b.N), "faces/frame")
	cpu := (cpuTime() - cpu0).Seconds() * 1000 / float64(b.N)
	b.ReportMetric(cpu, "cpu-ms/frame")
	b.ReportMetric(cpu*30/10, "%core@30fps")
}

// cpuTime is the process's CPU time so far, OpenCV's threads included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
	grids, prev, diffs := []*tensor.Dense{fuse.Vector(make([]float32, n))}, []*tensor.Dense{fuse.Vector(make([]float32, n))}, []*tensor.Dense{fuse.Vector(make([]float32, n))}
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

// All visual features per 640×480 frame (the mean over the detector's
// cycle) with each face schedule and choice of cascades: "before" is the
// detector before issue 13 (faces from 48 px: the LBP cascade on the frame
// scaled to 320 px wide, a pass over 10 frames, the daemon's face_every
// then), "off" no faces; the others find faces from 24 px with the cascades
// named, a pass over every N frames. The face path's cost is a run's less
// "off".
func BenchmarkFaceSchedule640x480(b *testing.B) {
	lbp, alt2, prof, profM := Cascade{Path: CascadeLBPFrontal}, Cascade{Path: CascadeHaarAlt2}, Cascade{Path: CascadeHaarProfile}, Cascade{Path: CascadeHaarProfile, Mirrored: true}
	type run struct {
		name string
		cfg  Config
	}
	runs := []run{{"off", Config{FaceEvery: -1}}, {"before", beforeConfig}}
	for _, n := range []int{10, 15, 20} {
		runs = append(runs, run{fmt.Sprintf("lbp/every%d", n), Config{FaceEvery: n}})
	}
	runs = append(runs,
		run{"lbp+profile2/every15", Config{FaceEvery: 15, Cascades: []Cascade{lbp, prof, profM}}},
		run{"lbp+alt2/every15", Config{FaceEvery: 15, Cascades: []Cascade{lbp, alt2}}})
	for _, r := range runs {
		b.Run(r.name, func(b *testing.B) { benchVision(b, r.cfg, -1) })
	}
}
