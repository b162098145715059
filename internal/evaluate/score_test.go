package evaluate

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

const origin = int64(1_700_000_000) * 1e9

func dec(kind string, atS float64, state string, latencyMS int64) *av.Decision {
	return &av.Decision{Decision: decision.Decision{Kind: kind, TimeNS: origin + int64(atS*1e9), State: state,
		LatencyNS: map[string]int64{"capture_to_publish": latencyMS * 1e6}, Evidence: map[string]float64{}}}
}

func mustLabels(t *testing.T, s string) *Labels {
	t.Helper()
	ls, err := ParseLabels("t.txt", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func kindOf(res *Result, kind string) KindResult {
	for _, k := range res.Kinds {
		if k.Kind == kind {
			return k
		}
	}
	panic(kind)
}

func TestScoreKnownAnswers(t *testing.T) {
	// 10 s; speech labelled 2–4 s and 6–7 s. The decider turns speech on
	// at 2.2 s (published 50 ms later), off at 4.3 s (40 ms), on again at
	// 8 s (a false alarm) and is unknown from 9 s.
	r := &Run{Clip: "c", Config: "fused", Audio: true, Video: true, OriginNS: origin, EndNS: origin + 10e9,
		Labels: mustLabels(t, "2\t4\tspeech\n6\t7\tspeech\n"),
		Decisions: []*av.Decision{
			dec("activity", 0.5, decision.StateActive, 0),
			dec("speech", 2.2, decision.StateActive, 50),
			dec("speech", 3, decision.StateActive, 50), // a heartbeat
			dec("speech", 4.3, decision.StateInactive, 40),
			dec("speech", 8, decision.StateActive, 0),
			dec("speech", 9, decision.StateUnknown, 0),
		}}
	k := kindOf(Score(r), "speech")
	// Steps of 10 ms, state at each step's middle.
	if k.TP != 180 || k.FN != 20+100 || k.FP != 30+100 || k.Unknown != 100 || k.UnknownLabelled != 0 || k.TN != 1000-180-120-130-100 {
		t.Errorf("TP %d FN %d FP %d TN %d unknown %d", k.TP, k.FN, k.FP, k.TN, k.Unknown)
	}
	if k.Active != 180+30+100 {
		t.Errorf("active steps %d", k.Active)
	}
	// Onset 2–4 s: 200 ms + 50 ms; 6–7 s: none (nothing active by 7 s).
	if k.Onsets != 2 || len(k.OnsetsNS) != 1 || k.OnsetsNS[0] != 250e6 {
		t.Errorf("onsets %d, latencies %v", k.Onsets, k.OnsetsNS)
	}
	// End of 2–4 s: 300 ms + 40 ms; of 6–7 s: already inactive, 0.
	if k.Ends != 2 || len(k.EndsNS) != 2 || k.EndsNS[0] != 340e6 || k.EndsNS[1] != 0 {
		t.Errorf("ends %d, latencies %v", k.Ends, k.EndsNS)
	}
	rep := NewReport([]*Result{Score(r)})
	row := rep.Rows[0]
	if row.Kind != "speech" || *row.Precision != 180.0/310 || *row.Recall != 180.0/300 {
		t.Errorf("row %+v", row)
	}
	if row.OnsetLatency.P50MS != 250 || row.EndLatency.P95MS != 340 || row.EndLatency.P50MS != 0 {
		t.Errorf("latency %+v %+v", row.OnsetLatency, row.EndLatency)
	}
	if row.UnknownFraction != 0.1 || row.ActiveFraction != 0.31 {
		t.Errorf("fractions %v %v", row.ActiveFraction, row.UnknownFraction)
	}
}

func TestScoreSkipsWhatTheRunCannotSense(t *testing.T) {
	// Audio removed: speech, sound_event and speaker labels are skipped
	// and counted; speech unknown all along is reported as unknown time;
	// motion is scored.
	r := &Run{Clip: "c", Variant: "noaudio", Config: "fused", Video: true, OriginNS: origin, EndNS: origin + 2e9,
		Labels: mustLabels(t, "0\t1\tspeech\n0\t1\tspeaker:10\n0\t2\tmotion\n0.5\t0.7\tsound_event\n"),
		Decisions: []*av.Decision{
			dec("speech", 0, decision.StateUnknown, 0),
			dec("motion", 0.1, decision.StateActive, 0),
		}}
	res := Score(r)
	for _, kind := range []string{"speech", "sound_event", "speaker"} {
		k := kindOf(res, kind)
		if k.Scored || k.LabelsSkipped != 1 || k.Labels != 0 || k.TP+k.FP+k.FN+k.TN != 0 {
			t.Errorf("%s: %+v", kind, k)
		}
	}
	if k := kindOf(res, "speech"); k.Unknown != 200 {
		t.Errorf("speech unknown steps %d", k.Unknown)
	}
	if k := kindOf(res, "motion"); !k.Scored || k.TP != 190 || k.FN != 10 || k.Labels != 1 {
		t.Errorf("motion: %+v", k)
	}
	rep := NewReport([]*Result{res})
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"variant":"noaudio","config":"fused","kind":"speech","clips":1,"composite_clips":0,"precision":null,"recall":null,"f1":null`) {
		t.Errorf("JSON: %s", b.String())
	}
	b.Reset()
	rep.Table(&b)
	if !strings.Contains(b.String(), "| noaudio | fused | speech | – | – | – | 2.0 | 0 (1) |") {
		t.Errorf("table:\n%s", b.String())
	}
}

// TestScoreTimedBeforeLabel: a decision timed before a labelled start or
// end (a speech onset or end timed at its VAD decision) but published
// after it counts from the label to its publication, not as already
// there; one published before the label counts 0.
func TestScoreTimedBeforeLabel(t *testing.T) {
	r := &Run{Clip: "c", Config: "fused", Audio: true, Video: true, OriginNS: origin, EndNS: origin + 10e9,
		Labels: mustLabels(t, "2\t4\tspeech\n6\t7\tspeech\n"),
		Decisions: []*av.Decision{
			dec("speech", 1.98, decision.StateActive, 100),  // published at 2.08 s
			dec("speech", 1.99, decision.StateActive, 500),  // a heartbeat: repeats, does not enter
			dec("speech", 3.99, decision.StateInactive, 70), // published at 4.06 s
			dec("speech", 5.5, decision.StateActive, 10),    // published before 6 s
			dec("speech", 6.9, decision.StateInactive, 10),  // published at 6.91 s
		}}
	k := kindOf(Score(r), "speech")
	if want := []int64{80e6, 0}; !slices.Equal(k.OnsetsNS, want) {
		t.Errorf("onsets %v, want %v", k.OnsetsNS, want)
	}
	if want := []int64{60e6, 0}; !slices.Equal(k.EndsNS, want) {
		t.Errorf("ends %v, want %v", k.EndsNS, want)
	}
}

// TestScoreFlicker: changes of state inside a label once the kind was on
// there count as flicker; the onset into the label, a heartbeat and a
// change outside labels do not.
func TestScoreFlicker(t *testing.T) {
	r := &Run{Clip: "c", Config: "fused", Audio: true, Video: true, OriginNS: origin, EndNS: origin + 10e9,
		Labels: mustLabels(t, "1\t3\tspeech\n5\t7\tspeech\n"),
		Decisions: []*av.Decision{
			dec("speech", 1.1, decision.StateActive, 0),   // the onset: no flip
			dec("speech", 1.5, decision.StateActive, 0),   // a heartbeat
			dec("speech", 2.0, decision.StateInactive, 0), // a false end: 1
			dec("speech", 2.2, decision.StateActive, 0),   // and on again: 2
			dec("speech", 3.1, decision.StateInactive, 0), // after the label
			dec("speech", 4.5, decision.StateActive, 0),   // on before the next label
			dec("speech", 6.0, decision.StateUnknown, 0),  // 3
			dec("speech", 6.5, decision.StateActive, 0),   // 4
		}}
	k := kindOf(Score(r), "speech")
	if k.Flips != 4 || k.LabelledNS != 4e9 {
		t.Errorf("flips %d over %d ns, want 4 over 4 s", k.Flips, k.LabelledNS)
	}
	if row := NewReport([]*Result{Score(r)}).Rows[0]; row.FlipsInLabels != 4 || row.FlipsPerS != 1 {
		t.Errorf("row: %d flips, %.2f/s; want 4, 1/s", row.FlipsInLabels, row.FlipsPerS)
	}
}
