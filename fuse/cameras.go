package fuse

import (
	"errors"
	"fmt"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// CameraConfig is one camera beyond the first (ActivityConfig.MoreCameras).
type CameraConfig struct {
	// Name is the camera's stream name, published on its decisions.
	Name string
	// Visual computes its frames' visual features (nil: none, motion
	// alone).
	Visual FrameFeatures
	// YawDeg and HFOVDeg are its pose in the robot frame.
	YawDeg, HFOVDeg float64
}

// cameraFusion decides the visual kinds of one camera beyond the first: an
// Activity of its own that reads the camera's frames and the bundles'
// audio (Bundle.Audio, with the audio features the first camera's fusion
// computed), which decides only the camera kinds (CameraKind: motion,
// presence, speaker). The heard kinds and the activity decision are the
// first camera's fusion's alone, made once for the audio scene; without
// ActivityConfig.Decide a camera beyond the first publishes nothing. Its
// frame's Backend work joins the first camera's tick (Activity.Push).
type cameraFusion struct {
	a       *Activity
	index   int       // into the bundles' MoreFrames
	view    av.Bundle // the bundle as this camera sees it
	missing []av.Modality
	out     func(*av.Decision)
	filter  func(*av.Decision)
	// primary numbers the published decisions in the first camera's
	// sequence, so that a daemon's decisions have one.
	primary *Fusion
}

// newCameraFusions builds the fusions of cfg.MoreCameras. On error the
// caller still owns the cameras' features.
func newCameraFusions(cfg ActivityConfig, primary *Activity) ([]*cameraFusion, error) {
	if len(cfg.MoreCameras) == 0 {
		return nil, nil
	}
	if cfg.Offload != nil || cfg.OnStep != nil {
		return nil, fmt.Errorf("%w: several cameras do not offload or report steps yet", ErrConfig)
	}
	var out []*cameraFusion
	for i, cam := range cfg.MoreCameras {
		c := cfg
		c.MoreCameras, c.Visual, c.CameraYawDeg = nil, cam.Visual, cam.YawDeg
		c.Streams = map[av.Modality][]string{av.Video: {cam.Name}, av.Audio: cfg.Streams[av.Audio]}
		if cfg.Decide != nil {
			dc := *cfg.Decide
			dc.Camera, dc.CameraYawDeg, dc.HFOVDeg = cam.Name, cam.YawDeg, cam.HFOVDeg
			dc.cameraOnly = true
			c.Decide = &dc
		}
		a, err := NewActivity(c)
		if err != nil { // the caller closes the cameras' features
			return nil, fmt.Errorf("camera %s: %w", cam.Name, err)
		}
		// The audio features of a bundle are the same for every camera:
		// the first camera's fusion computes them, before the others
		// read them (Activity.Push).
		a.feat.features, a.feat.from = nil, &primary.feat
		// The heard kinds and the activity decision are the first
		// camera's: this one makes neither (no interval decision, no
		// decisions of heard kinds), rather than making them to drop them.
		a.cameraOnly, a.feat.cameraOnly = true, true
		f := &cameraFusion{a: a, index: i, missing: make([]av.Modality, 0, 2), primary: primary.fusion}
		f.filter = func(d *av.Decision) {
			if CameraKind(d.Kind) {
				f.primary.seq++
				d.Seq = f.primary.seq
				f.out(d)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// gather gives the fusion b as its camera sees it (its frame, the audio)
// and puts its frame's Backend work into w, the first camera's tick.
func (f *cameraFusion) gather(b *av.Bundle, w *TickWork, emit func(*av.Decision)) {
	f.view = av.Bundle{Seq: b.Seq, TimeNS: b.TimeNS, Audio: b.Audio, Stamps: b.Stamps}
	if b.Cameras() > f.index+1 {
		f.view.Frame = b.MoreFrames[f.index]
	}
	f.missing = f.missing[:0]
	if f.view.Frame == nil {
		f.missing = append(f.missing, av.Video)
	}
	if !b.Has(av.Audio) {
		f.missing = append(f.missing, av.Audio)
	}
	f.view.Missing = f.missing
	f.out = emit
	f.a.begin(&f.view, f.filter)
	f.a.gatherMotion(&f.view, w)
}

// finish makes the camera's step from the tick's results (err: the Backend
// failed), after the first camera's (whose audio features it reads).
func (f *cameraFusion) finish(err error) {
	f.a.finish(&f.view, false, err, f.filter)
	f.view.Frame = nil // the bundle's own
}

func (f *cameraFusion) flush(emit func(*av.Decision)) {
	f.out = emit
	f.a.Flush(f.filter)
}

// closeCameras closes the fusions of the cameras beyond the first.
func closeCameras(fs []*cameraFusion) error {
	var errs []error
	for _, f := range fs {
		errs = append(errs, f.a.Close())
	}
	return errors.Join(errs...)
}
