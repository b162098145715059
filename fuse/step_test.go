package fuse

import "testing"

// The audio evidence reads the last audioNS of bundles (the video the
// whole window), and the whole window when no bundle there has audio: one
// late chunk is not a missing microphone.
func TestStepAudioSpan(t *testing.T) {
	w := newStepWindow(100*ms, 60*ms)
	for i, speech := range []int{0, 0, 1, 4, 4} { // bundles 33 ms apart, 4 VAD frames each
		w.push(bundleEvidence{timeNS: int64(i) * 33 * ms, audio: true, vadN: 4, vadSpeech: speech, power: 0.01,
			video: true, hasMotion: true, motion: float64(i)})
	}
	ev := map[string]float64{}
	audioOK, videoOK := w.evidence(ev)
	if !audioOK || !videoOK {
		t.Fatalf("modalities %v %v", audioOK, videoOK)
	}
	// Audio: the bundles at 99 and 132 ms (the 60 ms span); video: those
	// at 33-132 ms (the 100 ms window).
	if got := ev["vad_speech_fraction"]; got != 1 {
		t.Errorf("vad_speech_fraction %v over the audio span, want 1", got)
	}
	if got := ev["motion_energy"]; got != 2.5 {
		t.Errorf("motion_energy %v over the window, want 2.5", got)
	}
	// The last two bundles without audio: the audio evidence is the
	// window's, and audio is not missing.
	w.push(bundleEvidence{timeNS: 165 * ms, video: true})
	w.push(bundleEvidence{timeNS: 198 * ms, video: true})
	audioOK, _ = w.evidence(ev)
	if !audioOK || ev["vad_speech_fraction"] != 1 {
		t.Errorf("audio %v, vad_speech_fraction %v; want the window's bundle at 132 ms", audioOK, ev["vad_speech_fraction"])
	}
	// The step as it was: an audio span as long as the window.
	w = newStepWindow(100*ms, 100*ms)
	for i, speech := range []int{0, 0, 1, 4, 4} {
		w.push(bundleEvidence{timeNS: int64(i) * 33 * ms, audio: true, vadN: 4, vadSpeech: speech})
	}
	w.evidence(ev)
	if got := ev["vad_speech_fraction"]; got != 9.0/16 { // the bundles at 33-132 ms
		t.Errorf("vad_speech_fraction %v over 100 ms, want 9/16", got)
	}
}
