package fuse

import (
	"fmt"
	"math"
	"slices"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// DecideConfig configures Decider.
type DecideConfig struct {
	// Model is the fusion head; nil: DefaultModel.
	Model *Model
	// A kind turns on when its confidence reaches OnConfidence and off when
	// it falls below OffConfidence (hysteresis; Off ≤ On).
	OnConfidence, OffConfidence float64
	// HeartbeatNS re-publishes every kind's current state when this much
	// capture time passed since the last heartbeat; 0: no heartbeat.
	HeartbeatNS int64
	// ChangeBearingDeg: an active kind whose bearing moved this far since it
	// was last published is published again (a change).
	ChangeBearingDeg float64
	// HFOVDeg is the camera's horizontal field of view, for the bearing of
	// motion (motion_x).
	HFOVDeg float64
	// Backend runs the head (Dense); nil: CPU.
	Backend Backend
}

// MotionTargetEnergy is the motion energy (grey levels) above which the
// moving blocks' centre counts as a seen target with a bearing.
const MotionTargetEnergy = 0.02

// DOAMinStdDeg floors the sound bearing's uncertainty: the DOA reports
// ~2° where, on the synthetic eval scenes, it reads up to ~8° off (it
// pulls small delays toward 0°).
const DOAMinStdDeg = 8.0

// Transition codes, published as evidence "transition".
const (
	TransitionHeartbeat = 0
	TransitionOnset     = 1
	TransitionChange    = 2
	TransitionEnd       = 3
	transitionNone      = -1
)

// KindState is one kind's fused state after an interval.
type KindState struct {
	Kind          string
	Logit         float64
	Confidence    float64
	Contributions [4]float64 // prior, audio, video, audio_video
	Active        bool
	HasBearing    bool
	BearingDeg    float64
	BearingStdDeg float64
	Transition    int // transitionNone when nothing is published
}

// Decider turns each interval's evidence (the activity decision's) into
// the decision kinds speech, presence, motion, sound_event and speaker:
// per-modality evidence through the fusion head (reliability-weighted
// log-odds, one Dense call per interval), with hysteresis, published on
// onset, change and end, plus a heartbeat. It is a pure function of the
// intervals given to it.
type Decider struct {
	cfg     DecideConfig
	model   *Model
	backend Backend
	w       map[string][]float32 // head → in × out weights, out = kinds × 3 modalities
	zeroB   []float32
	x, dst  []float32

	prevLevel, prevMotion         float64
	havePrevLevel, havePrevMotion bool
	agreeMem                      float64 // best av agreement of the current utterance
	floor                         float64 // tracked audio noise floor, dBFS
	haveFloor                     bool
	rel                           [2]float64 // this interval's audio and video reliability
	state                         []KindState
	published                     []KindState // last published state per kind
	missing                       string      // last interval's missing modalities
	beatNS                        int64
	haveBeat                      bool
}

var mods = []string{ModAudio, ModVideo, ModAudioVideo}

// NewDecider returns a Decider.
func NewDecider(cfg DecideConfig) (*Decider, error) {
	if cfg.Model == nil {
		cfg.Model = DefaultModel()
	}
	if cfg.OnConfidence <= 0 || cfg.OnConfidence >= 1 || cfg.OffConfidence <= 0 || cfg.OffConfidence > cfg.OnConfidence {
		return nil, fmt.Errorf("%w: decision thresholds on %v off %v: want 0 < off ≤ on < 1", ErrConfig, cfg.OnConfidence, cfg.OffConfidence)
	}
	if cfg.HeartbeatNS < 0 {
		return nil, fmt.Errorf("%w: negative heartbeat", ErrConfig)
	}
	if !(cfg.HFOVDeg > 0 && cfg.HFOVDeg < 180) {
		return nil, fmt.Errorf("%w: camera field of view %v° not in (0, 180)", ErrConfig, cfg.HFOVDeg)
	}
	b := cfg.Backend
	if b == nil {
		b = NewCPU()
	}
	nf, nk := len(HeadFeatures), len(DecisionKinds)
	d := &Decider{cfg: cfg, model: cfg.Model, backend: b, w: map[string][]float32{},
		zeroB: make([]float32, nk*len(mods)), x: make([]float32, nf), dst: make([]float32, nk*len(mods)),
		state: make([]KindState, nk), published: make([]KindState, nk)}
	for _, h := range headNames {
		w := make([]float32, nf*nk*len(mods))
		for k, kind := range DecisionKinds {
			kh := cfg.Model.Heads[h][kind]
			if kh == nil || len(kh.Weights) != nf {
				return nil, fmt.Errorf("%w: %s: head %s %s missing or of the wrong size", ErrModel, cfg.Model.Source, h, kind)
			}
			for f, hf := range HeadFeatures {
				m := slices.Index(mods, hf.Modality)
				w[f*nk*len(mods)+k*len(mods)+m] = float32(kh.Weights[f])
			}
		}
		d.w[h] = w
	}
	for i, k := range DecisionKinds {
		d.state[i].Kind, d.published[i].Kind = k, k
	}
	return d, nil
}

// Inputs are the head's inputs for one interval, with the bearings and
// reliabilities that go with them.
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
}

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }

