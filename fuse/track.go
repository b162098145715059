package fuse

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"gorgonia.org/tensor"
)

// HeadRow is one row of a Head batch: the scaled head features of one
// step of one stream, and the head (HeadAV, HeadAudio, HeadVideo) fitted
// for the modalities it has.
type HeadRow struct {
	X    []float32 // len(HeadFeatures)
	Head string
}

// HeadScore is one kind's log-odds for one row: the prior (the head's
// bias) and what each modality adds; Logit is their sum.
type HeadScore struct {
	Contributions [4]float64 // prior, audio, video, audio_video
	Logit         float64
}

// Head is the stateless fusion head: every row of a batch (several
// streams, several steps) through every kind's logistic regression in one
// Backend Dense call. It keeps only scratch buffers.
type Head struct {
	model   *Model
	backend Backend
	w       []float32 // features × (heads × kinds × modalities)
	zeroB   []float32
	x, dst  []float32
	// Tensors for the Backend: weights made once, x and dst per batch size
	// (cameras × heads: a few sizes), dropped when x or dst is reallocated.
	tW, tZeroB *tensor.Dense
	batches    map[int][2]*tensor.Dense
}

// NewHead returns the head of model m on backend b (nil: CPU).
func NewHead(m *Model, b Backend) (*Head, error) {
	if b == nil {
		b = NewCPU()
	}
	nf, nk, nm := len(HeadFeatures), len(DecisionKinds), len(mods)
	out := len(headNames) * nk * nm
	h := &Head{model: m, backend: b, w: make([]float32, nf*out), zeroB: make([]float32, out)}
	for hi, hn := range headNames {
		for k, kind := range DecisionKinds {
			kh := m.Heads[hn][kind]
			if kh == nil || len(kh.Weights) != nf {
				return nil, fmt.Errorf("%w: %s: head %s %s missing or of the wrong size", ErrModel, m.Source, hn, kind)
			}
			for f, hf := range HeadFeatures {
				mi := slices.Index(mods, hf.Modality)
				h.w[f*out+(hi*nk+k)*nm+mi] = float32(kh.Weights[f])
			}
		}
	}
	h.tW, h.tZeroB, h.batches = Matrix(nf, out, h.w), Vector(h.zeroB), map[int][2]*tensor.Dense{}
	// A backend that keeps constant tensors on its device (CUDA) keeps
	// the weights there: no upload per step. Without room, they go up
	// with every call instead.
	if r, ok := b.(residentBackend); ok {
		if d, err := r.Resident(h.tW); err == nil {
			h.tW = d
		}
	}
	return h, nil
}

// Eval scores every row: out[r][k] is row r's score for DecisionKinds[k]
// under the row's head. out must hold len(rows) slices of len(DecisionKinds).
func (h *Head) Eval(rows []HeadRow, out [][]HeadScore) error {
	nf, nk, nm := len(HeadFeatures), len(DecisionKinds), len(mods)
	width := len(headNames) * nk * nm
	if len(out) < len(rows) {
		return fmt.Errorf("%w: head: %d rows, %d outputs", ErrShape, len(rows), len(out))
	}
	if len(rows) == 0 {
		return nil
	}
	x0, d0 := cap(h.x), cap(h.dst)
	h.x = grow(h.x, len(rows)*nf)
	h.dst = grow(h.dst, len(rows)*width)
	if cap(h.x) != x0 || cap(h.dst) != d0 {
		clear(h.batches)
	}
	for r, row := range rows {
		if len(row.X) != nf || len(out[r]) != nk {
			return fmt.Errorf("%w: head row %d: %d features (want %d), %d kinds (want %d)", ErrShape, r, len(row.X), nf, len(out[r]), nk)
		}
		copy(h.x[r*nf:], row.X)
	}
	t, ok := h.batches[len(rows)]
	if !ok {
		t = [2]*tensor.Dense{Matrix(len(rows), nf, h.x), Matrix(len(rows), width, h.dst)}
		h.batches[len(rows)] = t
	}
	if err := h.backend.Dense(t[1], t[0], h.tW, h.tZeroB, Linear); err != nil {
		return err
	}
	for r, row := range rows {
		hi := slices.Index(headNames, row.Head)
		if hi < 0 {
			return fmt.Errorf("%w: head row %d: unknown head %q", ErrShape, r, row.Head)
		}
		for k, kind := range DecisionKinds {
			s := &out[r][k]
			s.Contributions[0] = h.model.Heads[row.Head][kind].Bias
			s.Logit = s.Contributions[0]
			for m := range nm {
				c := float64(h.dst[r*width+(hi*nk+k)*nm+m])
				s.Contributions[1+m] = c
				s.Logit += c
			}
		}
	}
	return nil
}

