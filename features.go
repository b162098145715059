package fusiond

import (
	"log/slog"
	"slices"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/vision"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/foxglove"
)

// audioFeatures returns the audio feature configuration of fuse.features for
// the heard microphone (heardMic), or nil when audio features are off or there is no
// microphone. Features run at the analysis rate (sync.analysis_rate_hz: the
// synchroniser resamples to it) and read a mix of the channels; only the
// bearing uses them apart, over the microphone's geometry (robot-frame
// positions, one per channel; z does not enter an azimuth). A microphone
// without a geometry of two channels or more gets no bearing.
func audioFeatures(cfg *configs.Config) *fuse.AudioConfig {
	ft := cfg.Fuse.Features
	if !ft.Audio || len(cfg.Microphones) == 0 {
		return nil
	}
	mic := cfg.Microphones[heardMic(cfg)]
	ac := &fuse.AudioConfig{RateHz: analysisRate(cfg), Channels: mic.Channels}
	if hasBearing(mic) {
		ac.DOA = fuse.DOAConfig{SpeedOfSound: ft.SpeedOfSound}
		for _, m := range mic.Geometry {
			ac.DOA.Mics = append(ac.DOA.Mics, [2]float64{m.X, m.Y})
		}
	}
	return ac
}

// cameraPose is the (one) camera's pose; without a camera, the default
// one (yaw 0, a 60° field of view).
func cameraPose(cfg *configs.Config) configs.Pose {
	if len(cfg.Cameras) == 0 {
		return configs.Pose{HFOVDeg: 60}
	}
	return cfg.Cameras[0].Pose
}

// streamNames are the streams the first camera's fusion reads, by
// modality, for the decisions' missing_streams: the first camera and the
// heard microphone (the other cameras' fusions name their own camera).
func streamNames(cfg *configs.Config) map[av.Modality][]string {
	m := map[av.Modality][]string{}
	if len(cfg.Cameras) > 0 {
		m[av.Video] = []string{cfg.Cameras[0].Name}
	}
	if len(cfg.Microphones) > 0 {
		m[av.Audio] = []string{cfg.Microphones[heardMic(cfg)].Name}
	}
	return m
}

// moreCameras are the cameras beyond the first, for
// ActivityConfig.MoreCameras, each with features(i), camera i's visual
// features.
func moreCameras(cfg *configs.Config, features func(i int) fuse.FrameFeatures) []fuse.CameraConfig {
	var out []fuse.CameraConfig
	for i := 1; i < len(cfg.Cameras); i++ {
		cam := cfg.Cameras[i]
		out = append(out, fuse.CameraConfig{Name: cam.Name, YawDeg: cam.Pose.YawDeg, HFOVDeg: cam.Pose.HFOVDeg,
			Visual: features(i)})
	}
	return out
}

// visualFeatures returns camera i's visual features (fuse/vision) for
// ActivityConfig.Visual, or nil when fuse.features.video is off, there is no
// such camera, or OpenCV or the face cascades are absent (logged).
func visualFeatures(cfg *configs.Config, i int, log *slog.Logger) fuse.FrameFeatures {
	ft := cfg.Fuse.Features
	if !ft.Video || len(cfg.Cameras) <= i {
		return nil
	}
	cam := cfg.Cameras[i]
	w, h := cam.Width, cam.Height
	if w <= 0 || h <= 0 { // the device's own mode: frames of another size are handled and counted
		w, h = 640, 480
	}
	cascades, err := vision.CascadesByName(ft.FaceCascades)
	if err != nil {
		log.Warn("visual features off", "camera", cam.Name, "err", err)
		return nil
	}
	e, err := vision.New(vision.Config{Width: w, Height: h, HFOVDeg: cam.Pose.HFOVDeg, FaceEvery: ft.FaceEvery,
		MinFacePx: ft.FaceMinPx, Cascades: cascades, Phase: vision.CyclePhase(i, len(cfg.Cameras), ft.FaceEvery)})
	if err != nil {
		log.Warn("visual features off", "camera", cam.Name, "err", err)
		return nil
	}
	return e
}

// crossModal returns the synchrony configuration for ActivityConfig.CrossModal:
// one value per bundle, at the camera's frame rate.
func crossModal(cfg *configs.Config) *fuse.SynchronyConfig {
	if len(cfg.Cameras) == 0 || !cfg.Fuse.Features.Video || !cfg.Fuse.Features.Audio {
		return nil
	}
	rate := cfg.Cameras[0].FPS
	if !(rate > 0) {
		rate = 30
	}
	return &fuse.SynchronyConfig{RateHz: rate}
}

// analysisRate is the rate of the bundles' audio: sync.analysis_rate_hz, or
// the microphone's own when that is 0.
func analysisRate(cfg *configs.Config) int {
	if r := cfg.Sync.AnalysisRateHz; r > 0 {
		return r
	}
	if len(cfg.Microphones) == 0 {
		return 0
	}
	return cfg.Microphones[heardMic(cfg)].RateHz
}

// heardMic is the index of the microphone the heard kinds are decided on
// (the synchroniser's first, av.Bundle.Audio): the first whose geometry
// gives a bearing (two positions or more, no more than its channels), else
// the first.
func heardMic(cfg *configs.Config) int {
	for i, m := range cfg.Microphones {
		if hasBearing(m) {
			return i
		}
	}
	return 0
}

// hasBearing: m's geometry gives a sound's bearing (two positions or
// more, no more than its channels).
func hasBearing(m configs.Microphone) bool {
	return len(m.Geometry) >= 2 && len(m.Geometry) <= m.Channels
}

// FaceTap sees the faces the visual features track in each frame of a
// camera (capture time timeNS), in the pixels of that frameW×frameH frame;
// it must not keep faces. The live view (foxglove.View.Faces) and the
// recorder's annotations take them.
type FaceTap func(stream av.StreamID, timeNS int64, frameW, frameH int, faces []foxglove.Face)

// tapFaces returns the visual features ff with taps on their faces, or ff
// itself when it is not fuse/vision's extractor or there are no taps (nil
// ones left out: replay passes its FaceTap as it is).
func tapFaces(ff fuse.FrameFeatures, taps ...FaceTap) fuse.FrameFeatures {
	taps = slices.DeleteFunc(taps, func(t FaceTap) bool { return t == nil })
	e, ok := ff.(*vision.Extractor)
	if !ok || len(taps) == 0 {
		return ff
	}
	return &observedFaces{Extractor: e, taps: taps}
}

// observedFaces are the visual features with taps on their faces: the
// same measurements and evidence (the decisions do not change), and each
// frame's faces, converted into a buffer reused from frame to frame.
type observedFaces struct {
	*vision.Extractor
	taps  []FaceTap
	faces []foxglove.Face
}

// PushFrame implements fuse.FrameFeatures.
func (o *observedFaces) PushFrame(f *av.Frame, ev map[string]float64) {
	v := o.Push(f)
	v.Evidence(ev)
	if !v.Has(vision.FeatFaces) {
		return
	}
	o.faces = o.faces[:0]
	for _, x := range v.Faces {
		o.faces = append(o.faces, foxglove.Face{ID: x.ID, Box: x.Box, Candidate: x.Candidate})
	}
	for _, tap := range o.taps {
		tap(f.Stream, f.CaptureNS, f.Width, f.Height, o.faces)
	}
}
