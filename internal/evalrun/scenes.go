package evalrun

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/synthetic"
	"github.com/seed-4c364652/fusiond/internal/evaluate"
)

// The synthetic eval scenes: a disc (the "person" or the object that
// sounds) moving slowly in view, appearing and disappearing, and a stereo
// microphone hearing speech, tones and noise bursts from one direction.
// Every label follows from the scene's parameters exactly.
const (
	sceneSeconds  = 12.0
	sceneW        = 320
	sceneH        = 240
	sceneFPS      = 15
	sceneRate     = 48000
	sceneHFOV     = 60.0
	sceneMicGap   = 0.1 // m, the default microphones[0].geometry
	sceneSound    = 343.0
	sceneSpeedPxS = 10
)

// sceneKinds are the scene types, cycled through by index.
var sceneKinds = []string{"agree", "disagree", "muted", "tone", "noaudio-view", "nocamera", "agree2", "offscreen"}

type sceneEvent struct {
	kind          string
	at, dur, f, l float64
}

type scene struct {
	name       string
	kind       string
	seed       uint64
	camera     bool
	audio      bool // events at all (false: the noise floor only)
	period     float64
	visFor     float64
	delayFrame int64
	events     []sceneEvent
	video      *synthetic.Video
	mix        *mixRecipe // real-audio scenes: the microphone plays this mix
}

// discBearing is the disc's bearing at t seconds and whether it is visible.
func (s *scene) discBearing(t float64) (float64, bool) {
	if !s.camera {
		return 0, false
	}
	seq := uint64(math.Round(t * sceneFPS))
	x, _, vis := s.video.ShapeAt(seq)
	tn := math.Tan(sceneHFOV / 2 * math.Pi / 180)
	return math.Atan((2*(x+0.5)/sceneW-1)*tn) * 180 / math.Pi, vis
}

func (s *scene) audioBearing() float64 {
	tau := float64(s.delayFrame) / sceneRate
	return math.Asin(clampF(-sceneSound*tau/sceneMicGap, -1, 1)) * 180 / math.Pi
}

func delayFor(bearing float64) int64 {
	tau := -sceneMicGap * math.Sin(bearing*math.Pi/180) / sceneSound
	return int64(math.Round(tau * sceneRate))
}

func clampF(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }

// visibleWindows lists the disc's visible spans within the clip.
func (s *scene) visibleWindows() [][2]float64 {
	if !s.camera {
		return nil
	}
	if s.period == 0 {
		return [][2]float64{{0, sceneSeconds}}
	}
	var w [][2]float64
	for t := 0.0; t < sceneSeconds; t += s.period {
		w = append(w, [2]float64{t, min(t+s.visFor, sceneSeconds)})
	}
	return w
}

func (s *scene) visibleAt(t float64) bool {
	_, v := s.discBearing(t)
	return v
}