// residentBackend keeps a constant tensor on its device (CUDA.Resident).
type residentBackend interface {
	Resident(t *tensor.Dense) (*tensor.Dense, error)
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// TrackerState is everything a Tracker remembers between steps; it
// serialises to JSON (MarshalState), so another process can take the
// decisions over where this one stopped.
type TrackerState struct {
	Kinds []KindTrack `json:"kinds"`
	// The last heartbeat's capture time.
	BeatNS   int64 `json:"beat_ns"`
	HaveBeat bool  `json:"have_beat"`
	// The last step's capture time and missing modalities (comma-separated).
	StepNS   int64  `json:"step_ns"`
	HaveStep bool   `json:"have_step"`
	Missing  string `json:"missing"`
	// Feature memory: the room's noise floor and the best voice–face
	// agreement of the current utterance.
	FloorDBFS float64 `json:"floor_dbfs"`
	HaveFloor bool    `json:"have_floor"`
	AgreeMem  float64 `json:"agree_mem"`
}

// KindTrack is one kind's remembered state.
type KindTrack struct {
	Kind    string `json:"kind"`
	Active  bool   `json:"active"`
	Unknown bool   `json:"unknown"`
	// Below: since when (capture ns) an active kind's confidence has been
	// under the off threshold.
	Below      bool  `json:"below"`
	BelowSince int64 `json:"below_since_ns"`
	// The last published bearing, and the capture time the last
	// transition was timed at.
	PubHasBearing bool    `json:"pub_has_bearing"`
	PubBearingDeg float64 `json:"pub_bearing_deg"`
	PubNS         int64   `json:"pub_ns"`
}

// Tracker turns each step's kind scores into states and transitions:
// hysteresis (on at OnConfidence; off once below OffConfidence for
// MinOffNS), unknown while the kind's sense is missing, onset, end, change
// (bearing moved, missing modalities changed) and heartbeat.
type Tracker struct {
	cfg     DecideConfig
	st      TrackerState
	kinds   []KindState
	missing []string // st.Missing, split
}

// NewTracker returns a Tracker with cfg's thresholds.
func NewTracker(cfg DecideConfig) (*Tracker, error) {
	if cfg.Model == nil {
		cfg.Model = DefaultModel()
	}
	if cfg.OnConfidence <= 0 || cfg.OnConfidence >= 1 || cfg.OffConfidence <= 0 || cfg.OffConfidence > cfg.OnConfidence {
		return nil, fmt.Errorf("%w: decision thresholds on %v off %v: want 0 < off ≤ on < 1", ErrConfig, cfg.OnConfidence, cfg.OffConfidence)
	}
	if cfg.HeartbeatNS < 0 || cfg.MinOffNS < 0 {
		return nil, fmt.Errorf("%w: negative heartbeat or minimum off time", ErrConfig)
	}
	t := &Tracker{cfg: cfg, kinds: make([]KindState, len(DecisionKinds))}
	t.st.Kinds = make([]KindTrack, len(DecisionKinds))
	for i, k := range DecisionKinds {
		t.kinds[i].Kind, t.st.Kinds[i].Kind = k, k
	}
	return t, nil
}

// MarshalState returns the tracker's state as JSON.
func (t *Tracker) MarshalState() ([]byte, error) { return json.Marshal(&t.st) }

// UnmarshalState restores a state MarshalState returned.
func (t *Tracker) UnmarshalState(data []byte) error {
	var st TrackerState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("fuse: tracker state: %w", err)
	}
	if len(st.Kinds) != len(DecisionKinds) {
		return fmt.Errorf("fuse: tracker state has %d kinds, want %d", len(st.Kinds), len(DecisionKinds))
	}
	for i, k := range DecisionKinds {
		if st.Kinds[i].Kind != k {
			return fmt.Errorf("fuse: tracker state kind %d is %q, want %q", i, st.Kinds[i].Kind, k)
		}
	}
	t.st = st
	t.missing = t.missing[:0]
	if st.Missing != "" {
		t.missing = append(t.missing, strings.Split(st.Missing, ",")...)
	}
	return nil
}

