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
// recall on the training photographs (TestFaceGrid) and cost
// (BenchmarkFaceCascades640x480): the Haar profile cascades, both sides,
// raise recall on turned faces (48 px: 0.75 to 1.00) but cost 8.7 times
// the LBP cascade's detection, outside the CPU budget; add them for a
// camera that sees turned faces and has the CPU. (lbpcascade_frontalface_improved finds no face in the
// sample images.)
var DefaultCascades = []Cascade{
	{Path: CascadeLBPFrontal},
}

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
	// FaceEvery spreads one full pass of the face detector over this many
	// frames, tracking faces on every frame [5]: frame k of each cycle scans
	// the k-th band of face sizes, the bands chosen to cost the same, so no
	// frame pays for a whole detection. Negative turns face detection off.
	FaceEvery int
	// Cascades are the face cascades run, each over every band of face
	// sizes; their detections are merged where they overlap
	// [DefaultCascades].
	Cascades []Cascade
	// DetectWidth is the width frames are scaled to for face tracking and
	// mouth motion [320]; MOG2Width the width for background subtraction
	// [160].
	DetectWidth, MOG2Width int
	// MinFacePx is the smallest face detected, in frame pixels: the
	// detector scans the frame's luma at the width that makes such a face
	// the cascades' 24 px window (at most the frame's own width). Zero
	// scans at DetectWidth (faces from 24 detection px: 48 px of a 640 px
	// frame). SmallFaces sets it to 24.
	MinFacePx int
	// ScaleFactor is the detector's step between face sizes [1.1];
	// MinNeighbors the overlapping hits a detection needs [3].
	ScaleFactor  float64
	MinNeighbors int
	// MOG2History and MOG2VarThreshold tune the background model [500, 16].
	MOG2History      int
	MOG2VarThreshold float64
	// MotionCell is the side of the motion grid's blocks in pixels [8].
	MotionCell int
	// MaxFaces bounds the faces kept [16].
	MaxFaces int
}

func (c *Config) defaults() error {
	if c.HFOVDeg == 0 {
		c.HFOVDeg = 60
	}
	if c.FaceEvery == 0 {
		c.FaceEvery = 5
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
		c.MinNeighbors = 3
	}
	if c.MOG2History == 0 {
		c.MOG2History = 500
	}
	if c.MOG2VarThreshold == 0 {
		c.MOG2VarThreshold = 16
	}
	if c.MotionCell == 0 {
		c.MotionCell = fuse.MotionCell
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
	case c.MinFacePx != 0 && c.MinFacePx < cascadeWindow:
		return fmt.Errorf("%w: min face %d px is under the cascades' %d px window", fuse.ErrConfig, c.MinFacePx, cascadeWindow)
	case !(c.ScaleFactor > 1 && c.ScaleFactor <= 2) || c.MinNeighbors < 1:
		return fmt.Errorf("%w: scale factor %v is not in (1, 2] or min neighbours %d under 1", fuse.ErrConfig, c.ScaleFactor, c.MinNeighbors)
	case c.MotionCell < 1:
		return fmt.Errorf("%w: motion cell %d", fuse.ErrConfig, c.MotionCell)
	}
	return nil
}

// SmallFaces sets c up to find faces from 24 frame pixels: the detector
// scans the full frame, with the scale step and neighbours chosen on the
// training photographs (TestFaceGrid: 1.2 and 2). On 640×480 frames its
// detection costs about 2.3 times the default's (BenchmarkFaceCascades).
func (c Config) SmallFaces() Config {
	c.MinFacePx, c.ScaleFactor, c.MinNeighbors = 24, 1.2, 2
	return c
}

// Feature names one visual feature, for Values.Has.
type Feature uint8

// Visual features.
const (
	FeatMotion      Feature = iota // MotionEnergy
	FeatMotionXY                   // MotionX, MotionY
	FeatForeground                 // Foreground
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
}

// Values are one frame's visual features; a feature is valid only when Has
// reports it. Faces aliases the extractor's state until the next Push.
type Values struct {
	MotionEnergy, MotionX, MotionY float64
	Foreground                     float64
	Faces                          []Face
	// The largest face's bearing and mouth motion.
	FaceBearingDeg, FaceBearingStdDeg, MouthMotion float64

	present uint8
}

// Has reports whether f could be computed for this frame.
func (v *Values) Has(f Feature) bool { return v.present&(1<<f) != 0 }

func (v *Values) set(f Feature) { v.present |= 1 << f }

// Evidence adds the features present to ev under the names of
// fuse.FeatureTable.
func (v *Values) Evidence(ev map[string]float64) {
	if v.Has(FeatMotion) {
		ev["video_motion_energy"] = v.MotionEnergy
	}
	if v.Has(FeatMotionXY) {
		ev["video_motion_x"], ev["video_motion_y"] = v.MotionX, v.MotionY
	}
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
	Detections         uint64 // detector runs (one band of sizes each)
	TrackLost          uint64 // faces dropped between detections
	BackendErrors      uint64
}