// makeScene draws scene i of a split from its seed.
func makeScene(split string, i int, seed uint64) *scene {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	kind := sceneKinds[i%len(sceneKinds)]
	s := &scene{name: fmt.Sprintf("%s-%02d-%s", split, i, kind), kind: kind, seed: seed*1000 + uint64(i),
		camera: kind != "nocamera", audio: kind != "muted" && kind != "noaudio-view"}
	switch r.IntN(3) {
	case 0:
		s.period, s.visFor = 0, 0
	case 1:
		s.period, s.visFor = 6, 3+float64(r.IntN(3))
	default:
		s.period, s.visFor = 12, 5+float64(r.IntN(4))
	}
	if kind == "offscreen" || kind == "disagree" {
		s.period, s.visFor = 6, 3
	}
	if s.camera {
		v, err := synthetic.NewVideo(synthetic.VideoConfig{Stream: "cam0", Width: sceneW, Height: sceneH, FPS: sceneFPS,
			Seed: s.seed, SpeedPxPerS: sceneSpeedPxS, VisiblePeriod: time.Duration(s.period * 1e9), VisibleFor: time.Duration(s.visFor * 1e9), NoiseAmplitude: 12}, av.NewVirtualClock(0))
		if err != nil {
			panic(err)
		}
		s.video = v
	}
	speech := func(at, dur float64) sceneEvent {
		return sceneEvent{"speech", at, dur, 100 + float64(r.IntN(120)), -20 + float64(r.IntN(8))}
	}
	noise := func(at float64) sceneEvent {
		return sceneEvent{"noise", at, 0.3 + 0.1*float64(r.IntN(4)), 0, -12 + float64(r.IntN(6))}
	}
	// A time within a visible (or invisible) span, leaving room for dur.
	pick := func(visible bool, dur float64) float64 {
		for range 200 {
			t := 0.5 + r.Float64()*(sceneSeconds-1-dur)
			t = math.Round(t*10) / 10
			ok := true
			for u := t; u <= t+dur; u += 0.1 {
				if s.visibleAt(u) != visible {
					ok = false
				}
			}
			if ok {
				return t
			}
		}
		return 0.5
	}
	visible := s.camera
	switch kind {
	case "agree", "agree2":
		a := pick(true, 2.5)
		s.events = append(s.events, speech(a, 1.5+float64(r.IntN(3))*0.5))
		b, _ := s.discBearing(a + 1)
		s.delayFrame = delayFor(b)
		if kind == "agree2" {
			s.events = append(s.events, noise(pick(true, 0.6)))
			if s.period > 0 {
				s.events = append(s.events, noise(pick(false, 0.6))) // unseen
			}
		} else {
			s.events = append(s.events, noise(pick(visible, 0.6)))
		}
	case "disagree", "offscreen":
		a := pick(kind == "disagree", 2.5)
		s.events = append(s.events, speech(a, 1.5+float64(r.IntN(3))*0.5))
		b, _ := s.discBearing(a + 1)
		off := 30 + float64(r.IntN(30))
		if b > 0 {
			off = -off
		}
		s.delayFrame = delayFor(clampF(b+off, -70, 70))
		s.events = append(s.events, noise(pick(false, 0.6)))
	case "tone":
		s.events = append(s.events, sceneEvent{"tone", pick(visible, 1.5), 1.5, 300 + float64(r.IntN(900)), -18})
		s.events = append(s.events, sceneEvent{"tone", pick(!visible || s.period == 0, 1.0), 1.0, 300 + float64(r.IntN(900)), -18})
		s.delayFrame = delayFor(-40 + float64(r.IntN(80)))
	case "nocamera":
		s.events = append(s.events, speech(pick(false, 2.5), 2), noise(8+float64(r.IntN(3))*0.5))
		s.delayFrame = delayFor(-40 + float64(r.IntN(80)))
	}
	// Events must not overlap one another (one source).
	slices.SortFunc(s.events, func(a, b sceneEvent) int { return cmp.Compare(a.at, b.at) })
	for j := 1; j < len(s.events); j++ {
		if prev := s.events[j-1]; s.events[j].at < prev.at+prev.dur+0.3 {
			s.events = slices.Delete(s.events, j, j+1)
			j--
		}
	}
	return s
}

