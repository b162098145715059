package fuse

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// DecideConfig configures Decider.
type DecideConfig struct {
	// Model is the fusion head; nil: DefaultModel.
	Model *Model
	// A kind turns on when its confidence reaches OnConfidence and off when
	// it stayed below OffConfidence for MinOffNS (hysteresis; Off ≤ On).
	OnConfidence, OffConfidence float64
	MinOffNS                    int64
	// HeartbeatNS re-publishes every kind's current state when this much
	// capture time passed since the last heartbeat; 0: no heartbeat.
	HeartbeatNS int64
	// ChangeBearingDeg: an active kind whose bearing moved this far since it
	// was last published is published again (a change).
	ChangeBearingDeg float64
	// HFOVDeg is the camera's horizontal field of view, for the bearing of
	// motion (motion_x).
	HFOVDeg float64
	// Camera is the camera's stream name, published on the kinds decided
	// on what it sees (CameraKind); "" without a camera.
	Camera string
	// CameraYawDeg is the camera's yaw in the robot frame (configs.Pose):
	// the visual bearings (face_bearing_deg, motion_x), in the camera's
	// frame, are turned by it into the robot frame of the sound's bearing
	// before they are compared or published (frame.go).
	CameraYawDeg float64
	// Backend runs the head (Dense); nil: CPU.
	Backend Backend
	// cameraOnly makes decisions of the camera kinds alone (a camera
	// beyond the first: the heard kinds are the first camera's).
	cameraOnly bool
}

// MotionTargetEnergy is the motion energy (grey levels) above which the
// moving blocks' centre counts as a seen target with a bearing.
const MotionTargetEnergy = 0.02

// DOAMinStdDeg floors the sound bearing's uncertainty: the DOA reports
// ~2° where, on the synthetic eval scenes, it reads up to ~8° off (it
// pulls small delays toward 0°).
const DOAMinStdDeg = 8.0

// SyncOffsetScale is the offset confidence (av_sync_offset, a difference
// of correlations) that counts as full evidence of a voice out of time
// with the mouth: av_sync_off is -av_sync_offset / SyncOffsetScale, in
// [0, 2]. Chosen on the real-media benchmark's validation split.
const SyncOffsetScale = 0.2

// Transition codes, published as evidence "transition".
const (
	TransitionHeartbeat = 0
	TransitionOnset     = 1
	// TransitionChange: the bearing moved, or the missing modalities
	// changed (a kind entering or leaving state unknown).
	TransitionChange = 2
	TransitionEnd    = 3
	transitionNone   = -1
)

// KindState is one kind's fused state after a step.
type KindState struct {
	Kind          string
	Logit         float64
	Confidence    float64
	Contributions [4]float64 // prior, audio, video, audio_video
	Active        bool
	// Unknown: the kind's sensing modality is missing (KindSense); Active
	// is false and Confidence the model's prior.
	Unknown       bool
	HasBearing    bool
	BearingDeg    float64
	BearingStdDeg float64
	Transition    int // transitionNone when nothing is published
	// TimeNS is the capture time the transition is timed at: the step's,
	// or, for a speech onset or end, the VAD's (Inputs.VADOnNS, VADOffNS).
	TimeNS int64
}

// Decider turns each step's evidence into the decision kinds speech,
// presence, motion, sound_event and speaker: the head features (Features)
// through the stateless Head (reliability-weighted log-odds, one Dense
// call), then a Tracker (hysteresis, unknown when the kind's sense is
// missing, onset, change, end and heartbeat). It is a pure function of
// the steps given to it.
type Decider struct {
	cfg   DecideConfig
	head  *Head
	track *Tracker
	rows  [1]HeadRow
	out   [1][]HeadScore
	rel   [2]float64 // this step's audio and video reliability
	x     []float32
	inX   []float64 // Inputs.X of the last step
	in    Inputs    // the last step's inputs
	// bearingFn is d.bearing, made once (a method value per step would
	// allocate).
	bearingFn func(*KindState, string, *Inputs)
}

var mods = []string{ModAudio, ModVideo, ModAudioVideo}

