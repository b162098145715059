package fuse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Contribution keys of the decisions Decider makes, beside "prior".
const (
	ModAudio = "audio"
	ModVideo = "video"
	// ModAudioVideo holds the cross-modal features (bearing agreement,
	// synchrony, audio×video interactions): it is 0 when either modality
	// is missing.
	ModAudioVideo = "audio_video"
)

// Decision kinds Decider makes.
const (
	KindSpeech     = "speech"
	KindPresence   = "presence"
	KindMotion     = "motion"
	KindSoundEvent = "sound_event"
	KindSpeaker    = "speaker"
)

// DecisionKinds are the kinds of Decider, in the order it publishes them.
var DecisionKinds = []string{KindSpeech, KindPresence, KindMotion, KindSoundEvent, KindSpeaker}

// HeadFeature is one input of the fusion head: its name and the modality
// its contribution is counted under.
type HeadFeature struct {
	Name, Modality string
}

// HeadFeatures are the fusion head's inputs, computed from an interval's
// evidence by Features (decide.go). A model file must list exactly these,
// in this order.
var HeadFeatures = []HeadFeature{
	{"a_speech", ModAudio}, // vad_speech_fraction
	{"a_vad", ModAudio},    // vad_score / 5, clamped to ±2
	{"a_level", ModAudio},  // (audio_level_dbfs + 50) / 20, clamped to ±2
	{"a_rise", ModAudio},   // level rise from the previous interval / 10 dB, ±2
	{"a_onset", ModAudio},  // onsets in the interval, at most 2
	{"a_tonal", ModAudio},  // audio_tonality
	{"a_doa", ModAudio},    // 1 when the sound has a bearing
	{"v_motion", ModVideo}, // ln(1 + 20 motion_energy), at most 4
	{"v_rise", ModVideo},   // v_motion rise from the previous interval
	{"v_target", ModVideo}, // 1 when something is seen: a face or moving blocks
	{"v_faces", ModVideo},  // 1 when a face is seen
	{"v_mouth", ModVideo},  // mouth_motion / 5, at most 3
	{"v_fg", ModVideo},     // 4 × video_foreground
	{"av_agree", ModAudioVideo},
	{"av_speech_agree", ModAudioVideo}, // a_speech × av_agree
	{"av_onset_target", ModAudioVideo}, // min(a_onset, 1) × v_target
	{"av_sync", ModAudioVideo},         // av_sync_z / 3, ±2
}

// Head availability: which modalities a head was fitted for.
const (
	HeadAV    = "av" // audio and video
	HeadAudio = "a"  // video missing
	HeadVideo = "v"  // audio missing
)

var headNames = []string{HeadAV, HeadAudio, HeadVideo}

// KindHead is one kind's logistic regression: logit = Bias + Σ W·x.
type KindHead struct {
	Bias    float64
	Weights []float64 // len(HeadFeatures)
}

// Model is the fusion head: per availability (HeadAV, HeadAudio,
// HeadVideo) and kind, a logistic regression over HeadFeatures. A decision
// with a modality missing uses the head fitted without it, so removing a
// modality at run time gives exactly that modality's own model.
type Model struct {
	Heads map[string]map[string]*KindHead // head → kind → weights
	// Source names the file the model came from ("default" when built in).
	Source string
}

// ModelMagic is the first line of a model file.
const ModelMagic = "fusiond-fusion-head v1"

// ErrModel is wrapped by every model-file error.
var ErrModel = errors.New("fuse: bad fusion model")