// yaml is the clip's fusiond config.
func (s *scene) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Eval scene %s (%s), written by `fusiond eval --make-clips`; labels in %s.txt.\n", s.name, s.kind, s.name)
	b.WriteString("robot: eval\nfuse:\n  backend: cpu\n  features:\n    face_every: -1\n")
	if s.camera {
		fmt.Fprintf(&b, "cameras:\n  - name: cam0\n    source: synthetic\n    width: %d\n    height: %d\n    fps: %d\n    synthetic:\n      seed: %d\n      speed_px_per_s: %d\n      visible_period: %s\n      visible_for: %s\n      noise_amplitude: 12\n",
			sceneW, sceneH, sceneFPS, s.seed, sceneSpeedPxS, time.Duration(s.period*1e9), time.Duration(s.visFor*1e9))
	} else {
		b.WriteString("cameras: []\n")
	}
	if s.mix != nil {
		fmt.Fprintf(&b, "microphones:\n  - name: mic0\n    source: wav\n    file: %s\n    rate_hz: %d\n    channels: 2\n    chunk: 20ms\n    pace: true\n", s.mix.Out, sceneRate)
		return b.String()
	}
	delay := time.Duration(math.Round(float64(s.delayFrame) * 1e9 / sceneRate))
	fmt.Fprintf(&b, "microphones:\n  - name: mic0\n    source: synthetic\n    rate_hz: %d\n    channels: 2\n    chunk: 20ms\n    synthetic:\n      seed: %d\n      noise_dbfs: -60\n      channel_delay: %s\n      period: 0s\n",
		sceneRate, s.seed+7, delay)
	if !s.audio || len(s.events) == 0 {
		b.WriteString("      events: []\n")
	} else {
		b.WriteString("      events:\n")
		for _, e := range s.events {
			fmt.Fprintf(&b, "        - {kind: %s, at: %s, duration: %s, freq_hz: %g, level_dbfs: %g}\n", e.kind,
				time.Duration(e.at*1e9).Round(time.Millisecond), time.Duration(e.dur*1e9).Round(time.Millisecond), e.f, e.l)
		}
	}
	return b.String()
}

// labels derives the clip's labels from its parameters, as an Audacity
// label track.
func (s *scene) labels() string {
	ls := &evaluate.Labels{}
	add := func(kind string, t0, t1 float64) *evaluate.Label {
		ls.Segments = append(ls.Segments, evaluate.Label{Kind: kind, Start: t0, End: t1})
		return &ls.Segments[len(ls.Segments)-1]
	}
	ab := s.audioBearing()
	events := s.events
	if !s.audio {
		events = nil
	}
	var presence [][2]float64
	for _, w := range s.visibleWindows() {
		add(fuse.KindMotion, w[0], w[1])
		presence = append(presence, w)
	}
	for _, e := range events {
		switch e.kind {
		case "speech":
			add(fuse.KindSpeech, e.at, e.at+e.dur)
			presence = append(presence, [2]float64{e.at, e.at + e.dur})
			// The speaker: the disc, where the voice comes from it.
			for t := e.at; t < e.at+e.dur-1e-9; t += 0.5 {
				end := min(t+0.5, e.at+e.dur)
				db, vis := s.discBearing((t + end) / 2)
				if vis && s.visibleAt(t) && s.visibleAt(end-0.01) && math.Abs(db-ab) <= 10 {
					l := add(fuse.KindSpeaker, round3(t), round3(end))
					l.HasBearing, l.BearingDeg = true, math.Round(db*100)/100
				}
			}
		case "noise", "event":
			_, vis := s.discBearing(e.at + e.dur/2)
			if vis && s.visibleAt(e.at) && s.visibleAt(e.at+e.dur) {
				add(fuse.KindSoundEvent, e.at, e.at+e.dur)
			}
		}
	}
	slices.SortFunc(presence, func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) })
	var merged [][2]float64
	for _, p := range presence {
		if n := len(merged); n > 0 && p[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], p[1])
			continue
		}
		merged = append(merged, p)
	}
	for _, p := range merged {
		add(fuse.KindPresence, p[0], p[1])
	}
	var b strings.Builder
	_ = evaluate.WriteLabels(&b, ls) // a strings.Builder does not fail
	return b.String()
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// MakeClips writes the train and test scenes under dir.
func MakeClips(dir string) ([]string, error) {
	var paths []string
	for _, sp := range []struct {
		split string
		n     int
		seed  uint64
		real  int
	}{{"train", 48, 11, 8}, {"test", 24, 29, 8}} {
		d := filepath.Join(dir, sp.split)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		for i := range sp.n {
			s := makeScene(sp.split, i, sp.seed)
			base := filepath.Join(d, s.name)
			if err := os.WriteFile(base+".yaml", []byte(s.yaml()), 0o644); err != nil {
				return nil, err
			}
			if err := os.WriteFile(base+".txt", []byte(s.labels()), 0o644); err != nil {
				return nil, err
			}
			paths = append(paths, base+".yaml")
		}
		for i := range sp.real {
			s, err := makeRealScene(sp.split, sp.n+i, sp.seed)
			if err != nil {
				return nil, err
			}
			base := filepath.Join(d, s.name)
			for ext, body := range map[string]string{".yaml": s.yaml(), ".txt": s.labels(), ".mix": s.mix.String()} {
				if err := os.WriteFile(base+ext, []byte(body), 0o644); err != nil {
					return nil, err
				}
			}
			paths = append(paths, base+".yaml")
		}
	}
	return paths, nil
}

