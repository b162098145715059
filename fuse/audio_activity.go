package fuse

import "github.com/seed-4c364652/fusiond/ingest/av"

// audioSummary gathers an Activity interval's audio features: the latest
// value of each within the interval (a feature missing from the last
// bundle, such as pitch in a pause, keeps its value from earlier in the
// interval), the fraction of bundles with speech and the count of onsets.
type audioSummary struct {
	features *AudioFeatures
	// from, when set instead of features, is the summary whose values
	// this one reads: a camera beyond the first takes the first camera's
	// fusion's audio features of the same bundle rather than computing
	// them again (cameras.go).
	from *audioSummary
	// cameraOnly: the summary of a camera beyond the first, which makes
	// no interval decision: it keeps no interval evidence.
	cameraOnly bool
	cur        *AudioValues // this bundle's; nil without audio
	latest     *AudioValues // the last bundle's, for the summaries reading this one
	last       map[string]float64
	n          int // bundles with features
	speech     int
	onsets     int
}

// gather puts b's audio work into w; false when it has none (the
// features need no Backend, or come from another summary).
func (s *audioSummary) gather(b *av.Bundle, w *TickWork) bool {
	return s.features != nil && s.features.gather(b.TimeNS, &b.Audio, w)
}

// finish takes the bundle's audio features, computed (pend: by the
// Backend, which failed with err) or read from the first camera's summary.
func (s *audioSummary) finish(pend bool, err error) {
	var v *AudioValues
	switch {
	case s.features != nil:
		if pend {
			s.features.finish(err)
		}
		v = &s.features.v
	case s.from != nil && s.from.latest != nil:
		v = s.from.latest
	default:
		return
	}
	s.cur, s.latest = v, v
	if s.cameraOnly {
		return
	}
	if s.last == nil {
		s.last = map[string]float64{}
	}
	v.Evidence(s.last)
	if !v.Has(FeatSpeech) {
		return
	}
	s.n++
	if v.Speech {
		s.speech++
	}
	if v.Onset {
		s.onsets++
	}
}

// evidence adds the interval's audio features to ev and starts the next
// interval.
func (s *audioSummary) evidence(ev map[string]float64) {
	if s.features == nil && s.from == nil {
		return
	}
	for k, x := range s.last {
		ev[k] = x
	}
	if s.n > 0 {
		ev["vad_speech_fraction"] = float64(s.speech) / float64(s.n)
		ev["audio_onsets"] = float64(s.onsets)
	}
	clear(s.last)
	s.n, s.speech, s.onsets = 0, 0, 0
}