// NewDecider returns a Decider.
func NewDecider(cfg DecideConfig) (*Decider, error) {
	if cfg.Model == nil {
		cfg.Model = DefaultModel()
	}
	if !(cfg.HFOVDeg > 0 && cfg.HFOVDeg < 180) {
		return nil, fmt.Errorf("%w: camera field of view %v° not in (0, 180)", ErrConfig, cfg.HFOVDeg)
	}
	if !(cfg.CameraYawDeg >= -180 && cfg.CameraYawDeg <= 180) {
		return nil, fmt.Errorf("%w: camera yaw %v° not in [-180, 180]", ErrConfig, cfg.CameraYawDeg)
	}
	h, err := NewHead(cfg.Model, cfg.Backend)
	if err != nil {
		return nil, err
	}
	t, err := NewTracker(cfg)
	if err != nil {
		return nil, err
	}
	d := &Decider{cfg: cfg, head: h, track: t, x: make([]float32, len(HeadFeatures)), inX: make([]float64, len(HeadFeatures))}
	d.out[0] = make([]HeadScore, len(DecisionKinds))
	d.bearingFn = d.bearing
	return d, nil
}

// Inputs are the head's inputs for one step, with the bearings (all in the
// robot frame) and reliabilities that go with them.
type Inputs struct {
	X                      []float64 // len(HeadFeatures), before reliability
	AudioOK, VideoOK       bool
	AudioRel, VideoRel     float64
	HasAudioBearing        bool
	AudioBearing, AudioStd float64
	HasVisBearing          bool
	VisBearing, VisStd     float64
	HasMotionBearing       bool
	MotionBearing          float64
	Agree                  float64
	// VADOnNS and VADOffNS: where the speech began (ended) that the VAD
	// last turned on (off) within the step window (VADFrame.AtNS); 0
	// where it did not.
	VADOnNS, VADOffNS int64
}

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }

