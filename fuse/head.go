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

// HeadFeatures are the fusion head's inputs, computed from a step's
// evidence (the last StepWindowNS of bundles) by Features (decide.go). A
// model file must list exactly these, in this order. Whether a sound has
// a bearing is a property of the microphone, not evidence: no feature
// says it.
var HeadFeatures = []HeadFeature{
	{"a_speech", ModAudio}, // fraction of the window's audio with voice activity
	{"a_vad", ModAudio},    // mean vad_score / 5, clamped to ±2
	{"a_level", ModAudio},  // (audio_level_dbfs + 50) / 20, clamped to ±2
	{"a_rise", ModAudio},   // level rise over the window before / 10 dB, ±2
	{"a_onset", ModAudio},  // onsets in the window, at most 2
	{"a_tonal", ModAudio},  // audio_tonality
	{"v_motion", ModVideo}, // ln(1 + 20 motion_energy), at most 4
	{"v_rise", ModVideo},   // v_motion rise over the window before, ±4
	{"v_target", ModVideo}, // 1 when something is seen: a face or moving blocks
	{"v_faces", ModVideo},  // 1 when a face is seen
	{"v_mouth", ModVideo},  // mouth_motion / 5, at most 3
	{"v_fg", ModVideo},     // 4 × video_foreground
	// The voice joined to a face: speech × the agreement of the sound's
	// bearing with a face that moves its mouth (microphone arrays only).
	{"av_speech_agree", ModAudioVideo},
	// speech × a moving mouth × mouth–voice synchrony: max(av_sync_z, 0) /
	// 3, at most 2, × (1 − av_sync_off) (none when the best lag is off 0).
	{"av_speech_sync", ModAudioVideo},
	{"av_onset_target", ModAudioVideo}, // min(a_onset, 1) × v_target
	// The mouth moves with the voice at a lag of 200–800 ms rather than
	// at 0 (fuse.SyncOffset): -av_sync_offset / SyncOffsetScale, in [0, 2].
	{"av_sync_off", ModAudioVideo},
}

// Sense says which modalities a kind needs to be decided at all: with
// one of them missing the kind is unknown (no claim), never guessed from
// the other modality.
type Sense struct {
	// Audio, Video: the kind needs this modality.
	Audio, Video bool
	// Either: the kind is sensed by audio or video (presence); unknown only
	// when both are missing.
	Either bool
}

// KindSense is each kind's sensing modality (docs/DECISIONS.md):
// speech and sound_event are heard, motion is seen, presence is seen or
// heard, speaker needs a voice and a face that moves its mouth with it.
var KindSense = map[string]Sense{
	KindSpeech:     {Audio: true},
	KindSoundEvent: {Audio: true},
	KindMotion:     {Video: true},
	KindPresence:   {Either: true},
	KindSpeaker:    {Audio: true, Video: true},
}

// Sensed reports whether a kind can be decided with these modalities.
func Sensed(kind string, audioOK, videoOK bool) bool {
	s := KindSense[kind]
	if s.Either {
		return audioOK || videoOK
	}
	return (!s.Audio || audioOK) && (!s.Video || videoOK)
}

// KindFeatures are the head features each kind may use, with the sign
// physics fixes for its weight (+1: never below 0; -1: never above 0; 0:
// free). A feature not
// listed has weight 0 for that kind. `fusiond train` fits under these
// constraints and ParseModel refuses a model that breaks them.
var KindFeatures = map[string]map[string]int{
	KindSpeech:     {"a_speech": +1, "a_vad": +1, "a_level": 0, "a_rise": 0, "a_onset": 0, "a_tonal": 0},
	KindSoundEvent: {"a_onset": +1, "a_rise": +1, "a_level": 0, "a_tonal": 0, "a_speech": 0},
	KindMotion:     {"v_motion": +1, "v_rise": +1, "v_fg": +1},
	KindPresence:   {"a_speech": +1, "v_target": +1, "v_faces": +1, "v_motion": +1, "v_fg": +1},
	KindSpeaker:    {"av_speech_agree": +1, "av_speech_sync": +1, "av_sync_off": -1},
}

// MaxBias caps every head's bias: with no evidence at all (every feature
// 0, a frozen image in silence) no kind is active.
const MaxBias = -1.0

// Head availability: which modalities a head was fitted for.
const (
	HeadAV    = "av" // audio and video
	HeadAudio = "a"  // video missing
	HeadVideo = "v"  // audio missing
)

var headNames = []string{HeadAV, HeadAudio, HeadVideo}

