package fuse

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

func TestModelRoundTripAndMismatch(t *testing.T) {
	var b bytes.Buffer
	if err := WriteModel(&b, DefaultModel(), "test"); err != nil {
		t.Fatal(err)
	}
	m, err := ParseModel("m.txt", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if m.Heads[HeadAV][KindSpeech].Bias != -3 {
		t.Fatal(m.Heads[HeadAV][KindSpeech])
	}
	bad := strings.Replace(b.String(), "a_vad:audio", "a_loud:audio", 1)
	if _, err := ParseModel("m.txt", []byte(bad)); err == nil || !strings.Contains(err.Error(), "m.txt:3: feature 2 is \"a_loud:audio\"") {
		t.Fatalf("got %v", err)
	}
	short := strings.Replace(b.String(), " v_fg:video", "", 1)
	if _, err := ParseModel("m.txt", []byte(short)); err == nil || !strings.Contains(err.Error(), "m.txt:3: model has 15 features") {
		t.Fatalf("got %v", err)
	}
}

// TestDeciderContributionsSumAndDegraded: every decision's contributions
// sum to its logit; a missing modality contributes 0 and degrades.
func TestDeciderContributionsSumAndDegraded(t *testing.T) {
	d, err := NewDecider(DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60, ChangeBearingDeg: 15, HeartbeatNS: 2e9})
	if err != nil {
		t.Fatal(err)
	}
	speech := map[string]float64{"vad_speech_fraction": 1, "vad_score": 4, "audio_level_dbfs": -20, "doa_bearing_deg": 10, "doa_bearing_std_deg": 3,
		"motion_energy": 0.2, "motion_x": 0.6, "audio_coverage": 1, "faces": 1, "face_bearing_deg": 9, "face_bearing_std_deg": 3, "mouth_motion": 6, "av_sync_z": 4}
	quiet := map[string]float64{"audio_level_dbfs": -60, "motion_energy": 0, "audio_coverage": 1}
	var kinds []string
	for i, c := range []struct {
		ev      map[string]float64
		missing []string
	}{{quiet, nil}, {speech, nil}, {speech, nil}, {speech, []string{"video"}}, {quiet, nil}, {quiet, nil}, {quiet, nil}, {quiet, nil}, {quiet, nil}} {
		ds, err := d.Observe(nil, "r", c.ev, c.missing, int64(i)*5e8, av.Stamps{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ds {
			var sum float64
			for _, v := range x.Contributions {
				sum += v
			}
			if math.Abs(sum-x.Logit) > 1e-12 {
				t.Fatalf("%s: contributions %v sum to %v, logit %v", x.Kind, x.Contributions, sum, x.Logit)
			}
			if x.Degraded != (len(c.missing) > 0) || len(c.missing) > 0 && (x.Contributions[ModVideo] != 0 || x.Contributions[ModAudioVideo] != 0) {
				t.Fatalf("%s degraded %v contributions %v", x.Kind, x.Degraded, x.Contributions)
			}
			kinds = append(kinds, x.Kind+":"+[]string{"beat", "on", "change", "end"}[int(x.Evidence["transition"])])
		}
	}
	got := strings.Join(kinds, " ")
	for _, want := range []string{"speech:on", "speaker:on", "speech:end"} {
		if !strings.Contains(got, want) {
			t.Errorf("transitions %q lack %q", got, want)
		}
	}
	if strings.Count(got, "speech:on") != 1 {
		t.Errorf("speech published on more than once (no hysteresis?): %s", got)
	}
}

// TestDecisionsGolden: the decisions a fixed interval sequence produces,
// field by field, against testdata/decisions.golden (go test -update).
func TestDecisionsGolden(t *testing.T) {
	d, err := NewDecider(DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60, ChangeBearingDeg: 15, HeartbeatNS: 2e9})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range 24 {
		x := float64(i)
		ev := map[string]float64{"audio_level_dbfs": -60, "audio_coverage": 1, "motion_energy": 0}
		if i >= 4 && i < 12 {
			ev["vad_speech_fraction"], ev["vad_score"], ev["audio_level_dbfs"] = 1, 4, -20
			ev["doa_bearing_deg"], ev["doa_bearing_std_deg"] = -10+x, 3
		}
		if i >= 2 && i < 16 {
			ev["motion_energy"], ev["motion_x"] = 0.15, 0.4+0.01*x
		}
		if i == 14 {
			ev["audio_onsets"], ev["audio_level_dbfs"] = 2, -10
		}
		var missing []string
		if i >= 18 && i < 20 {
			missing = []string{"video"}
		}
		ds, err := d.Observe(nil, "r", ev, missing, int64(i)*5e8, av.Stamps{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ds {
			fmt.Fprintf(&b, "t=%4.1f %-11s state=%-8s tr=%v active=%v conf=%.4f logit=%+.4f prior=%+.4f audio=%+.4f video=%+.4f av=%+.4f missing=%v degraded=%v",
				float64(x.TimeNS)/1e9, x.Kind, x.State, x.Evidence["transition"], x.Evidence["active"], x.Confidence, x.Logit,
				x.Contributions["prior"], x.Contributions[ModAudio], x.Contributions[ModVideo], x.Contributions[ModAudioVideo], x.Missing, x.Degraded)
			if v, ok := x.Evidence["bearing_deg"]; ok {
				fmt.Fprintf(&b, " bearing=%.2f", v)
			}
			b.WriteString("\n")
		}
	}
	path := filepath.Join("testdata", "decisions.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./fuse -run DecisionsGolden -update writes it)", err)
	}
	if string(want) != b.String() {
		t.Fatalf("decisions differ from %s (go test -update to accept):\n%s", path, b.String())
	}
}

// TestReliability: a loud room's noise floor and a small face lower their
// modality's weight; a quiet room and a large face keep it at 1.
func TestReliability(t *testing.T) {
	for _, c := range []struct {
		floorDBFS, faceStd float64
		wantA, wantV       float64
	}{{-60, 2, 1, 1}, {-30, 2, 0.5, 1}, {-20, 0.5, 0.25, 0.5}} {
		d, err := NewDecider(DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60, HeartbeatNS: 1})
		if err != nil {
			t.Fatal(err)
		}
		var last []*av.Decision
		for i := range 4 {
			ev := map[string]float64{"audio_level_dbfs": c.floorDBFS, "audio_coverage": 1, "faces": 1, "face_bearing_deg": 3, "face_bearing_std_deg": c.faceStd}
			if last, err = d.Observe(nil, "r", ev, nil, int64(i)*5e8, av.Stamps{}); err != nil {
				t.Fatal(err)
			}
		}
		if len(last) == 0 {
			t.Fatal("no heartbeat")
		}
		ev := last[0].Evidence
		if ev["reliability_audio"] != c.wantA || ev["reliability_video"] != c.wantV {
			t.Errorf("floor %v dBFS, face σ %v°: reliability audio %v video %v, want %v %v", c.floorDBFS, c.faceStd, ev["reliability_audio"], ev["reliability_video"], c.wantA, c.wantV)
		}
	}
}

// TestSpeechTimedAtVAD: the head decides that speech began or ended; the
// decision is timed at the VAD decision within the step window that
// turned speech on (off), its latency counted from there, and never at
// or before the kind's last published transition.
func TestSpeechTimedAtVAD(t *testing.T) {
	d, err := NewDecider(DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: 60})
	if err != nil {
		t.Fatal(err)
	}
	speech := func(timeNS int64, ev map[string]float64) *av.Decision {
		t.Helper()
		var stamps av.Stamps
		stamps[av.StageCapture] = timeNS
		out, err := d.Observe(nil, "r", ev, []string{"video"}, timeNS, stamps)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range out {
			if x.Kind == KindSpeech {
				return x
			}
		}
		return nil
	}
	loud := func(extra map[string]float64) map[string]float64 {
		ev := map[string]float64{"vad_speech_fraction": 1, "vad_score": 4, "audio_level_dbfs": -20}
		maps.Copy(ev, extra)
		return ev
	}
	quiet := func(extra map[string]float64) map[string]float64 {
		ev := map[string]float64{"vad_speech_fraction": 0, "vad_score": -5, "audio_level_dbfs": -70}
		maps.Copy(ev, extra)
		return ev
	}
	if x := speech(1e9, quiet(nil)); x != nil {
		t.Fatalf("silence: %+v", x.Decision)
	}
	on := speech(2e9, loud(map[string]float64{"vad_on_age_ns": 40e6}))
	if on == nil || on.State != "active" || on.TimeNS != 2e9-40e6 || on.Stamps[av.StageCapture] != on.TimeNS {
		t.Fatalf("onset: %+v", on)
	}
	end := speech(3e9, quiet(map[string]float64{"vad_off_age_ns": 30e6}))
	if end == nil || end.State != "inactive" || end.TimeNS != 3e9-30e6 {
		t.Fatalf("end: %+v", end)
	}
	// A VAD turn before the last published transition: the step's time.
	on = speech(3e9+10e6, loud(map[string]float64{"vad_on_age_ns": 50e6}))
	if on == nil || on.TimeNS != 3e9+10e6 || on.Stamps[av.StageCapture] != on.TimeNS {
		t.Fatalf("onset before the last end: %+v", on)
	}
	// No VAD turn in the window: the step's time.
	end = speech(4e9, quiet(nil))
	if end == nil || end.TimeNS != 4e9 {
		t.Fatalf("end without a VAD turn: %+v", end)
	}
}