// features computes the head inputs from a step's evidence and its
// missing modalities, and advances the tracker's memory (the room's noise
// floor, the best agreement of the utterance).
func (d *Decider) features(ev map[string]float64, missing []string, timeNS int64) Inputs {
	clear(d.inX)
	in := Inputs{X: d.inX}
	in.AudioOK = !slices.Contains(missing, string(av.Audio))
	in.VideoOK = !slices.Contains(missing, string(av.Video))
	m := &d.track.st
	dtNS := int64(0)
	if m.HaveStep {
		dtNS = min(max(timeNS-m.StepNS, 0), int64(time.Second))
	}
	m.StepNS, m.HaveStep = timeNS, true
	set := func(name string, v float64) { in.X[featureIndex(name)] = v }
	get := func(name string) (float64, bool) {
		v, ok := ev[name]
		if ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
			return 0, false
		}
		return v, ok
	}
	if in.AudioOK {
		in.AudioRel = 1
		if c, ok := get("audio_coverage"); ok {
			in.AudioRel = clamp(c, 0, 1)
		}
		// The room's noise floor: the level, tracked down at once and up by
		// 1 dB a second. Audio in a loud room (floor above -40 dBFS) is
		// trusted less, down to a quarter at -25 dBFS.
		if lvl, ok := get("audio_level_dbfs"); ok {
			if !m.HaveFloor || lvl < m.FloorDBFS {
				m.FloorDBFS, m.HaveFloor = lvl, true
			} else {
				m.FloorDBFS = min(lvl, m.FloorDBFS+float64(dtNS)/1e9)
			}
			in.AudioRel *= clamp((-20-m.FloorDBFS)/20, 0.25, 1)
		}
		sp, _ := get("vad_speech_fraction")
		set("a_speech", clamp(sp, 0, 1))
		vs, _ := get("vad_score")
		set("a_vad", clamp(vs/5, -2, 2))
		lvl, ok := get("audio_level_dbfs")
		if !ok {
			lvl = SilenceDBFS
		}
		set("a_level", clamp((lvl+50)/20, -2, 2))
		rise, _ := get("audio_level_rise_db")
		set("a_rise", clamp(rise/10, -2, 2))
		on, _ := get("audio_onsets")
		set("a_onset", clamp(on, 0, 2))
		ton, _ := get("audio_tonality")
		set("a_tonal", clamp(ton, 0, 1))
		if age, ok := get("vad_on_age_ns"); ok && age >= 0 {
			in.VADOnNS = timeNS - int64(age)
		}
		if age, ok := get("vad_off_age_ns"); ok && age >= 0 {
			in.VADOffNS = timeNS - int64(age)
		}
		if b, ok := get("doa_bearing_deg"); ok {
			in.HasAudioBearing, in.AudioBearing = true, b
			s, _ := get("doa_bearing_std_deg")
			in.AudioStd = max(s, DOAMinStdDeg)
		}
	}
	var faceBearing, faceStd float64
	haveFace := false
	if in.VideoOK {
		in.VideoRel = 1
		me, _ := get("motion_energy")
		set("v_motion", motionScale(me))
		rise, _ := get("motion_rise")
		set("v_rise", clamp(rise, -4, 4))
		// Moving blocks locate a target only when they are more than
		// sensor noise (a few stray blocks beyond the floor).
		if mx, ok := get("motion_x"); ok && me >= MotionTargetEnergy {
			in.HasMotionBearing = true
			in.MotionBearing = RobotBearing(PixelBearing(mx, d.cfg.HFOVDeg), d.cfg.CameraYawDeg)
		}
		faces, _ := get("faces")
		if fb, ok := get("face_bearing_deg"); ok && faces > 0 {
			fb = RobotBearing(fb, d.cfg.CameraYawDeg) // the evidence's is the camera's
			haveFace, faceBearing = true, fb
			s, _ := get("face_bearing_std_deg")
			faceStd = max(s, 2)
			in.HasVisBearing, in.VisBearing, in.VisStd = true, fb, faceStd
			set("v_faces", 1)
			// A small face (its angular width is 4 × its bearing's
			// uncertainty) is seen less reliably: half weight below 3°.
			if s > 0 {
				in.VideoRel = clamp(4*s/6, 0.5, 1)
			}
		} else if in.HasMotionBearing {
			in.HasVisBearing, in.VisBearing, in.VisStd = true, in.MotionBearing, 3
		}
		if in.HasVisBearing {
			set("v_target", 1)
		}
		mo, _ := get("mouth_motion")
		set("v_mouth", clamp(mo/5, 0, 3))
		fg, _ := get("video_foreground")
		set("v_fg", clamp(4*fg, 0, 4))
	}
	if in.AudioOK && in.VideoOK {
		sp := in.X[featureIndex("a_speech")]
		// The mouth moves (fully from 2 grey levels): a still face — a
		// photograph, a frozen image — joins no voice, however its noise
		// happens to correlate with it.
		mo, _ := get("mouth_motion")
		mouth := clamp(mo/2, 0, 1)
		if in.HasAudioBearing && in.HasVisBearing {
			dd := BearingDiff(in.AudioBearing, in.VisBearing)
			in.Agree = math.Exp(-dd * dd / (2 * (in.AudioStd*in.AudioStd + in.VisStd*in.VisStd)))
		}
		// The voice joins a face only where the face moves its mouth; the
		// best agreement heard during this utterance counts, because the
		// DOA can lose its peak for a moment and a speaker does not jump.
		faceAgree := 0.0
		if haveFace && in.HasAudioBearing {
			dd := BearingDiff(in.AudioBearing, faceBearing)
			faceAgree = mouth * math.Exp(-dd*dd/(2*(in.AudioStd*in.AudioStd+faceStd*faceStd)))
		}
		if sp > 0 {
			m.AgreeMem = max(m.AgreeMem, faceAgree)
		} else {
			m.AgreeMem = faceAgree
		}
		set("av_speech_agree", sp*m.AgreeMem)
		// The offset confidence: a mouth that moves with the voice at
		// another lag (a dub, a stream out of sync, someone else's voice
		// with the same rhythm) is evidence against its face speaking,
		// and it takes away the synchrony's evidence for it; without a
		// confidence (too little of both yet) neither counts.
		against := 0.0
		if c, ok := get("av_sync_offset"); ok {
			against = clamp(-c/SyncOffsetScale, 0, 2)
		}
		set("av_sync_off", against)
		if z, ok := get("av_sync_z"); ok {
			set("av_speech_sync", sp*mouth*clamp(z/3, 0, 2)*clamp(1-against, 0, 1))
		}
		set("av_onset_target", min(in.X[featureIndex("a_onset")], 1)*in.X[featureIndex("v_target")])
	}
	return in
}