// HeadAllows reports whether head h may use feature f for kind: the kind
// lists it, and the head has its modality.
func HeadAllows(h, kind string, f HeadFeature) bool {
	if _, ok := KindFeatures[kind][f.Name]; !ok {
		return false
	}
	switch h {
	case HeadAudio:
		return f.Modality == ModAudio
	case HeadVideo:
		return f.Modality == ModVideo
	}
	return true
}

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
	// Priors: per kind, the probability known without its sense (the
	// base rate of the training data), published as an unknown
	// decision's confidence.
	Priors map[string]float64
	// Source names the file the model came from ("default" when built in).
	Source string
}

// ModelMagic is the first line of a model file.
const ModelMagic = "fusiond-fusion-head v2"

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
	for _, k := range DecisionKinds {
		fmt.Fprintf(&b, "prior %s %s\n", k, fmtF(m.Priors[k]))
	}
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
	m := &Model{Heads: map[string]map[string]*KindHead{}, Priors: map[string]float64{}, Source: name}
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
		case "prior":
			if len(f) != 3 {
				return nil, errf(line, "want \"prior <kind> <probability>\"")
			}
			if !slices.Contains(DecisionKinds, f[1]) {
				return nil, errf(line, "unknown decision kind %q", f[1])
			}
			if _, dup := m.Priors[f[1]]; dup {
				return nil, errf(line, "prior %s given twice", f[1])
			}
			p, err := parseFinite(f[2])
			if err != nil || p < 0 || p > 1 {
				return nil, errf(line, "prior %s: %q is not a probability", f[1], f[2])
			}
			m.Priors[f[1]] = p
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
			if kh.Bias > MaxBias {
				return nil, errf(line, "head %s %s: bias %v above %v: with no evidence the kind would be active", h, k, kh.Bias, MaxBias)
			}
			for i, tok := range f[6:] {
				if kh.Weights[i], err = parseFinite(tok); err != nil {
					return nil, errf(line, "weight %d (%s): %v", i+1, HeadFeatures[i].Name, err)
				}
				if err := checkWeight(h, k, HeadFeatures[i], kh.Weights[i]); err != nil {
					return nil, errf(line, "%v", err)
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
	for _, k := range DecisionKinds {
		if _, ok := m.Priors[k]; !ok {
			return nil, errf(line, "no prior %s", k)
		}
	}
	return m, nil
}

// checkWeight refuses a weight the kind may not have: a feature outside
// the kind's list or the head's modalities, or one against its sign.
func checkWeight(h, kind string, f HeadFeature, w float64) error {
	if w == 0 {
		return nil
	}
	if !HeadAllows(h, kind, f) {
		return fmt.Errorf("head %s %s: %s may not count for %s (weight %v)", h, kind, f.Name, kind, w)
	}
	if KindFeatures[kind][f.Name] > 0 && w < 0 {
		return fmt.Errorf("head %s %s: %s has weight %v: more of it must never lower %s", h, kind, f.Name, w, kind)
	}
	if KindFeatures[kind][f.Name] < 0 && w > 0 {
		return fmt.Errorf("head %s %s: %s has weight %v: more of it must never raise %s", h, kind, f.Name, w, kind)
	}
	return nil
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
	m := &Model{Heads: map[string]map[string]*KindHead{}, Source: "default",
		Priors: map[string]float64{KindSpeech: 0.3, KindPresence: 0.5, KindMotion: 0.5, KindSoundEvent: 0.05, KindSpeaker: 0.2}}
	weights := map[string]map[string]float64{
		KindSpeech:     {"a_speech": 6, "a_vad": 1, "a_tonal": -2},
		KindPresence:   {"a_speech": 4, "v_target": 2, "v_motion": 2, "v_faces": 3},
		KindMotion:     {"v_motion": 4, "v_fg": 1},
		KindSoundEvent: {"a_onset": 1.5, "a_rise": 2, "a_level": 0.5},
		KindSpeaker:    {"av_speech_sync": 3, "av_speech_agree": 3, "av_sync_off": -3},
	}
	for _, h := range headNames {
		m.Heads[h] = map[string]*KindHead{}
		for _, k := range DecisionKinds {
			kh := &KindHead{Bias: -3, Weights: make([]float64, len(HeadFeatures))}
			for i, f := range HeadFeatures {
				if HeadAllows(h, k, f) {
					kh.Weights[i] = weights[k][f.Name]
				}
			}
			m.Heads[h][k] = kh
		}
	}
	return m
}
