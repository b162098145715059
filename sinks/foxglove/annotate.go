package foxglove

import (
	"fmt"
	"image"
	"math"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// Face is a face the visual features track, for the annotations.
type Face struct {
	ID uint64
	// Box is the face in the pixels of its frame.
	Box image.Rectangle
	// Candidate marks the face the tracker follows for the mouth–voice
	// synchrony (fuse/vision's speaker candidate): the one drawn as the
	// speaking face while the speaker decision is active.
	Candidate bool
}

// FaceMaxAgeNS is how long a camera's faces are drawn after they were
// reported (by capture time): longer, and the camera has stopped
// reporting (no visual features for its frames).
const FaceMaxAgeNS = int64(1e9)

// Annotator builds each camera's foxglove.ImageAnnotations from the
// decisions and the faces the visual features track: the one builder of
// the live view (View) and of the recordings' annotation channels. It is
// not safe for concurrent use.
type Annotator struct {
	hfovDeg map[av.StreamID]float64
	kinds   map[string]kindState // latest decision per kind
	motion  [2]float64           // activity's motion_x, motion_y (fraction of the frame)
	hasMove bool
	faces   map[av.StreamID]*faceSet
}

// faceSet is a camera's latest faces.
type faceSet struct {
	timeNS         int64
	frameW, frameH int
	faces          []Face
}

// NewAnnotator returns an annotator for cameras of the given horizontal
// fields of view [60 for cameras not listed].
func NewAnnotator(hfovDeg map[av.StreamID]float64) *Annotator {
	return &Annotator{hfovDeg: hfovDeg, kinds: map[string]kindState{}, faces: map[av.StreamID]*faceSet{}}
}

func (a *Annotator) hfov(stream av.StreamID) float64 {
	if h := a.hfovDeg[stream]; h > 0 && h < 180 {
		return h
	}
	return 60
}

// Faces keeps a camera's faces at capture time timeNS, in the pixels of
// a frameW×frameH frame; it copies faces.
func (a *Annotator) Faces(stream av.StreamID, timeNS int64, frameW, frameH int, faces []Face) {
	fs := a.faces[stream]
	if fs == nil {
		fs = &faceSet{}
		a.faces[stream] = fs
	}
	fs.timeNS, fs.frameW, fs.frameH = timeNS, frameW, frameH
	fs.faces = append(fs.faces[:0], faces...)
}

// Append appends stream's annotations over a w×h image, every shape
// stamped tsNS, as a foxglove.ImageAnnotations.
func (a *Annotator) Append(b []byte, stream av.StreamID, tsNS int64, w, h int) []byte {
	ann := a.build(stream, tsNS, float64(w), float64(h))
	return appendAnnotations(b, tsNS, &ann)
}

// kindState is what the annotations keep of a kind's latest decision.
type kindState struct {
	active                    bool
	confidence                float64
	hasBearing                bool
	bearingDeg, bearingStdDeg float64
}

// Kinds drawn, in drawing order, and how.
var (
	colorSeen     = rgba{0.2, 0.9, 0.3, 1} // presence: what is seen
	colorSpeaking = rgba{1, 0.85, 0.1, 1}  // speaker: the face whose voice is heard
	colorSound    = rgba{0.2, 0.8, 1, 1}   // speech, sound_event: the sound's bearing
	colorMotion   = rgba{1, 0.5, 0.1, 1}   // activity: the moving blocks' centre
	colorText     = rgba{1, 1, 1, 1}
	colorLabelBG  = rgba{0, 0, 0, 0.6}
)

// Decision keeps what d tells the annotations.
func (a *Annotator) Decision(d *decision.Decision) {
	if d.Kind == "activity" {
		x, okX := d.Evidence["motion_x"]
		y, okY := d.Evidence["motion_y"]
		a.hasMove = okX && okY && d.State != decision.StateUnknown
		a.motion = [2]float64{x, y}
	}
	b, hasB := d.Evidence["bearing_deg"]
	a.kinds[d.Kind] = kindState{
		active:     d.State == decision.StateActive || d.State == "" && d.Evidence["active"] == 1,
		confidence: d.Confidence,
		hasBearing: hasB, bearingDeg: b, bearingStdDeg: d.Evidence["bearing_std_deg"],
	}
}

// bearingX is the image column of a bearing (degrees, 0 ahead, + right)
// for a pinhole camera of horizontal field of view hfovDeg, clamped to the
// image.
func bearingX(bearingDeg, hfovDeg, width float64) float64 {
	t := math.Tan(bearingDeg*math.Pi/180) / math.Tan(hfovDeg*math.Pi/360)
	return math.Min(width, math.Max(0, width/2*(1+t)))
}

// build draws the kinds' latest state and stream's faces over a w×h
// image at time tsNS:
//
//   - each face the visual features track (reported within FaceMaxAgeNS
//     of tsNS) as a box, scaled from its frame to the image; the speaking
//     face, highlighted (yellow, thicker), is the tracker's speaker
//     candidate (the face whose mouth motion is set against the voice)
//     while the speaker decision is active;
//   - without faces reported for the camera, the seen target (presence)
//     and the speaker as boxes at their bearings: the decisions carry
//     bearings, not face rectangles, so such a box spans the bearing ±
//     twice its standard deviation (the face's angular width) and is as
//     tall as wide;
//   - the sound's bearing (speech, sound_event) as a vertical line, the
//     moving blocks' centre (activity) as a circle, and a label per active
//     kind with its confidence.
func (a *Annotator) build(stream av.StreamID, tsNS int64, w, h float64) imageAnnotations {
	var ann imageAnnotations
	if w == 0 || h == 0 {
		return ann
	}
	hfov := a.hfov(stream)
	rect := func(x0, y0, x1, y1 float64, col rgba, linePx float64, text string) {
		ann.Points = append(ann.Points, polyline{Type: lineLoop, LinePx: linePx, Outline: col,
			Points: []point{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}})
		ann.Texts = append(ann.Texts, label{At: point{x0, math.Max(0, y0-16)}, Text: text, SizePx: 14, Color: col, Background: colorLabelBG})
	}
	box := func(k kindState, col rgba, linePx float64, text string) {
		x0 := bearingX(k.bearingDeg-2*k.bearingStdDeg, hfov, w)
		x1 := bearingX(k.bearingDeg+2*k.bearingStdDeg, hfov, w)
		if x1-x0 < 8 {
			x0, x1 = x0-4, x1+4
		}
		rect(x0, math.Max(0, h/2-(x1-x0)/2), x1, math.Min(h, h/2+(x1-x0)/2), col, linePx, text)
	}
	speaker := a.kinds["speaker"]
	if fs := a.faces[stream]; fs != nil && fs.frameW > 0 && fs.frameH > 0 && tsNS-fs.timeNS <= FaceMaxAgeNS && fs.timeNS-tsNS <= FaceMaxAgeNS {
		sx, sy := w/float64(fs.frameW), h/float64(fs.frameH)
		for _, f := range fs.faces {
			x0, y0 := float64(f.Box.Min.X)*sx, float64(f.Box.Min.Y)*sy
			x1, y1 := float64(f.Box.Max.X)*sx, float64(f.Box.Max.Y)*sy
			if f.Candidate && speaker.active {
				rect(x0, y0, x1, y1, colorSpeaking, 5, fmt.Sprintf("speaking %d", f.ID))
			} else {
				rect(x0, y0, x1, y1, colorSeen, 2, fmt.Sprintf("face %d", f.ID))
			}
		}
	} else {
		if k := a.kinds["presence"]; k.active && k.hasBearing {
			box(k, colorSeen, 2, fmt.Sprintf("seen %+.0f°", k.bearingDeg))
		}
		if speaker.active && speaker.hasBearing {
			box(speaker, colorSpeaking, 5, fmt.Sprintf("speaking %+.0f°", speaker.bearingDeg))
		}
	}
	for _, kind := range []string{"speech", "sound_event"} {
		if k := a.kinds[kind]; k.active && k.hasBearing {
			x := bearingX(k.bearingDeg, hfov, w)
			ann.Points = append(ann.Points, polyline{Type: lineStrip, LinePx: 3, Outline: colorSound,
				Points: []point{{x, 0}, {x, h}}})
			ann.Texts = append(ann.Texts, label{At: point{x + 4, h - 20}, Text: fmt.Sprintf("%s %+.0f°", kind, k.bearingDeg), SizePx: 14, Color: colorSound, Background: colorLabelBG})
		}
	}
	if a.hasMove {
		ann.Circles = append(ann.Circles, circle{Center: point{a.motion[0] * w, a.motion[1] * h}, DiameterPx: math.Max(12, w/32), LinePx: 3, Outline: colorMotion})
	}
	y := 4.0
	for _, kind := range []string{"activity", "presence", "motion", "speech", "sound_event", "speaker"} {
		if k, ok := a.kinds[kind]; ok && k.active {
			ann.Texts = append(ann.Texts, label{At: point{4, y}, Text: fmt.Sprintf("%s %.2f", kind, k.confidence), SizePx: 14, Color: colorText, Background: colorLabelBG})
			y += 18
		}
	}
	return ann
}