// Features computes one step's head inputs, in order (it advances the
// tracker's memory as Step does); for training. The inputs' X is the
// Decider's own, valid until the next call.
func (d *Decider) Features(ev map[string]float64, missing []string, timeNS int64) Inputs {
	return d.features(ev, missing, timeNS)
}

// Scaled returns the inputs as the head sees them: each feature times its
// modality's reliability (0 for a missing modality).
func (in *Inputs) Scaled() []float64 {
	out := make([]float64, len(in.X))
	for i, f := range HeadFeatures {
		out[i] = in.X[i] * in.reliability(f.Modality)
	}
	return out
}

// reliability is the weight of a modality's features (the smaller of the
// two for cross-modal ones).
func (in *Inputs) reliability(modality string) float64 {
	switch modality {
	case ModAudio:
		return in.AudioRel
	case ModVideo:
		return in.VideoRel
	}
	return min(in.AudioRel, in.VideoRel)
}

// HeadFor returns the head used with these modalities present.
func (in *Inputs) HeadFor() string {
	switch {
	case in.AudioOK && !in.VideoOK:
		return HeadAudio
	case !in.AudioOK && in.VideoOK:
		return HeadVideo
	}
	return HeadAV
}

// Step fuses one step: it returns every kind's state (the Decider's own
// slice, valid until the next Step), with Transition set for the kinds to
// publish.
func (d *Decider) Step(ev map[string]float64, missing []string, timeNS int64) ([]KindState, error) {
	d.prepare(ev, missing, timeNS)
	if err := d.head.Eval(d.rows[:], d.out[:]); err != nil {
		return nil, err
	}
	return d.scored(d.out[0], missing, timeNS), nil
}

// prepare computes the step's inputs and head row (d.rows[0]) from its
// evidence, for the head to score.
func (d *Decider) prepare(ev map[string]float64, missing []string, timeNS int64) {
	d.in = d.features(ev, missing, timeNS)
	in := &d.in // the Decider's own: the tracker reads it, and a local would escape
	for i, f := range HeadFeatures {
		d.x[i] = float32(in.X[i] * in.reliability(f.Modality))
	}
	d.rel = [2]float64{in.AudioRel, in.VideoRel}
	d.rows[0] = HeadRow{X: d.x, Head: in.HeadFor()}
}

// scored runs the tracker on the head's scores of the row prepare made.
func (d *Decider) scored(score []HeadScore, missing []string, timeNS int64) []KindState {
	return d.track.Step(score, &d.in, missing, timeNS, d.bearingFn)
}

// bearing sets a kind's bearing from the inputs.
func (d *Decider) bearing(s *KindState, kind string, in *Inputs) {
	s.HasBearing, s.BearingDeg, s.BearingStdDeg = false, 0, 0
	use := func(b, sd float64) { s.HasBearing, s.BearingDeg, s.BearingStdDeg = true, b, sd }
	switch kind {
	case KindSpeech:
		if in.HasAudioBearing {
			use(in.AudioBearing, in.AudioStd)
		}
	case KindMotion:
		if in.HasMotionBearing {
			use(in.MotionBearing, 3)
		}
	case KindPresence, KindSoundEvent:
		switch {
		case in.HasVisBearing:
			use(in.VisBearing, in.VisStd)
		case in.HasAudioBearing:
			use(in.AudioBearing, in.AudioStd)
		}
	case KindSpeaker:
		switch {
		case in.HasVisBearing && in.HasAudioBearing && in.Agree >= 0.1:
			wa, wv := 1/(in.AudioStd*in.AudioStd), 1/(in.VisStd*in.VisStd)
			// The sound's bearing taken the shorter way round from the
			// face's (itself unless they are more than 180° apart).
			a := in.VisBearing + BearingDiff(in.AudioBearing, in.VisBearing)
			if dd := in.AudioBearing - in.VisBearing; dd > -180 && dd <= 180 {
				a = in.AudioBearing
			}
			use(WrapDeg((wa*a+wv*in.VisBearing)/(wa+wv)), math.Sqrt(1/(wa+wv)))
		case in.HasVisBearing:
			use(in.VisBearing, in.VisStd)
		case in.HasAudioBearing:
			use(in.AudioBearing, in.AudioStd)
		}
	}
}

