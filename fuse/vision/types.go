package vision

import (
	"errors"
	"fmt"
	"image"

	"github.com/seed-4c364652/fusiond/fuse"
)

// Cascade is one face cascade file the detector runs.
type Cascade struct {
	Path string
	// Mirrored runs the cascade on the frame flipped left to right: the
	// profile cascades are trained on faces turned one way only.
	Mirrored bool
}

// Debian's opencv-data cascades.
const (
	CascadeLBPFrontal     = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml"
	CascadeHaarFrontalAlt = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml"
	CascadeHaarAlt2       = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"
	CascadeHaarDefault    = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
	CascadeHaarProfile    = "/usr/share/opencv4/haarcascades/haarcascade_profileface.xml"
)

// DefaultCascades are the cascades run by default, chosen by their measured
// recall on the training photographs (TestFaceGrid, scale step 1.1, 2
// neighbours; faces of 24/48/96 px and LFW at 24 px) and their cost
// (BenchmarkFaceSchedule640x480, face pass over 15 frames): LBP alone finds
// 0.50/0.88/0.88 and 0.58 for a face path of 3.7 ms per 640×480 frame;
// adding the Haar profile cascade, both sides, finds 1.00/0.88/1.00 and
// 0.66 for 33 ms (9×), the Haar frontal alt2 cascade 0.62/1.00/1.00 and
// 0.72 for 12.6 ms (3.4×) with 4 times the false positives: both far
// outside the CPU budget; add them (face_cascades) for a camera that sees
// turned faces and has the CPU. (lbpcascade_frontalface_improved finds no
// face in the sample images.)
var DefaultCascades = []Cascade{
	{Path: CascadeLBPFrontal},
}

// cascadeNames are the names configurations give the cascades.
var cascadeNames = map[string][]Cascade{
	"lbp_frontal":          {{Path: CascadeLBPFrontal}},
	"haar_frontal_alt":     {{Path: CascadeHaarFrontalAlt}},
	"haar_frontal_alt2":    {{Path: CascadeHaarAlt2}},
	"haar_frontal_default": {{Path: CascadeHaarDefault}},
	"haar_profile":         {{Path: CascadeHaarProfile}, {Path: CascadeHaarProfile, Mirrored: true}},
}

// CascadesByName returns the cascades of the given names, in order:
// lbp_frontal, haar_frontal_alt, haar_frontal_alt2, haar_frontal_default
// and haar_profile (faces turned either way: the cascade on the frame and
// on its mirror image). Nil names give nil (the defaults).
func CascadesByName(names []string) ([]Cascade, error) {
	var out []Cascade
	for _, n := range names {
		cs, ok := cascadeNames[n]
		if !ok {
			return nil, fmt.Errorf("%w: unknown face cascade %q", fuse.ErrConfig, n)
		}
		out = append(out, cs...)
	}
	return out, nil
}

// DefaultFaceEvery is the detector's default cycle in frames, chosen by
// its cost (BenchmarkFaceSchedule640x480) and TestSynchronyOnMegamind:
// with faces from 24 px the face path costs 1.2–1.7 times what the
// detector before issue 13 cost over 10 frames with faces from 48 px
// (20 frames: 1.0–1.3 times, but the synchrony test fails).
const DefaultFaceEvery = 15

// cascadeWindow is the largest training window of Debian's face cascades
// (24 px; the Haar alt and profile cascades are 20 px).
const cascadeWindow = 24

// ErrNoCascade is returned when no face cascade could be loaded.
var ErrNoCascade = errors.New("vision: no face cascade could be loaded (install opencv-data)")

// Config configures an Extractor. Zero values take the defaults in
// brackets.
type Config struct {
	// Width and Height are the configured camera resolution. Frames of
	// another size are processed all the same (state restarts at each
	// change) and counted.
	Width, Height int
	// HFOVDeg is the camera's horizontal field of view [60].
	HFOVDeg float64
	// FaceEvery spreads one pass of the face detector over the faces of
	// 24 px and more at DetectWidth over this many frames, and one over the
	// smaller ones (from MinFacePx) over smallCycles times as many, tracking
	// and verifying faces on every frame [DefaultFaceEvery]: each frame
	// scans a band of face sizes, the bands chosen to cost the same, so no
	// frame pays for a whole detection. Negative turns face detection off.
	FaceEvery int
	// Phase is the position in the detector's cycle of the first frame
	// (and of the first after a change of size) [0]. The cameras of one
	// daemon start at different positions (CyclePhase) so that their
	// costly passes fall on different frames.
	Phase int
	// Cascades are the face cascades run, each over every band of face
	// sizes; their detections are merged where they overlap
	// [DefaultCascades].
	Cascades []Cascade
	// DetectWidth is the width frames are scaled to for face tracking and
	// mouth motion [320]; MOG2Width the width for background subtraction
	// [160].
	DetectWidth, MOG2Width int
	// MinFacePx is the smallest face detected, in frame pixels [24]: faces
	// smaller than the cascades' 24 px window at DetectWidth are scanned on
	// the frame's luma at the width that makes such a face that window (at
	// most the frame's own), larger ones on the detection luma.
	MinFacePx int
	// ScaleFactor is the detector's step between face sizes [1.1];
	// MinNeighbors the overlapping hits a detection needs [2]: chosen on
	// the training photographs (TestFaceGrid).
	ScaleFactor  float64
	MinNeighbors int
	// MOG2History and MOG2VarThreshold tune the background model [500, 16].
	MOG2History      int
	MOG2VarThreshold float64
	// MaxFaces bounds the faces kept [16].
	MaxFaces int
}

