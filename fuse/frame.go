package fuse

import "math"

// Bearings and frames. A bearing is in degrees, 0 straight ahead, positive
// to the right, in (-180, 180]. The robot frame has x to the robot's
// right, y ahead and z up; a camera's frame is the robot's turned by the
// camera's yaw (configs.Pose). The direction of arrival comes out of the
// microphone geometry, whose positions are in the robot frame: it is a
// robot-frame bearing. A face's or a moving target's bearing comes out of
// its pixel column and the camera's field of view: a camera-frame bearing,
// which RobotBearing turns by the camera's yaw. Pitch is ignored for an
// azimuth, and so is the camera's position: a bearing has no range to
// correct the parallax of an offset camera with (at 2 m, a camera 10 cm
// off the robot's origin sees a target about 3° from the robot's bearing).
// With yaw 0 every conversion returns its argument unchanged, bit for bit.

// WrapDeg returns deg wrapped into (-180, 180]; deg itself when it is
// already there (or not finite).
func WrapDeg(deg float64) float64 {
	if deg > -180 && deg <= 180 || math.IsNaN(deg) || math.IsInf(deg, 0) {
		return deg
	}
	w := math.Mod(deg+180, 360)
	if w <= 0 {
		w += 360
	}
	return w - 180
}

// RobotBearing turns a bearing in a camera's frame into the robot frame:
// plus the camera's yaw.
func RobotBearing(cameraDeg, yawDeg float64) float64 {
	if yawDeg == 0 {
		return cameraDeg
	}
	return WrapDeg(cameraDeg + yawDeg)
}

// CameraBearing turns a robot-frame bearing into a camera's frame: less
// the camera's yaw.
func CameraBearing(robotDeg, yawDeg float64) float64 {
	if yawDeg == 0 {
		return robotDeg
	}
	return WrapDeg(robotDeg - yawDeg)
}

// PixelBearing is the camera-frame bearing of a point at fraction x of the
// image width (0 the left edge, 1 the right), through a pinhole camera of
// horizontal field of view hfovDeg.
func PixelBearing(x, hfovDeg float64) float64 {
	t := math.Tan(hfovDeg / 2 * math.Pi / 180)
	return math.Atan((2*x-1)*t) * 180 / math.Pi
}

// BearingDiff is a − b, the shorter way round: in (-180, 180].
func BearingDiff(a, b float64) float64 { return WrapDeg(a - b) }