// features computes the head inputs from an interval's evidence and its
// missing modalities, and advances the previous-interval state.
func (d *Decider) features(ev map[string]float64, missing []string) Inputs {
	in := Inputs{X: make([]float64, len(HeadFeatures))}
	in.AudioOK = !slices.Contains(missing, string(av.Audio))
	in.VideoOK = !slices.Contains(missing, string(av.Video))
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
		// 0.5 dB an interval. Audio in a loud room (floor above -40 dBFS)
		// is trusted less, down to a quarter at -25 dBFS.
		if lvl, ok := get("audio_level_dbfs"); ok {
			if !d.haveFloor || lvl < d.floor {
				d.floor, d.haveFloor = lvl, true
			} else {
				d.floor = min(lvl, d.floor+0.5)
			}
			in.AudioRel *= clamp((-20-d.floor)/20, 0.25, 1)
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
		if d.havePrevLevel {
			set("a_rise", clamp((lvl-d.prevLevel)/10, -2, 2))
		}
		d.prevLevel, d.havePrevLevel = lvl, true
		on, _ := get("audio_onsets")
		set("a_onset", clamp(on, 0, 2))
		ton, _ := get("audio_tonality")
		set("a_tonal", clamp(ton, 0, 1))
		if b, ok := get("doa_bearing_deg"); ok {
			in.HasAudioBearing, in.AudioBearing = true, b
			s, _ := get("doa_bearing_std_deg")
			in.AudioStd = max(s, DOAMinStdDeg)
			set("a_doa", 1)
		}
	} else {
		d.havePrevLevel = false
	}
	if in.VideoOK {
		in.VideoRel = 1
		me, _ := get("motion_energy")
		vm := clamp(math.Log1p(20*max(me, 0)), 0, 4)
		set("v_motion", vm)
		if d.havePrevMotion {
			set("v_rise", clamp(vm-d.prevMotion, -4, 4))
		}
		d.prevMotion, d.havePrevMotion = vm, true
		// Moving blocks locate a target only when they are more than
		// sensor noise (a few stray blocks beyond the floor).
		if mx, ok := get("motion_x"); ok && me >= MotionTargetEnergy {
			in.HasMotionBearing = true
			in.MotionBearing = d.xBearing(mx)
		}
		faces, _ := get("faces")
		if fb, ok := get("face_bearing_deg"); ok && faces > 0 {
			in.HasVisBearing, in.VisBearing = true, fb
			s, _ := get("face_bearing_std_deg")
			in.VisStd = max(s, 2)
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
	} else {
		d.havePrevMotion = false
	}
	if in.AudioOK && in.VideoOK {
		if in.HasAudioBearing && in.HasVisBearing {
			dd := in.AudioBearing - in.VisBearing
			in.Agree = math.Exp(-dd * dd / (2 * (in.AudioStd*in.AudioStd + in.VisStd*in.VisStd)))
		}
		set("av_agree", in.Agree)
		// The best agreement heard during this utterance: the DOA can lose
		// its peak for a moment (it pulls toward 0°), a speaker does not
		// jump.
		sp := in.X[featureIndex("a_speech")]
		if sp > 0 {
			d.agreeMem = max(d.agreeMem, in.Agree)
		} else {
			d.agreeMem = in.Agree
		}
		set("av_speech_agree", sp*d.agreeMem)
		set("av_onset_target", min(in.X[featureIndex("a_onset")], 1)*in.X[featureIndex("v_target")])
		if z, ok := get("av_sync_z"); ok {
			set("av_sync", clamp(z/3, -2, 2))
		}
	}
	return in
}

// Features computes one interval's head inputs, in order (it advances the
// previous-interval state as Step does); for training.
func (d *Decider) Features(ev map[string]float64, missing []string) Inputs {
	return d.features(ev, missing)
}

// Scaled returns the inputs as the head sees them: each feature times its
// modality's reliability (0 for a missing modality).
func (in *Inputs) Scaled() []float64 {
	out := make([]float64, len(in.X))
	for i, f := range HeadFeatures {
		r := min(in.AudioRel, in.VideoRel)
		switch f.Modality {
		case ModAudio:
			r = in.AudioRel
		case ModVideo:
			r = in.VideoRel
		}
		out[i] = in.X[i] * r
	}
	return out
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

// xBearing converts a fraction of the image width to a bearing (pinhole).
func (d *Decider) xBearing(x float64) float64 {
	t := math.Tan(d.cfg.HFOVDeg / 2 * math.Pi / 180)
	return math.Atan((2*x-1)*t) * 180 / math.Pi
}

// Step fuses one interval: it returns every kind's state (the Decider's
// own slice, valid until the next Step), with Transition set for the kinds
// to publish.
func (d *Decider) Step(ev map[string]float64, missing []string, timeNS int64) ([]KindState, error) {
	in := d.features(ev, missing)
	head := HeadAV
	switch {
	case in.AudioOK && !in.VideoOK:
		head = HeadAudio
	case !in.AudioOK && in.VideoOK:
		head = HeadVideo
	}
	rel := func(m string) float64 {
		switch m {
		case ModAudio:
			return in.AudioRel
		case ModVideo:
			return in.VideoRel
		}
		return min(in.AudioRel, in.VideoRel)
	}
	for i, f := range HeadFeatures {
		d.x[i] = float32(in.X[i] * rel(f.Modality))
	}
	d.rel = [2]float64{in.AudioRel, in.VideoRel}
	if err := d.backend.Dense(d.dst, d.x, 1, len(d.x), d.w[head], d.zeroB, len(d.dst), Linear); err != nil {
		return nil, err
	}
	missKey := fmt.Sprint(missing)
	missChanged := d.missing != missKey
	d.missing = missKey
	beat := false
	if d.cfg.HeartbeatNS > 0 {
		if !d.haveBeat {
			d.beatNS, d.haveBeat = timeNS, true
		} else if timeNS-d.beatNS >= d.cfg.HeartbeatNS {
			beat = true
			d.beatNS = timeNS
		}
	}
	for k, kind := range DecisionKinds {
		s := &d.state[k]
		s.Contributions[0] = d.model.Heads[head][kind].Bias
		s.Logit = s.Contributions[0]
		for m := range mods {
			c := float64(d.dst[k*len(mods)+m])
			if (mods[m] == ModAudio || mods[m] == ModAudioVideo) && !in.AudioOK || (mods[m] == ModVideo || mods[m] == ModAudioVideo) && !in.VideoOK {
				c = 0
			}
			s.Contributions[1+m] = c
			s.Logit += c
		}
		s.Confidence = sigmoid(s.Logit)
		was := s.Active
		if s.Active {
			s.Active = s.Confidence >= d.cfg.OffConfidence
		} else {
			s.Active = s.Confidence >= d.cfg.OnConfidence
		}
		d.bearing(s, kind, &in)
		pub := &d.published[k]
		s.Transition = transitionNone
		switch {
		case s.Active && !was:
			s.Transition = TransitionOnset
		case !s.Active && was:
			s.Transition = TransitionEnd
		case s.Active && (missChanged || s.HasBearing != pub.HasBearing ||
			s.HasBearing && math.Abs(s.BearingDeg-pub.BearingDeg) >= d.cfg.ChangeBearingDeg):
			s.Transition = TransitionChange
		case beat:
			s.Transition = TransitionHeartbeat
		}
		if s.Transition != transitionNone {
			*pub = *s
		}
	}
	return d.state, nil
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
			use((wa*in.AudioBearing+wv*in.VisBearing)/(wa+wv), math.Sqrt(1/(wa+wv)))
		case in.HasVisBearing:
			use(in.VisBearing, in.VisStd)
		case in.HasAudioBearing:
			use(in.AudioBearing, in.AudioStd)
		}
	}
}

