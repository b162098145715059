package train

import (
	"bytes"
	"math"
	"testing"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/internal/evalrun"
)

func TestSolve(t *testing.T) {
	// 2x + y = 5, x + 3y = 10: x = 1, y = 3 (the first pivot swaps rows).
	m := [][]float64{{1, 3, 10}, {2, 1, 5}}
	x := solve(m, 2)
	if math.Abs(x[0]-1) > 1e-12 || math.Abs(x[1]-3) > 1e-12 {
		t.Fatalf("solve: %v, want [1 3]", x)
	}
}

// TestFitLogistic: one feature that separates the classes gets a positive
// weight; the same feature negated, constrained positive, is pinned at 0;
// no positives give the off head.
func TestFitLogistic(t *testing.T) {
	var xs [][]float64
	var ys []float64
	for i := range 40 {
		v := float64(i%10) / 10
		y := 0.0
		if v >= 0.5 {
			y = 1
		}
		xs = append(xs, []float64{v, -v})
		ys = append(ys, y)
	}
	kh := fitLogistic(xs, ys, []int{positive, unused})
	if kh.Weights[0] <= 1 || kh.Weights[1] != 0 {
		t.Errorf("separable: weights %v", kh.Weights)
	}
	kh = fitLogistic(xs, ys, []int{unused, positive})
	if kh.Weights[1] != 0 || kh.Bias != -5 {
		t.Errorf("wrong sign: %+v, want the off head", kh)
	}
	kh = fitLogistic(xs, ys, []int{unused, free})
	if kh.Weights[1] >= -1 {
		t.Errorf("free: weight %v, want negative", kh.Weights[1])
	}
	kh = fitLogistic(xs, make([]float64, len(ys)), []int{free, free})
	if kh.Bias != -5 || kh.Weights[0] != 0 {
		t.Errorf("no positives: %+v", kh)
	}
}

func TestCalibrate(t *testing.T) {
	// z = x - 3: positives at x ≥ 2; the best shift puts the threshold
	// log(1.5) between x = 1 and x = 2.
	kh := &fuse.KindHead{Bias: -3, Weights: []float64{1}}
	xs := [][]float64{{0}, {1}, {2}, {3}}
	calibrate(kh, xs, []float64{0, 0, 1, 1})
	on := math.Log(1.5)
	if !(kh.Bias+1 < on && kh.Bias+2 >= on) {
		t.Errorf("bias %v: threshold not between 1 and 2", kh.Bias)
	}
}

// TestFitDeterministic: the same steps give the same model file, and a
// kind labelled where it is evident is fitted with a positive prior.
func TestFitDeterministic(t *testing.T) {
	var steps []evalrun.Step
	for i := range 200 {
		speech := i%4 < 2
		ev := map[string]float64{}
		for _, f := range fuse.HeadFeatures {
			ev[f.Name] = 0
		}
		lab := map[string]float64{}
		for _, k := range fuse.DecisionKinds {
			lab[k] = 0
		}
		if speech {
			lab[fuse.KindSpeech] = 1
		}
		steps = append(steps, evalrun.Step{Clip: "c", T0: float64(i) / 30, T1: float64(i+1) / 30, TimeNS: int64(i+1) * 33_333_333,
			Evidence: ev, Labelled: lab, Skip: map[string]bool{}, HFOVDeg: 60})
	}
	write := func() []byte {
		m, err := Fit(steps)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := Write(&b, m, 1, len(steps)); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b := write(), write()
	if !bytes.Equal(a, b) {
		t.Fatal("two fits of the same steps differ")
	}
	m, err := fuse.ParseModel("fit", a)
	if err != nil {
		t.Fatalf("model file does not read back: %v\n%s", err, a)
	}
	if p := m.Priors[fuse.KindSpeech]; p != 0.5 {
		t.Errorf("speech prior %v, want 0.5 (half the steps)", p)
	}
}

// TestFitLogisticKeepsSigns: a feature constrained to lower the kind gets
// a negative weight where the data say so, and 0 (never a positive
// weight) where they say the opposite; a positive one the mirror image.
func TestFitLogisticKeepsSigns(t *testing.T) {
	var xs [][]float64
	var ys []float64
	for i := range 200 {
		on := i%2 == 0
		x := []float64{0, 0}
		if on {
			x[0] = 1 // goes with the kind
		} else {
			x[1] = 1 // goes against it
		}
		xs = append(xs, x)
		ys = append(ys, b2f(on))
	}
	for _, c := range []struct {
		cons []int
		want [2]int // sign of each weight
	}{
		{[]int{positive, negative}, [2]int{1, -1}},
		{[]int{negative, positive}, [2]int{0, 0}},
		{[]int{free, negative}, [2]int{1, -1}},
	} {
		kh := fitLogistic(xs, ys, c.cons)
		for j, w := range kh.Weights {
			got := 0
			switch {
			case w > 1e-9:
				got = 1
			case w < -1e-9:
				got = -1
			}
			if got != c.want[j] {
				t.Errorf("constraints %v: weights %v, want signs %v", c.cons, kh.Weights, c.want)
			}
		}
	}
}
