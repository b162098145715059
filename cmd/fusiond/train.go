package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

func cmdTrain(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("train", "[--out FILE] [CLIPS...]",
		"Fit the fusion head (one logistic regression per decision kind and per set of modalities: av, a, v)\n"+
			"on labelled clips (default: the train split, "+evalDir+"/train) and write the model file.\n"+
			"Modality dropout: the a and v heads are fitted on every interval with the other modality removed.",
		[]string{"fusiond train --out configs/models/fusion-head.txt"}, stdout)
	out := fs.String("out", "configs/models/fusion-head.txt", "model file to write")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	clips, err := clipPaths(fs.Args(), "train")
	if err != nil {
		fmt.Fprintf(stderr, "fusiond train: %v\n", err)
		return 1
	}
	runs, err := runClips(clips)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond train: %v\n", err)
		return 1
	}
	m, n, err := train(runs)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond train: %v\n", err)
		return 1
	}
	var b bytes.Buffer
	fuse.WriteModel(&b, m, fmt.Sprintf("Trained by `fusiond train` (make train) on %d clips, %d decision intervals.\nLogistic regression per kind and head, L2 %g, %d Newton steps, bias calibrated to the best training F1.", len(runs), n, trainL2, trainSteps))
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "fusiond train: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: %d clips, %d intervals\n", *out, len(runs), n)
	return 0
}

const (
	trainL2      = 1e-3
	trainSteps   = 30
	trainBalance = false
)

// train fits every head: for each run and each set of modalities, the
// interval features (as the Decider computes them) and the labels.
func train(runs []*clipRun) (*fuse.Model, int, error) {
	type sample struct {
		x []float64
		y map[string]bool
	}
	data := map[string][]sample{}
	n := 0
	for _, r := range runs {
		n += len(r.acts)
		for _, h := range []string{fuse.HeadAV, fuse.HeadAudio, fuse.HeadVideo} {
			d, err := fuse.NewDecider(fuse.DecideConfig{OnConfidence: 0.6, OffConfidence: 0.4, HFOVDeg: r.hfov})
			if err != nil {
				return nil, 0, err
			}
			for _, a := range r.acts {
				missing := a.Missing
				switch h {
				case fuse.HeadAudio:
					missing = appendMissing(append([]string(nil), missing...), string(av.Video))
				case fuse.HeadVideo:
					missing = appendMissing(append([]string(nil), missing...), string(av.Audio))
				}
				in := d.Features(a.Evidence, missing)
				if in.HeadFor() != h || !in.AudioOK && !in.VideoOK {
					continue
				}
				iv := floorDivNS(a.TimeNS, r.intervalNS)
				t0 := float64(iv*r.intervalNS-evalStartNS) / 1e9
				t1 := t0 + float64(r.intervalNS)/1e9
				y := map[string]bool{}
				for _, k := range fuse.DecisionKinds {
					_, y[k] = r.labels.At(k, t0, t1)
				}
				data[h] = append(data[h], sample{in.Scaled(), y})
			}
		}
	}
	m := &fuse.Model{Heads: map[string]map[string]*fuse.KindHead{}}
	for _, h := range []string{fuse.HeadAV, fuse.HeadAudio, fuse.HeadVideo} {
		m.Heads[h] = map[string]*fuse.KindHead{}
		for _, k := range fuse.DecisionKinds {
			xs := make([][]float64, len(data[h]))
			ys := make([]float64, len(data[h]))
			for i, s := range data[h] {
				xs[i] = s.x
				if s.y[k] {
					ys[i] = 1
				}
			}
			ok := allowed(h, k)
			kh := fitLogistic(xs, ys, ok)
			if slices.Contains(ok, true) {
				calibrate(kh, xs, ys)
			}
			m.Heads[h][k] = kh
		}
	}
	return m, n, nil
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

// allowed masks the features a head may use (its modalities').
// Motion is seen, never heard: its heads use video features only.
func allowed(h, kind string) []bool {
	ok := make([]bool, len(fuse.HeadFeatures))
	for i, f := range fuse.HeadFeatures {
		if kind == fuse.KindMotion && f.Modality != fuse.ModVideo {
			continue
		}
		switch h {
		case fuse.HeadAV:
			ok[i] = true
		case fuse.HeadAudio:
			ok[i] = f.Modality == fuse.ModAudio
		case fuse.HeadVideo:
			ok[i] = f.Modality == fuse.ModVideo
		}
	}
	return ok
}

// fitLogistic fits a logistic regression by Newton's method (IRLS) from
// zero, with L2 on the weights and the classes weighted to balance:
// deterministic, converged in a few dozen steps for these few features.
func fitLogistic(xs [][]float64, ys []float64, ok []bool) *fuse.KindHead {
	nf := len(ok)
	var idx []int // the free features
	for j, o := range ok {
		if o {
			idx = append(idx, j)
		}
	}
	if len(idx) == 0 {
		// Nothing to go on (motion unheard): off, not the base rate.
		return &fuse.KindHead{Bias: -5, Weights: make([]float64, nf)}
	}
	p := len(idx) + 1 // + bias, last
	theta := make([]float64, p)
	var pos float64
	for _, y := range ys {
		pos += y
	}
	nn := float64(len(ys))
	if nn == 0 || pos == 0 {
		return &fuse.KindHead{Bias: -5, Weights: make([]float64, nf)}
	}
	wPos, wNeg := 1.0, 1.0
	if trainBalance && pos < nn {
		wPos, wNeg = nn/(2*pos), nn/(2*(nn-pos))
	}
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
			cw := wNeg
			if ys[i] > 0 {
				cw = wPos
			}
			g := cw * (pr - ys[i])
			h := cw * pr * (1 - pr)
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
