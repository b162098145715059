package fuse

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
	"gorgonia.org/tensor"
)

// models are the heads the properties must hold for: the shipped one and
// the hand-set one.
func models(t *testing.T) map[string]*Model {
	t.Helper()
	shipped, err := ParseModel(configs.ShippedModelPath, configs.ShippedModel)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*Model{"shipped": shipped, "handset": DefaultModel()}
}

// signedEvidence: for each kind, the raw evidence whose increase physics
// says can never lower it (av_sync_offset: more in time at lag 0 than at
// another lag).
var signedEvidence = map[string][]string{
	KindSpeech:     {"vad_speech_fraction", "vad_score"},
	KindMotion:     {"motion_energy", "video_foreground"},
	KindSpeaker:    {"av_sync_z", "av_sync_offset", "mouth_motion", "vad_speech_fraction"},
	KindPresence:   {"vad_speech_fraction", "motion_energy", "video_foreground"},
	KindSoundEvent: {"audio_onsets", "audio_level_rise_db"},
}

func randomEvidence(r *rand.Rand) map[string]float64 {
	ev := map[string]float64{
		"audio_coverage": r.Float64(), "audio_level_dbfs": -90 + 80*r.Float64(), "audio_level_rise_db": -20 + 40*r.Float64(),
		"vad_speech_fraction": r.Float64(), "vad_score": -10 + 20*r.Float64(), "audio_onsets": float64(r.IntN(3)),
		"audio_tonality": r.Float64(), "motion_energy": r.Float64() * r.Float64(), "motion_rise": -2 + 4*r.Float64(),
		"video_foreground": 0.3 * r.Float64(), "mouth_motion": 10 * r.Float64(), "av_sync_z": -4 + 10*r.Float64(),
	}
	if r.IntN(4) != 0 {
		ev["av_sync_offset"] = -0.8 + 1.2*r.Float64()
	}
	if r.IntN(2) == 0 {
		ev["motion_x"] = r.Float64()
	}
	if r.IntN(2) == 0 {
		ev["faces"], ev["face_bearing_deg"], ev["face_bearing_std_deg"] = 1, -30+60*r.Float64(), 0.5+3*r.Float64()
	}
	if r.IntN(2) == 0 {
		ev["doa_bearing_deg"], ev["doa_bearing_std_deg"] = -60+120*r.Float64(), 1+5*r.Float64()
	}
	return ev
}

func logitOf(t *testing.T, m *Model, ev map[string]float64, kind string) float64 {
	t.Helper()
	d, err := NewDecider(DecideConfig{Model: m, OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60})
	if err != nil {
		t.Fatal(err)
	}
	states, err := d.Step(ev, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return states[slices.Index(DecisionKinds, kind)].Logit
}

// TestSignedEvidenceIsMonotone: for every kind and every piece of evidence
// whose sign physics fixes, more of it never lowers the kind's logit, from
// random starting points, for the shipped and the hand-set head.
func TestSignedEvidenceIsMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for name, m := range models(t) {
		for _, kind := range DecisionKinds {
			for _, feat := range signedEvidence[kind] {
				for range 300 {
					ev := randomEvidence(r)
					lo := logitOf(t, m, ev, kind)
					up := ev[feat] + 0.01 + 3*r.Float64()*math.Max(math.Abs(ev[feat]), 1)
					if feat == "vad_speech_fraction" || feat == "video_foreground" {
						up = math.Min(up, 1)
					}
					ev[feat] = up
					if hi := logitOf(t, m, ev, kind); hi < lo-1e-9 {
						t.Fatalf("%s head: more %s lowered %s: %v → %v", name, feat, kind, lo, hi)
					}
				}
			}
		}
	}
}

// TestNoEvidenceNoClaim: a frozen image in silence (no motion, no
// foreground, a still face, no voice) makes no kind active.
func TestNoEvidenceNoClaim(t *testing.T) {
	frozen := map[string]float64{"audio_coverage": 1, "audio_level_dbfs": -70, "motion_energy": 0, "video_foreground": 0,
		"faces": 1, "face_bearing_deg": 5, "face_bearing_std_deg": 2, "mouth_motion": 0}
	talking := map[string]float64{"audio_coverage": 1, "audio_level_dbfs": -25, "vad_speech_fraction": 1, "vad_score": 5,
		"motion_energy": 0, "faces": 1, "face_bearing_deg": 5, "face_bearing_std_deg": 2, "mouth_motion": 0, "av_sync_z": 0}
	for name, m := range models(t) {
		for _, kind := range []string{KindMotion, KindSpeaker} {
			for evName, ev := range map[string]map[string]float64{"frozen, silent": frozen, "frozen, a voice": talking} {
				if c := sigmoid(logitOf(t, m, ev, kind)); c >= 0.4 {
					t.Errorf("%s head, %s: %s confidence %.3f", name, evName, kind, c)
				}
			}
		}
	}
}

