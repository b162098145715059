package fuse

import "math"

// DefaultStepWindowNS is the span of bundles a frame-rate decision step
// reads: long enough to hold a few VAD frames and a syllable, short enough
// that an onset shows within a few frames.
const DefaultStepWindowNS = 100_000_000

// DefaultAudioStepWindowNS is the span the step's audio evidence reads
// (voice activity, level and its rise, onsets, coverage): shorter, so that
// a word's onset weighs in within two 30 fps bundles. Chosen on the
// real-media validation split (docs/DECISIONS.md): speech F1 0.873 → 0.894
// there, no kind worse. Bundles are whole: at 10-25 fps it reads the last
// bundle alone.
const DefaultAudioStepWindowNS = 60_000_000

// bundleEvidence is what one bundle adds to the decision steps: its audio
// and visual measurements, with which of them it had.
type bundleEvidence struct {
	timeNS int64

	audio bool
	// The VAD decisions (10 ms hops) new in this bundle: how many, how
	// many said speech, and their scores' sum.
	vadN, vadSpeech int
	vadScore        float64
	// vadOnNS and vadOffNS: where the speech began (ended) that the
	// latest VAD decision in this bundle to turn speech on (off) turned
	// (VADFrame.AtNS); 0 where none did.
	vadOnNS, vadOffNS int64

	onset           bool
	power, coverage float64
	hasTonal        bool
	tonality        float64
	hasDOA          bool
	doa, doaStd     float64
	video           bool
	hasMotion       bool
	motion, motionX float64
	hasMotionX      bool
	faces           float64
	hasFace         bool
	face, faceStd   float64
	hasMouth        bool
	mouth           float64
	hasFG           bool
	fg              float64
	hasSync         bool
	syncZ           float64
	hasSyncOff      bool
	syncOff         float64
}

// stepWindow holds the bundles of the last two step windows, oldest
// first, in a ring that grows only when the bundle rate outgrows it.
type stepWindow struct {
	windowNS int64
	audioNS  int64 // the span the audio evidence reads, ≤ windowNS
	ring     []bundleEvidence
	head, n  int
}

func newStepWindow(windowNS, audioNS int64) *stepWindow {
	return &stepWindow{windowNS: windowNS, audioNS: audioNS, ring: make([]bundleEvidence, 64)}
}

// at returns the i-th bundle from the oldest.
func (w *stepWindow) at(i int) *bundleEvidence {
	return &w.ring[(w.head+i)%len(w.ring)]
}

// push adds a bundle and forgets those older than two windows before it.
func (w *stepWindow) push(e bundleEvidence) {
	for w.n > 0 && e.timeNS-w.at(0).timeNS >= 2*w.windowNS {
		w.head = (w.head + 1) % len(w.ring)
		w.n--
	}
	if w.n == len(w.ring) {
		grown := make([]bundleEvidence, 2*len(w.ring))
		for i := range w.n {
			grown[i] = *w.at(i)
		}
		w.ring, w.head = grown, 0
	}
	w.ring[(w.head+w.n)%len(w.ring)] = e
	w.n++
}

// reset forgets every bundle (a stream restarted: a gap in time).
func (w *stepWindow) reset() { w.head, w.n = 0, 0 }

