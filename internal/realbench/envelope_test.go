package realbench

import (
	"math"
	"testing"
)

func TestEnvelope(t *testing.T) {
	const rate, fps = 1000, 10 // 100 samples a frame, a window of 200
	level := func(db float64, n int) []int16 {
		s := make([]int16, n)
		a := 32767 * math.Pow(10, db/20) * math.Sqrt2 // a square wave's RMS is its amplitude
		for i := range s {
			s[i] = int16(a / math.Sqrt2 * float64(1-2*(i%2)))
		}
		return s
	}
	cat := func(parts ...[]int16) []int16 {
		var out []int16
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name    string
		samples []int16
		frames  int
		want    []float64
	}{
		{"no frames", level(0, 1000), 0, []float64{}},
		{"silence stays closed", make([]int16, 1000), 4, []float64{0, 0, 0, 0}},
		{"steady voice is fully open (edge frames half the window)", level(-10, 1000), 4, []float64{1, 1, 1, 1}},
		{"the voice beyond the samples is silence", level(-10, 100), 4, []float64{1, 1, 0.5, 0}},
		{
			// 18 dB below the loudest frame is halfway between -30 and -6 dB.
			"level maps linearly", cat(level(0, 300), level(-18, 500)), 8,
			[]float64{1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5},
		},
		{"the jaw closes by at most half a frame", cat(level(0, 250), make([]int16, 750)), 8, []float64{1, 1, 1, 1, 0.5, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Envelope(tc.samples, rate, fps, tc.frames)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d frames, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 0.02 {
					t.Fatalf("frame %d: got %v, want %v", i, got, tc.want)
				}
			}
		})
	}
}

// The opening never decreases when the voice gets louder at one frame.
func TestEnvelopeMonotone(t *testing.T) {
	base := make([]int16, 4000)
	for i := range base {
		base[i] = int16(3000 * math.Sin(float64(i)*0.3) * math.Sin(float64(i)*0.001))
	}
	louder := append([]int16(nil), base...)
	for i := 1900; i < 2100; i++ {
		louder[i] = int16(float64(louder[i]) * 1.5)
	}
	a, b := Envelope(base, 1000, 25, 100), Envelope(louder, 1000, 25, 100)
	// Louder frames raise the peak, which may lower others; the frames
	// around the change itself must not close.
	for i := 48; i <= 52; i++ {
		if b[i] < a[i]-1e-9 {
			t.Errorf("frame %d: opening %v fell to %v with a louder voice", i, a[i], b[i])
		}
	}
}
