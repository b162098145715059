package configs

import (
	"fmt"
	"strconv"
	"strings"
)

// The deprecated global keys that the cameras' poses and the microphones'
// geometries replace.
const (
	keyCameraHFOV   = "fuse.features.camera_hfov_deg"
	keyMicPositions = "fuse.features.mic_positions"
)

// Ranges of a camera's pose and a microphone channel's position.
const (
	maxPoseMetres = 10.0
	maxYawDeg     = 180.0
	maxPitchDeg   = 90.0
)

// given reports whether the config file or a --set gave the key at path,
// or a key below it (not merely a key above it: an entry of a list in a
// file starts from the default entry, and keeps what it does not give).
// A --set of a key above it gave it too.
func (c *Config) given(path string) bool {
	if c.loc == nil {
		return false
	}
	for p := path; p != ""; p = parent(p) {
		if _, ok := c.loc.setBy[p]; ok {
			return true
		}
	}
	below := func(k string) bool { return k == path || strings.HasPrefix(k, path+".") }
	for k := range c.loc.fileLines {
		if below(k) {
			return true
		}
	}
	for k := range c.loc.setBy {
		if below(k) {
			return true
		}
	}
	return false
}

// resolveRobotFrame maps the deprecated global keys onto the cameras'
// poses and the microphones' geometries (the new keys win where a config
// gives both), and drops a default geometry that does not fit its
// microphone's channel count (a mono microphone under the default stereo
// geometry: no bearing, as before).
func (c *Config) resolveRobotFrame() {
	c.deprecated, c.mapped = nil, map[string]string{}
	ft := &c.Fuse.Features
	if h := ft.CameraHFOVDeg; h != 0 {
		c.deprecated = append(c.deprecated, keyCameraHFOV)
		if h > 0 && h < 180 { // out of range: validate names the old key
			for i := range c.Cameras {
				at := "cameras." + strconv.Itoa(i) + ".pose.hfov_deg"
				if !c.given(at) {
					c.Cameras[i].Pose.HFOVDeg = h
					c.mapped[at] = keyCameraHFOV
				}
			}
		}
	}
	if len(ft.MicPositions) > 0 {
		c.deprecated = append(c.deprecated, keyMicPositions)
		if len(c.Microphones) > 0 && !c.given("microphones.0.geometry") {
			c.Microphones[0].Geometry = append([]MicPosition(nil), ft.MicPositions...)
			c.mapped["microphones.0.geometry"] = keyMicPositions
		}
	}
	for i := range c.Microphones {
		m := &c.Microphones[i]
		at := "microphones." + strconv.Itoa(i) + ".geometry"
		if len(m.Geometry) != m.Channels && !c.given(at) && c.mapped[at] == "" {
			m.Geometry = nil
		}
	}
}

// Deprecation returns the one warning to log about the deprecated keys
// the config set ("" when none): where each is, and what it was read as.
func (c *Config) Deprecation() string {
	if len(c.deprecated) == 0 {
		return ""
	}
	var parts []string
	for _, k := range c.deprecated {
		switch k {
		case keyCameraHFOV:
			parts = append(parts, fmt.Sprintf("%s (%s) is read as every camera's pose.hfov_deg", k, c.Where(k)))
		case keyMicPositions:
			parts = append(parts, fmt.Sprintf("%s (%s) is read as microphones.0.geometry", k, c.Where(k)))
		}
	}
	return "deprecated keys: " + strings.Join(parts, "; ") + "; set those instead (docs/CONFIG.md, \"Robot frame\")"
}

// validateRobotFrame checks the cameras' poses, the microphones'
// geometries and that no two cameras or microphones are the same stream;
// a value mapped from a deprecated key is reported under that key.
func (c *Config) validateRobotFrame(bad func(path, format string, args ...any)) {
	key := func(path string) string {
		if old, ok := c.mapped[path]; ok {
			return old
		}
		return path
	}
	if h := c.Fuse.Features.CameraHFOVDeg; h != 0 && !(h > 0 && h < 180) {
		bad(keyCameraHFOV, "%v is out of range (0, 180) (deprecated: set cameras[i].pose.hfov_deg)", h)
	}
	within := func(v float64) bool { return v >= -maxPoseMetres && v <= maxPoseMetres }
	for i, cam := range c.Cameras {
		at := "cameras." + strconv.Itoa(i) + ".pose."
		p := cam.Pose
		if !(p.YawDeg >= -maxYawDeg && p.YawDeg <= maxYawDeg) {
			bad(at+"yaw_deg", "%v is out of range -180..180", p.YawDeg)
		}
		if !(p.PitchDeg >= -maxPitchDeg && p.PitchDeg <= maxPitchDeg) {
			bad(at+"pitch_deg", "%v is out of range -90..90", p.PitchDeg)
		}
		if !(p.HFOVDeg > 0 && p.HFOVDeg < 180) {
			bad(key(at+"hfov_deg"), "%v is out of range (0, 180)", p.HFOVDeg)
		}
		for _, v := range []struct {
			k string
			v float64
		}{{"x", p.X}, {"y", p.Y}, {"z", p.Z}} {
			if !within(v.v) {
				bad(at+v.k, "%v m is not within %v m of the robot's origin", v.v, maxPoseMetres)
			}
		}
	}
	for i, mic := range c.Microphones {
		at := "microphones." + strconv.Itoa(i) + ".geometry"
		g := mic.Geometry
		if len(g) == 0 {
			continue
		}
		if len(g) != mic.Channels {
			bad(key(at), "%d positions for %d channels: give one {x, y, z} per channel (or none: no bearing)", len(g), mic.Channels)
			continue
		}
		for j, m := range g {
			if !within(m.X) || !within(m.Y) || !within(m.Z) {
				bad(key(at), "position %d %v is not within %v m", j, m, maxPoseMetres)
			} else if j > 0 && m == g[0] {
				bad(key(at), "position %d %v coincides with the first", j, m)
			}
		}
	}
}