// evidence writes the step's evidence at the newest bundle into ev
// (cleared first), under the names the interval evidence uses, plus the
// rises over the window before: audio_level_rise_db and motion_rise, and
// how long before the step began the speech the VAD last turned on within
// the window, and ended the speech it last turned off there: vad_on_age_ns
// and vad_off_age_ns (the tracker times a speech onset or end by them). The
// audio evidence reads the last audioNS (or, when no bundle there has
// audio, the whole window). It returns the modalities present in the
// window (a modality is missing when no bundle of the window had it: one
// late chunk is not a missing microphone).
func (w *stepWindow) evidence(ev map[string]float64) (audioOK, videoOK bool) {
	clear(ev)
	if w.n == 0 {
		return false, false
	}
	au := w.audio(w.audioNS)
	if au.n == 0 {
		au = w.audio(w.windowNS)
	}
	now := w.at(w.n - 1).timeNS
	from := now - w.windowNS
	var motion, motionN, prevMotion, prevMotionN float64
	var onNS, offNS int64
	var cx, cw float64
	for i := range w.n {
		b := w.at(i)
		if b.timeNS <= from {
			if b.hasMotion {
				prevMotion += b.motion
				prevMotionN++
			}
			continue
		}
		videoOK = videoOK || b.video
		onNS, offNS = max(onNS, b.vadOnNS), max(offNS, b.vadOffNS)
		if b.hasMotion {
			motion += b.motion
			motionN++
			if b.hasMotionX && b.motion > 0 {
				cx += b.motionX * b.motion
				cw += b.motion
			}
		}
		// The latest of each within the window.
		if b.hasTonal {
			ev["audio_tonality"] = b.tonality
		}
		if b.hasDOA {
			ev["doa_bearing_deg"], ev["doa_bearing_std_deg"] = b.doa, b.doaStd
		}
		if b.video {
			ev["faces"] = b.faces
		}
		if b.hasFace {
			ev["face_bearing_deg"], ev["face_bearing_std_deg"] = b.face, b.faceStd
		}
		if b.hasMouth {
			// The most the mouth moved in the window: a mouth closes for a
			// moment within a word.
			ev["mouth_motion"] = max(ev["mouth_motion"], b.mouth)
		}
		if b.hasFG {
			ev["video_foreground"] = b.fg
		}
		if b.hasSync {
			ev["av_sync_z"] = b.syncZ
		}
		if b.hasSyncOff {
			ev["av_sync_offset"] = b.syncOff
		}
	}
	if au.n > 0 {
		lvl := dbfs(au.power / au.n)
		ev["audio_level_dbfs"] = lvl
		ev["audio_coverage"] = au.cov / au.n
		if au.prevN > 0 {
			ev["audio_level_rise_db"] = lvl - dbfs(au.prevPower/au.prevN)
		}
	}
	if au.vadN > 0 {
		ev["vad_speech_fraction"] = au.speech / au.vadN
		ev["vad_score"] = au.vadSum / au.vadN
		ev["audio_onsets"] = au.onsets
	}
	if onNS > 0 {
		ev["vad_on_age_ns"] = float64(now - min(onNS, now))
	}
	if offNS > 0 {
		ev["vad_off_age_ns"] = float64(now - min(offNS, now))
	}
	if motionN > 0 {
		m := motion / motionN
		ev["motion_energy"] = m
		if cw > 0 {
			ev["motion_x"] = cx / cw
		}
		if prevMotionN > 0 {
			ev["motion_rise"] = motionScale(m) - motionScale(prevMotion/prevMotionN)
		}
	}
	return au.n > 0, videoOK
}

// audioSpan is the audio evidence of the bundles of one span: their
// level, coverage, onsets and VAD decisions, and the level of the span
// before.
type audioSpan struct {
	power, n, cov, onsets float64
	vadN, speech, vadSum  float64
	prevPower, prevN      float64
}

// audio sums the audio evidence of the bundles of the last span (and the
// level of the span before it, as far as the ring holds it).
func (w *stepWindow) audio(span int64) audioSpan {
	from := w.at(w.n-1).timeNS - span
	var a audioSpan
	for i := range w.n {
		b := w.at(i)
		switch {
		case b.timeNS <= from-span:
			continue
		case b.timeNS <= from:
			if b.audio {
				a.prevPower += b.power
				a.prevN++
			}
			continue
		}
		if b.audio {
			a.power += b.power
			a.n++
			a.cov += b.coverage
			if b.onset {
				a.onsets++
			}
		}
		a.vadN += float64(b.vadN)
		a.speech += float64(b.vadSpeech)
		a.vadSum += b.vadScore
	}
	return a
}

// motionScale is the head's motion feature: ln(1 + 20 energy), at most 4.
func motionScale(energy float64) float64 {
	return clamp(math.Log1p(20*max(energy, 0)), 0, 4)
}