var realKinds = []string{"real-agree", "real-disagree", "real-music", "real-offscreen"}

// makeRealScene draws real-audio scene i: Debian speech and event sounds
// (train and test use different recordings) over the moving disc.
func makeRealScene(split string, i int, seed uint64) (*scene, error) {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	kind := realKinds[i%len(realKinds)]
	s := &scene{name: fmt.Sprintf("%s-%02d-%s", split, i, kind), kind: kind, seed: seed*1000 + uint64(i), camera: true, audio: true,
		period: 6, visFor: 4}
	v, err := synthetic.NewVideo(synthetic.VideoConfig{Stream: "cam0", Width: sceneW, Height: sceneH, FPS: sceneFPS,
		Seed: s.seed, SpeedPxPerS: sceneSpeedPxS, VisiblePeriod: 6e9, VisibleFor: 4e9, NoiseAmplitude: 12}, av.NewVirtualClock(0))
	if err != nil {
		return nil, err
	}
	s.video = v
	pickSrc := func(role string) string {
		l := mixSources[role]
		half := (len(l) + 1) / 2
		if split == "test" {
			return l[half+r.IntN(len(l)-half)]
		}
		return l[r.IntN(half)]
	}
	s.mix = &mixRecipe{Out: filepath.Join(MixDir, s.name+".wav"), Duration: sceneSeconds, NoiseDBFS: -60, Seed: s.seed}
	add := func(role string, at, maxS, peak float64) error {
		src := pickSrc(role)
		dur, err := sourceSpanS(src, maxS)
		if err != nil {
			return err
		}
		kind := map[string]string{"speech": "speech", "event": "event", "music": "music"}[role]
		s.events = append(s.events, sceneEvent{kind, at, math.Floor(dur*1000) / 1000, 0, peak})
		s.mix.Items = append(s.mix.Items, mixItem{Source: src, At: at, MaxS: maxS, PeakDBFS: peak})
		return nil
	}
	// Visible 0–4 s and 6–10 s of every 6 s.
	switch kind {
	case "real-agree":
		if err := add("speech", 0.5, 3.4, -6-float64(r.IntN(6))); err != nil {
			return nil, err
		}
		b, _ := s.discBearing(2)
		s.delayFrame = delayFor(b)
		if err := add("event", 6.5, 2.5, -6); err != nil {
			return nil, err
		}
	case "real-disagree":
		if err := add("speech", 6.3, 3.5, -6-float64(r.IntN(6))); err != nil {
			return nil, err
		}
		b, _ := s.discBearing(8)
		off := 30 + float64(r.IntN(30))
		if b > 0 {
			off = -off
		}
		s.delayFrame = delayFor(clampF(b+off, -70, 70))
		if err := add("event", 4.2, 1.6, -6); err != nil { // unseen: the disc is away
			return nil, err
		}
	case "real-music":
		if err := add("music", 0.5, 9, -10); err != nil {
			return nil, err
		}
		s.delayFrame = delayFor(-30 + float64(r.IntN(60)))
	case "real-offscreen":
		if err := add("speech", 4.1, 1.8, -8); err != nil {
			return nil, err
		}
		s.delayFrame = delayFor(-40 + float64(r.IntN(80)))
		if err := add("event", 6.5, 2.5, -6); err != nil {
			return nil, err
		}
	}
	s.mix.DelayFrames = int(s.delayFrame)
	return s, nil
}
