package fuse

import (
	"math"
	"testing"
)

// TestBearingFrames: known answers of the frame conversions, a camera
// yawed 90° and 180°, and the wrap.
func TestBearingFrames(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for _, tc := range []struct {
		camDeg, yawDeg, robotDeg float64
	}{
		{0, 0, 0},
		{-20, 0, -20},
		{0, 90, 90},     // a camera looking right: its centre is the robot's right
		{-30, 90, 60},   // left of its centre
		{30, 90, 120},   // right of its centre: behind the robot's right
		{0, -90, -90},   // looking left
		{10, 180, -170}, // looking back: right of its centre is the robot's back left
		{-10, 180, 170},
		{179, 2, -179},
	} {
		if got := RobotBearing(tc.camDeg, tc.yawDeg); !near(got, tc.robotDeg) {
			t.Errorf("camera %v° yaw %v°: robot %v°, want %v°", tc.camDeg, tc.yawDeg, got, tc.robotDeg)
		}
		if got := CameraBearing(tc.robotDeg, tc.yawDeg); !near(got, tc.camDeg) {
			t.Errorf("robot %v° yaw %v°: camera %v°, want %v°", tc.robotDeg, tc.yawDeg, got, tc.camDeg)
		}
	}
	for _, tc := range []struct{ in, want float64 }{
		{180, 180}, {-180, 180}, {181, -179}, {-181, 179}, {540, 180}, {-540, 180}, {725, 5}, {-0.5, -0.5},
	} {
		if got := WrapDeg(tc.in); !near(got, tc.want) {
			t.Errorf("WrapDeg(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if d := BearingDiff(170, -170); !near(d, -20) {
		t.Errorf("170° − -170° = %v, want -20 (the shorter way)", d)
	}
	// Yaw 0 is the identity, bit for bit (the golden decisions rely on it).
	for _, x := range []float64{math.Copysign(0, -1), -89.99999, 1e-300, 45.123456789} {
		if math.Float64bits(RobotBearing(x, 0)) != math.Float64bits(x) || math.Float64bits(CameraBearing(x, 0)) != math.Float64bits(x) {
			t.Errorf("yaw 0 changed %v", x)
		}
	}
}

// TestPixelBearing: a pixel column through the field of view, and into
// the robot frame by the camera's yaw.
func TestPixelBearing(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for _, tc := range []struct{ x, hfov, want float64 }{
		{0.5, 60, 0},
		{1, 60, 30}, // the right edge: half the field of view
		{0, 60, -30},
		{1, 90, 45},
		{0.75, 90, math.Atan(0.5) * 180 / math.Pi}, // half way to the edge: tan⁻¹(½ tan 45°)
		{0.75, 60, math.Atan(0.5*math.Tan(math.Pi/6)) * 180 / math.Pi},
	} {
		if got := PixelBearing(tc.x, tc.hfov); !near(got, tc.want) {
			t.Errorf("x %v hfov %v: %v°, want %v°", tc.x, tc.hfov, got, tc.want)
		}
	}
	// The right edge of a 60° camera yawed 90° is the robot's 120°.
	if got := RobotBearing(PixelBearing(1, 60), 90); !near(got, 120) {
		t.Errorf("right edge of a camera yawed 90°: %v°, want 120°", got)
	}
}