// States returns every kind's state after the last Step (the Decider's
// own slice, valid until the next Step).
func (d *Decider) States() []KindState { return d.state }

// Observe fuses the interval an activity decision summarises and returns
// the decisions to publish (Seq unset), in DecisionKinds order. It reads
// act and keeps none of it.
func (d *Decider) Observe(act *av.Decision) ([]*av.Decision, error) {
	states, err := d.Step(act.Evidence, act.Missing, act.TimeNS)
	if err != nil {
		return nil, err
	}
	var out []*av.Decision
	for _, s := range states {
		if s.Transition == transitionNone {
			continue
		}
		out = append(out, d.decision(act, &s))
	}
	return out, nil
}

func (d *Decider) decision(act *av.Decision, s *KindState) *av.Decision {
	x := &av.Decision{
		Schema: av.DecisionSchema, Robot: act.Robot, Kind: s.Kind, TimeNS: act.TimeNS,
		Confidence: s.Confidence, Logit: s.Logit,
		Contributions: map[string]float64{"prior": s.Contributions[0]},
		Missing:       slices.Clone(act.Missing),
		Degraded:      len(act.Missing) > 0,
		Evidence:      map[string]float64{"transition": float64(s.Transition), "active": b2f(s.Active)},
		Stamps:        act.Stamps,
		State:         av.StateInactive,
	}
	if s.Active {
		x.State = av.StateActive
	}
	if x.Missing == nil {
		x.Missing = []string{}
	}
	for m, name := range mods {
		x.Contributions[name] = s.Contributions[1+m]
	}
	x.Evidence["reliability_audio"], x.Evidence["reliability_video"] = d.rel[0], d.rel[1]
	if s.HasBearing {
		x.Evidence["bearing_deg"] = s.BearingDeg
		x.Evidence["bearing_std_deg"] = s.BearingStdDeg
	}
	for i, f := range HeadFeatures {
		if v := float64(d.x[i]); v != 0 {
			x.Evidence["in_"+f.Name] = v
		}
	}
	return x
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
