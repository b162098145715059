package fuse

import (
	"errors"
	"math"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// FrameFeatures computes per-frame visual features outside package fuse
// (fuse/vision, which needs cgo, implements it), for Activity to publish.
type FrameFeatures interface {
	// PushFrame measures one frame and adds the features it could compute
	// to ev, under the names of FeatureTable.
	PushFrame(f *av.Frame, ev map[string]float64)
	// Close releases what the features hold.
	Close() error
}

// visualSummary gathers an Activity interval's visual and cross-modal
// features: the latest value of each within the interval.
type visualSummary struct {
	features FrameFeatures
	yawDeg   float64            // the camera's (ActivityConfig.CameraYawDeg)
	frame    map[string]float64 // this frame's
	last     map[string]float64 // latest within the interval
	sync     *Synchrony
	offset   *SyncOffset
	lastZ    float64 // this frame's synchrony score, when haveZ
	haveZ    bool
	lastOff  float64 // this frame's offset confidence, when haveOff
	haveOff  bool
	// The last bundle's audio level (dBFS, floored at -70), for its change.
	prevLevel     float64
	havePrevLevel bool
}

func (s *visualSummary) init(cfg ActivityConfig) error {
	s.features, s.yawDeg = cfg.Visual, cfg.CameraYawDeg
	if s.features == nil {
		return nil
	}
	s.frame, s.last = map[string]float64{}, map[string]float64{}
	if cfg.CrossModal != nil && cfg.AudioFeatures != nil {
		sy, err := NewSynchrony(*cfg.CrossModal)
		if err != nil {
			return err
		}
		so, err := NewSyncOffset(*cfg.CrossModal)
		if err != nil {
			return err
		}
		s.sync, s.offset = sy, so
	}
	return nil
}

// push measures b's frame, with its motion m (Activity's, from the tick;
// mok false: none), and with this bundle's audio features (af.cur) the
// cross-modal features: mouth motion against the audio level for the
// synchrony, the largest face's bearing against the sound's.
func (s *visualSummary) push(b *av.Bundle, af *audioSummary, m motionSample, mok bool) {
	cur := af.cur
	af.cur = nil
	if s.features == nil {
		return
	}
	clear(s.frame)
	if b.Has(av.Video) && b.Frame != nil {
		s.features.PushFrame(b.Frame, s.frame)
		if mok {
			s.frame["video_motion_energy"] = m.energy
			if m.energy > 0 {
				s.frame["video_motion_x"], s.frame["video_motion_y"] = m.x, m.y
			}
		}
	}
	for k, x := range s.frame {
		s.last[k] = x
	}
	if s.sync == nil {
		return
	}
	mouth, haveMouth := s.frame["mouth_motion"]
	// A moving mouth goes with a changing voice: mouth motion (a rate of
	// change) is set against the level's change, which peaks sharply at
	// the true lag where the level itself is broad.
	var change float64
	haveLevel := cur != nil && cur.Has(FeatRMSDBFS)
	if haveLevel {
		level := max(cur.RMSDBFS, -70)
		if s.havePrevLevel {
			change = min(math.Abs(level-s.prevLevel), 20)
		}
		s.prevLevel, s.havePrevLevel = level, true
	} else {
		s.havePrevLevel = false
	}
	s.sync.Push(mouth, change, haveMouth && haveLevel)
	s.offset.Push(mouth, change, haveMouth && haveLevel)
	s.lastOff, s.haveOff = 0, false
	if c, lag, ok := s.offset.Score(); ok {
		s.last["av_sync_offset"], s.last["av_sync_offset_lag_ms"] = c, lag
		s.lastOff, s.haveOff = c, true
	}
	if z, lag, ok := s.sync.Score(); ok {
		s.last["av_sync_z"], s.last["av_sync_lag_ms"] = z, lag
		s.lastZ, s.haveZ = z, true
	} else {
		s.haveZ = false
	}
	face, haveFace := s.frame["face_bearing_deg"]
	if haveFace && cur != nil && cur.Has(FeatBearing) {
		// The sound's bearing is the robot's; the face's, the camera's.
		face = RobotBearing(face, s.yawDeg)
		if g, ok := BearingAgreement(cur.BearingDeg, cur.BearingStdDeg, face, s.frame["face_bearing_std_deg"]); ok {
			s.last["av_bearing_agreement"] = g
		}
	}
}

// frameEvidence copies this frame's visual and cross-modal measurements
// into a step's bundle evidence.
func (s *visualSummary) frameEvidence(be *bundleEvidence) {
	if s.features == nil {
		return
	}
	be.faces = s.frame["faces"]
	be.face, be.hasFace = s.frame["face_bearing_deg"]
	be.faceStd = s.frame["face_bearing_std_deg"]
	be.mouth, be.hasMouth = s.frame["mouth_motion"]
	be.fg, be.hasFG = s.frame["video_foreground"]
	be.syncZ, be.hasSync = s.lastZ, s.haveZ
	be.syncOff, be.hasSyncOff = s.lastOff, s.haveOff
}

// evidence adds the interval's visual and cross-modal features to ev and
// starts the next interval.
func (s *visualSummary) evidence(ev map[string]float64) {
	for k, x := range s.last {
		ev[k] = x
	}
	clear(s.last)
}

// Close releases the visual features' resources (cfg.Visual).
func (a *Activity) Close() error {
	err := closeCameras(a.more)
	if a.cfg.Backend == nil { // its own CPU backend: stop the workers
		_ = a.backend.Close()
	}
	if a.vis.features != nil {
		return errors.Join(a.vis.features.Close(), err)
	}
	return err
}