// WriteModel writes m in the text format ParseModel reads.
func WriteModel(w io.Writer, m *Model, comment string) error {
	var b bytes.Buffer
	b.WriteString(ModelMagic + "\n")
	for _, l := range strings.Split(strings.TrimSpace(comment), "\n") {
		if l != "" {
			fmt.Fprintf(&b, "# %s\n", l)
		}
	}
	b.WriteString("features")
	for _, f := range HeadFeatures {
		fmt.Fprintf(&b, " %s:%s", f.Name, f.Modality)
	}
	b.WriteString("\n")
	for _, h := range headNames {
		for _, k := range DecisionKinds {
			kh := m.Heads[h][k]
			if kh == nil {
				continue
			}
			fmt.Fprintf(&b, "head %s %s bias %s weights", h, k, fmtF(kh.Bias))
			for _, x := range kh.Weights {
				b.WriteString(" " + fmtF(x))
			}
			b.WriteString("\n")
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func fmtF(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }

// LoadModel reads a model file; errors name the file and line.
func LoadModel(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	return ParseModel(path, data)
}

// ParseModel parses a model file (name is used in errors). Every head
// (av, a, v) of every decision kind must be present, and the features line
// must match HeadFeatures exactly.
func ParseModel(name string, data []byte) (*Model, error) {
	m := &Model{Heads: map[string]map[string]*KindHead{}, Source: name}
	errf := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrModel, name, line, fmt.Sprintf(format, args...))
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line, sawMagic, sawFeatures := 0, false, false
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if !sawMagic {
			if text != ModelMagic {
				return nil, errf(line, "not a fusion model: first line is %q, want %q", text, ModelMagic)
			}
			sawMagic = true
			continue
		}
		f := strings.Fields(text)
		switch f[0] {
		case "features":
			if len(f)-1 != len(HeadFeatures) {
				return nil, errf(line, "model has %d features, this fusiond computes %d (%s)", len(f)-1, len(HeadFeatures), featureList())
			}
			for i, tok := range f[1:] {
				want := HeadFeatures[i].Name + ":" + HeadFeatures[i].Modality
				if tok != want {
					return nil, errf(line, "feature %d is %q, this fusiond computes %q there (%s)", i+1, tok, want, featureList())
				}
			}
			sawFeatures = true
		case "head":
			if !sawFeatures {
				return nil, errf(line, "head before the features line")
			}
			if len(f) != 6+len(HeadFeatures) || f[3] != "bias" || f[5] != "weights" {
				return nil, errf(line, "want \"head <av|a|v> <kind> bias <x> weights <%d numbers>\"", len(HeadFeatures))
			}
			h, k := f[1], f[2]
			if !slices.Contains(headNames, h) {
				return nil, errf(line, "unknown head %q (want av, a or v)", h)
			}
			if !slices.Contains(DecisionKinds, k) {
				return nil, errf(line, "unknown decision kind %q", k)
			}
			kh := &KindHead{Weights: make([]float64, len(HeadFeatures))}
			var err error
			if kh.Bias, err = parseFinite(f[4]); err != nil {
				return nil, errf(line, "bias: %v", err)
			}
			for i, tok := range f[6:] {
				if kh.Weights[i], err = parseFinite(tok); err != nil {
					return nil, errf(line, "weight %d (%s): %v", i+1, HeadFeatures[i].Name, err)
				}
			}
			if m.Heads[h] == nil {
				m.Heads[h] = map[string]*KindHead{}
			}
			if m.Heads[h][k] != nil {
				return nil, errf(line, "head %s %s given twice", h, k)
			}
			m.Heads[h][k] = kh
		default:
			return nil, errf(line, "unknown line %q", f[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, name, err)
	}
	if !sawMagic {
		return nil, errf(line, "empty model file")
	}
	if !sawFeatures {
		return nil, errf(line, "no features line")
	}
	for _, h := range headNames {
		for _, k := range DecisionKinds {
			if m.Heads[h][k] == nil {
				return nil, errf(line, "no head %s %s", h, k)
			}
		}
	}
	return m, nil
}

func featureList() string {
	s := make([]string, len(HeadFeatures))
	for i, f := range HeadFeatures {
		s[i] = f.Name + ":" + f.Modality
	}
	return strings.Join(s, " ")
}

func parseFinite(s string) (float64, error) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%q is not finite", s)
	}
	return x, nil
}

// featureIndex returns the index of a head feature by name (-1 if none).
func featureIndex(name string) int {
	return slices.IndexFunc(HeadFeatures, func(f HeadFeature) bool { return f.Name == name })
}

// DefaultModel is the hand-set head, used when no model file is
// configured: reliability-weighted log-odds with weights chosen by hand.
func DefaultModel() *Model {
	m := &Model{Heads: map[string]map[string]*KindHead{}, Source: "default"}
	set := func(h, k string, bias float64, w map[string]float64) {
		kh := &KindHead{Bias: bias, Weights: make([]float64, len(HeadFeatures))}
		for n, x := range w {
			kh.Weights[featureIndex(n)] = x
		}
		if m.Heads[h] == nil {
			m.Heads[h] = map[string]*KindHead{}
		}
		m.Heads[h][k] = kh
	}
	for _, h := range headNames {
		a, v, av := 1.0, 1.0, 1.0
		switch h {
		case HeadAudio:
			v, av = 0, 0
		case HeadVideo:
			a, av = 0, 0
		}
		set(h, KindSpeech, -3, map[string]float64{"a_speech": 6 * a, "a_vad": 1 * a, "a_tonal": -2 * a, "v_mouth": 1 * v, "av_sync": 0.5 * av})
		set(h, KindPresence, -3, map[string]float64{"a_speech": 4 * a, "v_target": 2 * v, "v_motion": 2 * v, "v_faces": 3 * v})
		set(h, KindMotion, -3, map[string]float64{"v_motion": 4 * v, "v_fg": 1 * v})
		set(h, KindSoundEvent, -3, map[string]float64{"a_onset": 1.5 * a, "a_rise": 2 * a, "a_level": 0.5 * a, "v_rise": 0.5 * v, "av_onset_target": 2 * av})
		set(h, KindSpeaker, -3, map[string]float64{"a_speech": 2 * a, "v_faces": 1 * v, "v_target": 1 * v, "av_speech_agree": 4 * av, "av_sync": 0.5 * av})
	}
	return m
}