func (c *Config) defaults() error {
	if c.HFOVDeg == 0 {
		c.HFOVDeg = 60
	}
	if c.FaceEvery == 0 {
		c.FaceEvery = DefaultFaceEvery
	}
	if c.MinFacePx == 0 {
		c.MinFacePx = cascadeWindow
	}
	if c.Cascades == nil {
		c.Cascades = DefaultCascades
	}
	if c.DetectWidth == 0 {
		c.DetectWidth = 320
	}
	if c.MOG2Width == 0 {
		c.MOG2Width = 160
	}
	if c.ScaleFactor == 0 {
		c.ScaleFactor = 1.1
	}
	if c.MinNeighbors == 0 {
		c.MinNeighbors = 2
	}
	if c.MOG2History == 0 {
		c.MOG2History = 500
	}
	if c.MOG2VarThreshold == 0 {
		c.MOG2VarThreshold = 16
	}
	if c.MaxFaces == 0 {
		c.MaxFaces = 16
	}
	switch {
	case c.Width < 16 || c.Height < 16:
		return fmt.Errorf("%w: camera %dx%d is under 16x16", fuse.ErrConfig, c.Width, c.Height)
	case !(c.HFOVDeg > 0 && c.HFOVDeg < 180):
		return fmt.Errorf("%w: horizontal field of view %v° is not in (0, 180)", fuse.ErrConfig, c.HFOVDeg)
	case c.DetectWidth < 64 || c.MOG2Width < 32:
		return fmt.Errorf("%w: detect width %d is under 64 or MOG2 width %d under 32", fuse.ErrConfig, c.DetectWidth, c.MOG2Width)
	case c.MinFacePx < cascadeWindow:
		return fmt.Errorf("%w: min face %d px is under the cascades' %d px window", fuse.ErrConfig, c.MinFacePx, cascadeWindow)
	case !(c.ScaleFactor > 1 && c.ScaleFactor <= 2) || c.MinNeighbors < 1:
		return fmt.Errorf("%w: scale factor %v is not in (1, 2] or min neighbours %d under 1", fuse.ErrConfig, c.ScaleFactor, c.MinNeighbors)
	}
	return nil
}

// Feature names one visual feature, for Values.Has.
type Feature uint8

// Visual features.
const (
	FeatForeground  Feature = iota // Foreground
	FeatFaces                      // Faces (the count may be 0)
	FeatFaceBearing                // FaceBearingDeg, FaceBearingStdDeg
	FeatMouth                      // MouthMotion
)

// Face is one face found or tracked.
type Face struct {
	ID  uint64
	Box image.Rectangle // in frame pixels
	// BearingDeg is the direction of the face's centre, 0 ahead, positive
	// to the right; BearingStdDeg a quarter of its angular width.
	BearingDeg, BearingStdDeg float64
	// MouthMotion is the mean luma change in the mouth region beyond the
	// change in the upper face, in grey levels, measured at DetectWidth;
	// valid when HaveMouth.
	MouthMotion float64
	HaveMouth   bool
	// Detected is true on the frames the detector found it (in that
	// frame's band of sizes); otherwise it was tracked.
	Detected bool
	// Candidate marks the speaker candidate: the face whose bearing and
	// mouth motion Values summarises (FaceBearingDeg, MouthMotion).
	Candidate bool
}

// Values are one frame's visual features; a feature is valid only when Has
// reports it. Faces aliases the extractor's state until the next Push.
type Values struct {
	Foreground float64
	Faces      []Face
	// The speaker candidate's bearing and mouth motion: the largest face
	// found twice, kept while it is tracked (Extractor.candidate).
	FaceBearingDeg, FaceBearingStdDeg, MouthMotion float64

	present uint8
}

// Has reports whether f could be computed for this frame.
func (v *Values) Has(f Feature) bool { return v.present&(1<<f) != 0 }

func (v *Values) set(f Feature) { v.present |= 1 << f }

// Evidence adds the features present to ev under the names of
// fuse.FeatureTable.
func (v *Values) Evidence(ev map[string]float64) {
	if v.Has(FeatForeground) {
		ev["video_foreground"] = v.Foreground
	}
	if v.Has(FeatFaces) {
		ev["faces"] = float64(len(v.Faces))
	}
	if v.Has(FeatFaceBearing) {
		ev["face_bearing_deg"], ev["face_bearing_std_deg"] = v.FaceBearingDeg, v.FaceBearingStdDeg
	}
	if v.Has(FeatMouth) {
		ev["mouth_motion"] = v.MouthMotion
	}
}

// Counters count what the extractor met.
type Counters struct {
	Frames             uint64
	Missing            uint64 // nil frames
	BadFrame           uint64 // unknown format, too small, or Pix too short
	ResolutionMismatch uint64 // frames not of the configured size
	Restarts           uint64 // state restarted for a new frame size
	Detections         uint64 // detector runs (one band of sizes on one image each)
	TrackLost          uint64 // faces dropped between detections
}

// smallCycles is how many of the detector's cycles one pass over the
// small faces spans: faces smaller than the cascades' window at
// DetectWidth are scanned on the larger scan luma, which costs more than
// all the other sizes together, and a small (far) face is seldom the one
// speaking to the robot. Faces found are verified and tracked every frame
// all the same.
const smallCycles = 3

// CyclePhase returns Config.Phase for camera i of n with faceEvery: the n
// cameras' cycles evenly apart over the longest (the small faces'), so
// that their costly bands fall on different frames as far as the cycle
// allows (up to 5 cameras at the default face_every apart entirely).
func CyclePhase(i, n, faceEvery int) int {
	if n < 2 || faceEvery < 1 {
		return 0
	}
	return i * smallCycles * faceEvery / n
}
