package bench

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/internal/wavfile"
)

// TestScoreVAD: known counts on 10 ms steps and onset latencies.
func TestScoreVAD(t *testing.T) {
	truth := [][2]float64{{0.1, 0.3}, {0.5, 0.6}}
	// Finds the first segment 50 ms late, misses the second, one false
	// alarm at 0.8–0.85 s.
	segs := [][2]float64{{0.15, 0.3}, {0.8, 0.85}}
	s := scoreVAD(truth, segs, 1)
	if s.TP != 15 || s.FN != 5+10 || s.FP != 5 || s.Onsets != 2 || s.Missed != 1 {
		t.Fatalf("%+v", s)
	}
	if math.Abs(s.Precision-0.75) > 1e-9 || math.Abs(s.Recall-0.5) > 1e-9 || math.Abs(s.SpeechFraction-0.2) > 1e-9 {
		t.Errorf("P %v R %v speech %v", s.Precision, s.Recall, s.SpeechFraction)
	}
	// Latencies: 60 ms (to the end of the step at 0.15) and the missed
	// segment's length, 100 ms.
	if math.Abs(s.OnsetP50MS-60) > 1e-6 || math.Abs(s.OnsetP95MS-100) > 1e-6 {
		t.Errorf("onsets p50 %v p95 %v", s.OnsetP50MS, s.OnsetP95MS)
	}
}

func TestSpeechLabels(t *testing.T) {
	got, err := speechLabels("l.txt", []byte("0.5\t1.5\tspeech\n\\\t100\t200\n2\t3\tmusic\n4\t4.5\tspeech\n\n"))
	if err != nil || len(got) != 2 || got[0] != [2]float64{0.5, 1.5} || got[1] != [2]float64{4, 4.5} {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"1\n", "2\t1\tspeech\n", "x\t1\tspeech\n", "-1\t1\tspeech\n"} {
		if _, err := speechLabels("l.txt", []byte(bad)); err == nil || !strings.Contains(err.Error(), "l.txt:1: bad interval") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseVADList(t *testing.T) {
	clips, err := ParseVADList("list.tsv", []byte("a.wav\ta.txt\ta.json\nb.wav\tb.txt\n"))
	if err != nil || len(clips) != 2 || clips[0] != (VADClip{"a.wav", "a.txt", "a.json"}) || clips[1] != (VADClip{"b.wav", "b.txt", ""}) {
		t.Fatalf("%+v %v", clips, err)
	}
	for _, bad := range []string{"", "a.wav\ta.txt\nb.wav\n"} {
		if _, err := ParseVADList("list.tsv", []byte(bad)); err == nil || !strings.Contains(err.Error(), "want WAV<TAB>LABELS") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestVADReport: a clip of silence with a peer's segments: fusiond finds
// no speech, the peer's false alarm is counted, and the table and JSON
// carry both.
func TestVADReport(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "s.wav")
	writeSilence(t, wav, 16000, 16000)
	labels := filepath.Join(dir, "s.txt")
	os.WriteFile(labels, []byte("0.2\t0.4\tspeech\n"), 0o644)
	peers := filepath.Join(dir, "s.json")
	os.WriteFile(peers, []byte(`{"detectors":{"peer":[[0.2,0.5]]}}`), 0o644)
	rep, err := VAD([]VADClip{{wav, labels, peers}}, 16000, vadDefaults)
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Pooled["fusiond"]; f == nil || f.TP+f.FP != 0 || f.FN != 20 || f.Missed != 1 {
		t.Errorf("fusiond on silence: %+v", f)
	}
	if p := rep.Pooled["peer"]; p == nil || p.TP != 20 || p.FP != 10 {
		t.Errorf("peer: %+v", p)
	}
	var tab, js strings.Builder
	if err := rep.WriteTable(&tab); err != nil || !strings.Contains(tab.String(), "pooled over 1 clips") || !strings.Contains(tab.String(), "  peer             P 0.667 R 1.000") {
		t.Errorf("table:\n%s", tab.String())
	}
	if err := rep.WriteJSON(&js); err != nil || !strings.HasPrefix(js.String(), `{"clips":[{"file":`) || !strings.Contains(js.String(), `"pooled":{"fusiond":{"TP":0`) {
		t.Errorf("json: %s", js.String())
	}
	if _, err := VAD([]VADClip{{wav, filepath.Join(dir, "none.txt"), ""}}, 16000, vadDefaults); !os.IsNotExist(err) {
		t.Errorf("missing labels: %v", err)
	}
}

// vadDefaults is the VAD's configuration as the pipeline has it.
var vadDefaults = fuse.VADConfig{}

func writeSilence(t *testing.T, path string, rateHz, frames int) {
	t.Helper()
	if err := wavfile.Write(path, rateHz, 1, make([]float32, frames)); err != nil {
		t.Fatal(err)
	}
}
