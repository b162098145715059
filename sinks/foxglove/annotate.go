package foxglove

import (
	"fmt"
	"math"

	"github.com/seed-4c364652/fusiond/sinks/decision"
)

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

// note keeps what d tells the annotations; under v.mu.
func (v *View) note(d *decision.Decision) {
	if d.Kind == "activity" {
		x, okX := d.Evidence["motion_x"]
		y, okY := d.Evidence["motion_y"]
		v.hasMove = okX && okY && d.State != decision.StateUnknown
		v.motion = [2]float64{x, y}
	}
	b, hasB := d.Evidence["bearing_deg"]
	v.kinds[d.Kind] = kindState{
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

// annotations draws the kinds' latest state over c's image: the seen
// target (presence) as a box at its bearing, the speaking face (speaker)
// as a thicker highlighted box, the sound's bearing (speech, sound_event)
// as a vertical line, the moving blocks' centre (activity) as a circle,
// and a label per active kind with its confidence. The decisions carry
// bearings, not face rectangles: a box spans the bearing ± twice its
// standard deviation (the face's angular width) and is as tall as wide.
// Under v.mu.
func (v *View) annotations(c *camera) imageAnnotations {
	var a imageAnnotations
	w, h := float64(c.width.Load()), float64(c.height.Load())
	if w == 0 || h == 0 {
		return a
	}
	box := func(k kindState, col rgba, linePx float64, text string) {
		x0 := bearingX(k.bearingDeg-2*k.bearingStdDeg, c.hfovDeg, w)
		x1 := bearingX(k.bearingDeg+2*k.bearingStdDeg, c.hfovDeg, w)
		if x1-x0 < 8 {
			x0, x1 = x0-4, x1+4
		}
		y0, y1 := math.Max(0, h/2-(x1-x0)/2), math.Min(h, h/2+(x1-x0)/2)
		a.Points = append(a.Points, polyline{Type: lineLoop, LinePx: linePx, Outline: col,
			Points: []point{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}})
		a.Texts = append(a.Texts, label{At: point{x0, math.Max(0, y0-16)}, Text: text, SizePx: 14, Color: col, Background: colorLabelBG})
	}
	if k := v.kinds["presence"]; k.active && k.hasBearing {
		box(k, colorSeen, 2, fmt.Sprintf("seen %+.0f°", k.bearingDeg))
	}
	if k := v.kinds["speaker"]; k.active && k.hasBearing {
		box(k, colorSpeaking, 5, fmt.Sprintf("speaking %+.0f°", k.bearingDeg))
	}
	for _, kind := range []string{"speech", "sound_event"} {
		if k := v.kinds[kind]; k.active && k.hasBearing {
			x := bearingX(k.bearingDeg, c.hfovDeg, w)
			a.Points = append(a.Points, polyline{Type: lineStrip, LinePx: 3, Outline: colorSound,
				Points: []point{{x, 0}, {x, h}}})
			a.Texts = append(a.Texts, label{At: point{x + 4, h - 20}, Text: fmt.Sprintf("%s %+.0f°", kind, k.bearingDeg), SizePx: 14, Color: colorSound, Background: colorLabelBG})
		}
	}
	if v.hasMove {
		a.Circles = append(a.Circles, circle{Center: point{v.motion[0] * w, v.motion[1] * h}, DiameterPx: math.Max(12, w/32), LinePx: 3, Outline: colorMotion})
	}
	y := 4.0
	for _, kind := range []string{"activity", "presence", "motion", "speech", "sound_event", "speaker"} {
		if k, ok := v.kinds[kind]; ok && k.active {
			a.Texts = append(a.Texts, label{At: point{4, y}, Text: fmt.Sprintf("%s %.2f", kind, k.confidence), SizePx: 14, Color: colorText, Background: colorLabelBG})
			y += 18
		}
	}
	return a
}