// Step tracks one step's scores; bearing fills each kind's bearing from
// the inputs. It returns the tracker's own slice, valid until the next Step.
func (t *Tracker) Step(scores []HeadScore, in *Inputs, missing []string, timeNS int64, bearing func(*KindState, string, *Inputs)) []KindState {
	missChanged := !slices.Equal(t.missing, missing)
	if missChanged {
		t.missing = append(t.missing[:0], missing...)
		t.st.Missing = strings.Join(missing, ",")
	}
	beat := false
	if t.cfg.HeartbeatNS > 0 {
		if !t.st.HaveBeat {
			t.st.BeatNS, t.st.HaveBeat = timeNS, true
		} else if timeNS-t.st.BeatNS >= t.cfg.HeartbeatNS {
			beat = true
			t.st.BeatNS = timeNS
		}
	}
	for k, kind := range DecisionKinds {
		s, m := &t.kinds[k], &t.st.Kinds[k]
		wasActive, wasUnknown := m.Active, m.Unknown
		s.Unknown = !Sensed(kind, in.AudioOK, in.VideoOK)
		if s.Unknown {
			p := clamp(t.cfg.Model.Priors[kind], 1e-6, 1-1e-6)
			s.Logit = math.Log(p / (1 - p))
			s.Contributions = [4]float64{s.Logit}
			s.Confidence = p
			s.Active, m.Below = false, false
			s.HasBearing, s.BearingDeg, s.BearingStdDeg = false, 0, 0
		} else {
			s.Contributions, s.Logit = scores[k].Contributions, scores[k].Logit
			s.Confidence = sigmoid(s.Logit)
			switch {
			case !m.Active:
				s.Active = s.Confidence >= t.cfg.OnConfidence
				m.Below = false
			case s.Confidence >= t.cfg.OffConfidence:
				s.Active, m.Below = true, false
			default:
				if !m.Below {
					m.Below, m.BelowSince = true, timeNS
				}
				s.Active = timeNS-m.BelowSince < t.cfg.MinOffNS
			}
			bearing(s, kind, in)
		}
		m.Active, m.Unknown = s.Active, s.Unknown
		s.Transition = transitionNone
		switch {
		case s.Active && !wasActive:
			s.Transition = TransitionOnset
		case !s.Active && wasActive && !s.Unknown:
			s.Transition = TransitionEnd
		case s.Unknown != wasUnknown || s.Unknown && missChanged:
			s.Transition = TransitionChange
		case s.Active && (missChanged || s.HasBearing != m.PubHasBearing ||
			s.HasBearing && math.Abs(s.BearingDeg-m.PubBearingDeg) >= t.cfg.ChangeBearingDeg):
			s.Transition = TransitionChange
		case beat:
			s.Transition = TransitionHeartbeat
		}
		s.TimeNS = timeNS
		if kind == KindSpeech {
			s.TimeNS = speechTime(s.Transition, in, timeNS, m.PubNS)
		}
		if s.Transition != transitionNone {
			m.PubHasBearing, m.PubBearingDeg, m.PubNS = s.HasBearing, s.BearingDeg, s.TimeNS
		}
	}
	return t.kinds
}

// speechTime is the capture time a speech transition is timed at: an
// onset where the speech began that the VAD last turned on within the
// step window, an end where the speech ended that it last turned off
// there (Inputs.VADOnNS, VADOffNS), when that is after the kind's last
// published transition (pubNS); otherwise, and for other transitions,
// the step's.
// The head decides whether speech began or ended; the VAD, deciding every
// 10 ms, says when, so that the published segments do not lag the voice
// by the head's window. The decision's latency runs from that time.
func speechTime(transition int, in *Inputs, timeNS, pubNS int64) int64 {
	at := int64(0)
	switch transition {
	case TransitionOnset:
		at = in.VADOnNS
	case TransitionEnd:
		at = in.VADOffNS
	}
	if at > pubNS && at <= timeNS {
		return at
	}
	return timeNS
}
