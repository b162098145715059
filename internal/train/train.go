package train

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/internal/evalrun"
)

// Write writes the model file of m, fitted on inputs inputs and steps
// decision steps, with how it was fitted in its header.
func Write(w io.Writer, m *fuse.Model, inputs, steps int) error {
	return fuse.WriteModel(w, m, fmt.Sprintf("Trained by `fusiond train` (make train) on %d inputs, %d decision steps.\nLogistic regression per kind and head over the kind's own features with their signs, L2 %g, %d Newton steps, bias calibrated to the best training F1 and capped at fuse.MaxBias.", inputs, steps, trainL2, trainSteps))
}

const (
	trainL2    = 1e-3
	trainSteps = 30
)

// Fit fits every head on the steps: for each input and each set of
// modalities, the step features (as the Decider computes them) and the
// labels over each step's span (a step is positive when a label covers
// half of it). Each kind's head sees only the features KindFeatures lists
// for it and its head's modalities, with the signs physics fixes; a head
// whose kind is not sensed by its modalities stays off (it is never used:
// the kind is unknown there). A kind the input cannot sense gives no
// sample for it. Priors are the training base rates.
func Fit(steps []evalrun.Step) (*fuse.Model, error) {
	type sample struct {
		x    []float64
		y    map[string]bool
		skip map[string]bool
	}
	data := map[string][]sample{}
	pos, all := map[string]float64{}, map[string]float64{}
	for _, h := range []string{fuse.HeadAV, fuse.HeadAudio, fuse.HeadVideo} {
		var d *fuse.Decider
		clip := ""
		for _, st := range steps {
			if d == nil || st.Clip != clip {
				var err error
				if d, err = fuse.NewDecider(featureConfig(st.HFOVDeg)); err != nil {
					return nil, err
				}
				clip = st.Clip
			}
			missing := st.Missing
			switch h {
			case fuse.HeadAudio:
				missing = appendMissing(slices.Clone(missing), string(av.Video))
			case fuse.HeadVideo:
				missing = appendMissing(slices.Clone(missing), string(av.Audio))
			}
			in := d.Features(st.Evidence, missing, st.TimeNS)
			if in.HeadFor() != h || !in.AudioOK && !in.VideoOK {
				continue
			}
			y := map[string]bool{}
			for _, k := range fuse.DecisionKinds {
				y[k] = st.Labelled[k] >= 0.5
				if h == fuse.HeadAV && !st.Skip[k] {
					all[k]++
					if y[k] {
						pos[k]++
					}
				}
			}
			data[h] = append(data[h], sample{in.Scaled(), y, st.Skip})
		}
	}
	m := &fuse.Model{Heads: map[string]map[string]*fuse.KindHead{}, Priors: map[string]float64{}}
	for _, k := range fuse.DecisionKinds {
		m.Priors[k] = 0.5
		if all[k] > 0 {
			m.Priors[k] = math.Round(1000*pos[k]/all[k]) / 1000
		}
	}
	for _, h := range []string{fuse.HeadAV, fuse.HeadAudio, fuse.HeadVideo} {
		m.Heads[h] = map[string]*fuse.KindHead{}
		for _, k := range fuse.DecisionKinds {
			var xs [][]float64
			var ys []float64
			for _, s := range data[h] {
				if s.skip[k] {
					continue
				}
				xs = append(xs, s.x)
				ys = append(ys, b2f(s.y[k]))
			}
			sign := allowed(h, k)
			kh := fitLogistic(xs, ys, sign)
			if slices.ContainsFunc(sign, func(s int) bool { return s != unused }) {
				calibrate(kh, xs, ys)
			}
			kh.Bias = min(kh.Bias, fuse.MaxBias)
			m.Heads[h][k] = kh
		}
	}
	return m, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// calibrate shifts a head's bias so that turning on at the default
// on-confidence (0.6) gives the best F1 on the training intervals: each
// head's operating point is its own best, so audio-only, video-only and
// fused are compared fairly.
func calibrate(kh *fuse.KindHead, xs [][]float64, ys []float64) {
	on := math.Log(0.6 / 0.4)
	z := make([]float64, len(xs))
	for i, x := range xs {
		z[i] = kh.Bias
		for j, v := range x {
			z[i] += kh.Weights[j] * v
		}
	}
	bestF, bestShift := -1.0, 0.0
	for step := -80; step <= 80; step++ {
		shift := float64(step) / 8
		var tp, fp, fn float64
		for i := range z {
			p := z[i]+shift >= on
			switch {
			case p && ys[i] > 0:
				tp++
			case p:
				fp++
			case ys[i] > 0:
				fn++
			}
		}
		f := 0.0
		if tp > 0 {
			f = 2 * tp / (2*tp + fp + fn)
		}
		if f > bestF+1e-12 || f > bestF-1e-12 && math.Abs(shift) < math.Abs(bestShift) {
			bestF, bestShift = f, shift
		}
	}
	kh.Bias += bestShift
}

// Feature constraints of a head's fit.
const (
	unused   = iota // weight 0
	free            // any sign
	positive        // never below 0
	negative        // never above 0
)

// allowed gives each feature's constraint in head h for kind: the
// features fuse.KindFeatures lists for the kind, of the head's modalities,
// with their signs. A kind its head cannot sense uses none.
func allowed(h, kind string) []int {
	c := make([]int, len(fuse.HeadFeatures))
	if !fuse.Sensed(kind, h != fuse.HeadVideo, h != fuse.HeadAudio) {
		return c
	}
	for i, f := range fuse.HeadFeatures {
		if !fuse.HeadAllows(h, kind, f) {
			continue
		}
		c[i] = free
		switch s := fuse.KindFeatures[kind][f.Name]; {
		case s > 0:
			c[i] = positive
		case s < 0:
			c[i] = negative
		}
	}
	return c
}

// fitLogistic fits a logistic regression under the constraints by
// Newton's method (IRLS) with an active set: fit the free features; while
// a sign-constrained weight came out against its sign, pin the one most
// against it at 0 and fit again. Deterministic; L2 on the weights.
func fitLogistic(xs [][]float64, ys []float64, cons []int) *fuse.KindHead {
	nf := len(cons)
	off := &fuse.KindHead{Bias: -5, Weights: make([]float64, nf)}
	var pos float64
	for _, y := range ys {
		pos += y
	}
	if len(ys) == 0 || pos == 0 {
		return off
	}
	pinned := make([]bool, nf)
	for {
		var idx []int
		for j, c := range cons {
			if c != unused && !pinned[j] {
				idx = append(idx, j)
			}
		}
		if len(idx) == 0 {
			return off
		}
		kh := newtonFit(xs, ys, idx, nf)
		worst, wj := 0.0, -1
		for _, j := range idx {
			against := 0.0
			switch cons[j] {
			case positive:
				against = -kh.Weights[j]
			case negative:
				against = kh.Weights[j]
			}
			if -against < worst {
				worst, wj = -against, j
			}
		}
		if wj < 0 {
			return kh
		}
		pinned[wj] = true
	}
}

// newtonFit fits the features idx (others 0) from zero.
func newtonFit(xs [][]float64, ys []float64, idx []int, nf int) *fuse.KindHead {
	p := len(idx) + 1 // + bias, last
	theta := make([]float64, p)
	nn := float64(len(ys))
	row := make([]float64, p)
	for range trainSteps {
		H := make([][]float64, p)
		for i := range H {
			H[i] = make([]float64, p+1) // augmented with the gradient
		}
		for i, x := range xs {
			for a, j := range idx {
				row[a] = x[j]
			}
			row[p-1] = 1
			z := 0.0
			for a := range p {
				z += theta[a] * row[a]
			}
			pr := 1 / (1 + math.Exp(-z))
			g := pr - ys[i]
			h := pr * (1 - pr)
			for a := range p {
				H[a][p] += g * row[a]
				for b := range p {
					H[a][b] += h * row[a] * row[b]
				}
			}
		}
		for a := range p {
			for b := range p + 1 {
				H[a][b] /= nn
			}
			if a < p-1 {
				H[a][a] += trainL2
				H[a][p] += trainL2 * theta[a]
			} else {
				H[a][a] += 1e-9
			}
		}
		step := solve(H, p)
		for a := range p {
			theta[a] -= step[a]
		}
	}
	w := make([]float64, nf)
	for a, j := range idx {
		w[j] = theta[a]
	}
	return &fuse.KindHead{Bias: theta[p-1], Weights: w}
}

// solve solves the augmented system m (p × p+1) by Gaussian elimination
// with partial pivoting.
func solve(m [][]float64, p int) []float64 {
	for c := range p {
		piv := c
		for r := c + 1; r < p; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[piv][c]) {
				piv = r
			}
		}
		m[c], m[piv] = m[piv], m[c]
		if m[c][c] == 0 {
			continue
		}
		for r := c + 1; r < p; r++ {
			f := m[r][c] / m[c][c]
			for k := c; k <= p; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	x := make([]float64, p)
	for r := p - 1; r >= 0; r-- {
		s := m[r][p]
		for k := r + 1; k < p; k++ {
			s -= m[r][k] * x[k]
		}
		if m[r][r] != 0 {
			x[r] = s / m[r][r]
		}
	}
	return x
}

// featureConfig is a decision config for computing head features
// (Decider.Features): only the camera's field of view matters to them;
// the thresholds are placeholders the features never read.
func featureConfig(hfov float64) fuse.DecideConfig {
	if !(hfov > 0 && hfov < 180) {
		hfov = 60
	}
	return fuse.DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: hfov}
}

func appendMissing(m []string, mod string) []string {
	if !slices.Contains(m, mod) {
		m = append(m, mod)
	}
	slices.Sort(m)
	return m
}