// TestUnknownWhenSenseMissing: per kind and missing modality, the kind is
// unknown exactly when its sense is missing, with the model's prior as its
// confidence and nothing from the other modality.
func TestUnknownWhenSenseMissing(t *testing.T) {
	ev := map[string]float64{"audio_coverage": 1, "audio_level_dbfs": -20, "vad_speech_fraction": 1, "vad_score": 5, "audio_onsets": 2,
		"audio_level_rise_db": 20, "motion_energy": 0.5, "motion_x": 0.5, "video_foreground": 0.2, "faces": 1, "face_bearing_deg": 0,
		"face_bearing_std_deg": 2, "mouth_motion": 8, "av_sync_z": 5}
	for name, m := range models(t) {
		for _, missing := range [][]string{nil, {"audio"}, {"video"}} {
			d, err := NewDecider(DecideConfig{Model: m, OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60})
			if err != nil {
				t.Fatal(err)
			}
			ds, err := d.Observe(nil, "r", ev, missing, 0, av.Stamps{})
			if err != nil {
				t.Fatal(err)
			}
			states := d.States()
			for k, kind := range DecisionKinds {
				s := states[k]
				audioOK, videoOK := !slices.Contains(missing, "audio"), !slices.Contains(missing, "video")
				want := !Sensed(kind, audioOK, videoOK)
				if s.Unknown != want {
					t.Fatalf("%s head, missing %v: %s unknown %v, want %v", name, missing, kind, s.Unknown, want)
				}
				if want && (s.Active || math.Abs(s.Confidence-m.Priors[kind]) > 1e-9 || s.Contributions[1] != 0 || s.Contributions[2] != 0 || s.Contributions[3] != 0) {
					t.Fatalf("%s head, missing %v: unknown %s claims %+v", name, missing, kind, s)
				}
			}
			for _, x := range ds {
				unknown := x.State == decision.StateUnknown
				if unknown != !Sensed(x.Kind, !slices.Contains(missing, "audio"), !slices.Contains(missing, "video")) {
					t.Fatalf("%s: decision %s state %s with missing %v", name, x.Kind, x.State, missing)
				}
			}
		}
	}
	// The sensing table is the documented one.
	for kind, want := range map[string][3]bool{ // sensed with: both, audio only, video only
		KindSpeech: {true, true, false}, KindSoundEvent: {true, true, false}, KindMotion: {true, false, true},
		KindPresence: {true, true, true}, KindSpeaker: {true, false, false},
	} {
		got := [3]bool{Sensed(kind, true, true), Sensed(kind, true, false), Sensed(kind, false, true)}
		if got != want {
			t.Errorf("%s sensed %v, want %v", kind, got, want)
		}
	}
}

// TestParseModelRefusesBrokenPhysics: a weight against its sign, a feature
// outside the kind's, or a bias that claims without evidence is an error
// naming the line.
func TestParseModelRefusesBrokenPhysics(t *testing.T) {
	var b strings.Builder
	if err := WriteModel(&b, DefaultModel(), ""); err != nil {
		t.Fatal(err)
	}
	good := b.String()
	lines := strings.Split(good, "\n")
	find := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return i
			}
		}
		t.Fatalf("no line %q", prefix)
		return 0
	}
	edit := func(prefix string, field int, value string) string {
		ls := slices.Clone(lines)
		i := find(prefix)
		f := strings.Fields(ls[i])
		f[field] = value
		ls[i] = strings.Join(f, " ")
		return strings.Join(ls, "\n")
	}
	motion := 6 + featureIndex("v_motion")
	tonal := 6 + featureIndex("a_tonal")
	for _, c := range []struct{ model, want string }{
		{edit("head av motion", motion, "-1"), "v_motion has weight -1: more of it must never lower motion"},
		{edit("head av motion", tonal, "0.5"), "a_tonal may not count for motion"},
		{edit("head av speaker", 6+featureIndex("av_sync_off"), "0.5"), "av_sync_off has weight 0.5: more of it must never raise speaker"},
		{edit("head v speech", 6+featureIndex("a_speech"), "1"), "a_speech may not count for speech"},
		{edit("head av speaker", 4, "0.5"), "bias 0.5 above -1"},
	} {
		if _, err := ParseModel("m.txt", []byte(c.model)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// TestTrackerStateRoundTrip: a Decider whose tracker state was saved and
// restored into a fresh one decides every later step exactly as the
// original.
func TestTrackerStateRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cfg := DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, MinOffNS: 150e6, HFOVDeg: 60, HeartbeatNS: 1e9, ChangeBearingDeg: 15}
	a, _ := NewDecider(cfg)
	evs := make([]map[string]float64, 200)
	for i := range evs {
		evs[i] = randomEvidence(r)
	}
	for i := range 100 {
		if _, err := a.Step(evs[i], nil, int64(i)*33e6); err != nil {
			t.Fatal(err)
		}
	}
	saved, err := a.Tracker().MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewDecider(cfg)
	if err := b.Tracker().UnmarshalState(saved); err != nil {
		t.Fatal(err)
	}
	for i := 100; i < 200; i++ {
		sa, _ := a.Step(evs[i], nil, int64(i)*33e6)
		sb, _ := b.Step(evs[i], nil, int64(i)*33e6)
		if !slices.Equal(sa, sb) {
			t.Fatalf("step %d: %+v vs restored %+v", i, sa, sb)
		}
	}
	if err := b.Tracker().UnmarshalState([]byte(`{"kinds":[]}`)); err == nil {
		t.Fatal("a state without kinds restored")
	}
}