// States returns every kind's state after the last Step (the Decider's
// own slice, valid until the next Step).
func (d *Decider) States() []KindState { return d.track.kinds }

// Tracker returns the Decider's tracker, whose state can be saved and
// restored (TrackerState).
func (d *Decider) Tracker() *Tracker { return d.track }

// Observe fuses one step (its evidence, missing modalities and capture
// time) and appends the decisions to publish (Seq unset), in DecisionKinds
// order, to out. It keeps none of its arguments.
func (d *Decider) Observe(out []*av.Decision, robot string, ev map[string]float64, missing []string, timeNS int64, stamps av.Stamps) ([]*av.Decision, error) {
	states, err := d.Step(ev, missing, timeNS)
	if err != nil {
		return out, err
	}
	return d.transitions(out, robot, missing, timeNS, stamps, states), nil
}

// transitions appends the decisions of the states that changed.
func (d *Decider) transitions(out []*av.Decision, robot string, missing []string, timeNS int64, stamps av.Stamps, states []KindState) []*av.Decision {
	for _, s := range states {
		if s.Transition == transitionNone || (d.cfg.cameraOnly && !CameraKind(s.Kind)) {
			continue
		}
		out = append(out, d.decision(robot, missing, timeNS, stamps, &s))
	}
	return out
}

func (d *Decider) decision(robot string, missing []string, timeNS int64, stamps av.Stamps, s *KindState) *av.Decision {
	if s.TimeNS != timeNS {
		// Timed within the step (a speech onset or end at the VAD
		// decision that made it): its latency runs from that moment.
		timeNS, stamps[av.StageCapture] = s.TimeNS, s.TimeNS
	}
	x := &av.Decision{Decision: decision.Decision{
		Schema: decision.Schema, Robot: robot, Kind: s.Kind, TimeNS: timeNS,
		Confidence: s.Confidence, Logit: s.Logit,
		Contributions: map[string]float64{"prior": s.Contributions[0]},
		Missing:       slices.Clone(missing),
		Degraded:      len(missing) > 0,
		Evidence:      map[string]float64{"transition": float64(s.Transition), "active": b2f(s.Active)},
		State:         decision.StateInactive,
	}, Stamps: stamps}
	switch {
	case s.Unknown:
		x.State = decision.StateUnknown
	case s.Active:
		x.State = decision.StateActive
	}
	if x.Missing == nil {
		x.Missing = []string{}
	}
	for m, name := range mods {
		x.Contributions[name] = s.Contributions[1+m]
	}
	x.Evidence["reliability_audio"], x.Evidence["reliability_video"] = d.rel[0], d.rel[1]
	if CameraKind(s.Kind) {
		x.Camera = d.cfg.Camera
	}
	if s.HasBearing {
		x.Evidence["bearing_deg"] = s.BearingDeg
		x.Evidence["bearing_std_deg"] = s.BearingStdDeg
		robot := s.BearingDeg
		x.BearingDeg = &robot
		if x.Camera != "" {
			cam := CameraBearing(robot, d.cfg.CameraYawDeg)
			x.CameraBearingDeg = &cam
		}
	}
	for i, f := range HeadFeatures {
		if v := float64(d.x[i]); v != 0 {
			x.Evidence["in_"+f.Name] = v
		}
	}
	return x
}

// CameraKind reports whether a kind is decided per camera, on what the
// camera sees (motion, presence, speaker: the face that moves its mouth
// with the voice), and so names its camera; the heard kinds (speech,
// sound_event) are decided once for the audio scene.
func CameraKind(kind string) bool {
	switch kind {
	case KindMotion, KindPresence, KindSpeaker:
		return true
	}
	return false
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