// TestHysteresisHoldsThroughPauses: a kind that dips below off for less
// than MinOff stays on; longer, it ends.
func TestHysteresisHoldsThroughPauses(t *testing.T) {
	d, _ := NewDecider(DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, MinOffNS: 150e6, HFOVDeg: 60})
	voice := map[string]float64{"audio_coverage": 1, "audio_level_dbfs": -25, "vad_speech_fraction": 1, "vad_score": 5}
	pause := map[string]float64{"audio_coverage": 1, "audio_level_dbfs": -60}
	k := slices.Index(DecisionKinds, KindSpeech)
	var flips int
	was := false
	for i := range 60 {
		ev := voice
		if i%10 >= 7 && i < 40 { // 100 ms pauses every 333 ms
			ev = pause
		}
		if i >= 40 {
			ev = pause
		}
		st, _ := d.Step(ev, nil, int64(i)*33_333_333)
		if st[k].Active != was {
			flips++
			was = st[k].Active
		}
	}
	if flips != 2 {
		t.Fatalf("speech flipped %d times, want on once and off once", flips)
	}
}

// failingDense is the CPU backend whose Dense always fails.
type failingDense struct{ *CPU }

func (failingDense) Dense(dst, x, w, bias *tensor.Dense, act Activation) error {
	return ErrShape
}

// TestHeadErrorIsReportedNotDropped: a failing head costs the step's
// decision kinds, is reported through OnHeadError every time, and the
// activity decisions go on.
func TestHeadErrorIsReportedNotDropped(t *testing.T) {
	cfg := testConfig()
	cfg.Backend = failingDense{NewCPU()}
	cfg.Decide = &DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60}
	var errs int
	cfg.OnHeadError = func(err error) {
		if !errors.Is(err, ErrShape) {
			t.Errorf("head error %v", err)
		}
		errs++
	}
	a, err := NewActivity(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	emit := func(d *av.Decision) { kinds = append(kinds, d.Kind) }
	for i := range 10 {
		a.Push(bundle(int64(i)*33, grayFrame(i*8, 0), sine(0.5, 480)), emit)
	}
	a.Flush(emit)
	if errs != 10 || len(kinds) == 0 || slices.ContainsFunc(kinds, func(k string) bool { return k != KindActivity }) {
		t.Fatalf("%d head errors, decisions %v", errs, kinds)
	}
}

// TestVoiceOutOfTimeIsNoSpeaker: a face whose mouth moves with the voice,
// in its direction, speaks; the same face and voice with the mouth moving
// with the voice half a second early (a dub; av_sync_offset negative) does
// not, for the shipped and the hand-set head.
func TestVoiceOutOfTimeIsNoSpeaker(t *testing.T) {
	talking := func(offset float64) map[string]float64 {
		return map[string]float64{"audio_coverage": 1, "audio_level_dbfs": -40, "vad_speech_fraction": 1, "vad_score": 5,
			"doa_bearing_deg": 5, "doa_bearing_std_deg": 2, "faces": 1, "face_bearing_deg": 5, "face_bearing_std_deg": 2,
			"mouth_motion": 6, "av_sync_z": 4, "av_sync_offset": offset}
	}
	for name, m := range models(t) {
		if c := sigmoid(logitOf(t, m, talking(0.3), KindSpeaker)); c < 0.6 {
			t.Errorf("%s head: in time, speaker confidence %.3f", name, c)
		}
		if c := sigmoid(logitOf(t, m, talking(-0.4), KindSpeaker)); c >= 0.4 {
			t.Errorf("%s head: 500 ms out of time, speaker confidence %.3f", name, c)
		}
	}
}
