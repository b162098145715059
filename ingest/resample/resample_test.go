package resample

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// tone returns frames of a sine of amplitude a at hz, sampled at rate, on
// every one of ch channels (channel c scaled by 1/(c+1)).
func tone(frames, ch, rate int, hz, a float64) []float32 {
	x := make([]float32, frames*ch)
	for i := range frames {
		s := a * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))
		for c := range ch {
			x[i*ch+c] = float32(s / float64(c+1))
		}
	}
	return x
}

// fit returns the amplitude of the sine at hz in channel c of y (sampled
// at rate, from frame first on) and the RMS of what is left, skipping
// skip frames at each end.
func fit(y []float32, ch, c, rate int, first int64, hz float64, skip int) (amp, resid float64) {
	n := len(y)/ch - 2*skip
	var ss, cc, sc, ys, yc float64
	for i := skip; i < skip+n; i++ {
		w := 2 * math.Pi * hz * float64(first+int64(i)) / float64(rate)
		s, co := math.Sin(w), math.Cos(w)
		v := float64(y[i*ch+c])
		ss += s * s
		cc += co * co
		sc += s * co
		ys += v * s
		yc += v * co
	}
	det := ss*cc - sc*sc
	a := (ys*cc - yc*sc) / det
	b := (yc*ss - ys*sc) / det
	var r float64
	for i := skip; i < skip+n; i++ {
		w := 2 * math.Pi * hz * float64(first+int64(i)) / float64(rate)
		e := float64(y[i*ch+c]) - a*math.Sin(w) - b*math.Cos(w)
		r += e * e
	}
	return math.Hypot(a, b), math.Sqrt(r / float64(n))
}

func db(x float64) float64 { return 20 * math.Log10(x) }

func run(t testing.TB, r *Resampler, x []float32) ([]float32, int64) {
	t.Helper()
	ch := r.Channels()
	dst := make([]float32, r.MaxFrames(len(x)/ch)*ch)
	n, first := r.Push(dst, x, 0)
	return dst[:n*ch], first
}

// A sine in the passband keeps its frequency and level: a sine at exactly
// its frequency at the output rate fits it to within 0.05 dB, leaving less
// than -70 dB of anything else.
func TestSinePreserved(t *testing.T) {
	for _, tc := range []struct {
		in, out, ch int
		hz          float64
	}{
		{48000, 16000, 2, 1000},
		{48000, 16000, 1, 5500},
		{44100, 16000, 1, 440},
		{22050, 16000, 1, 3000},
		{11025, 16000, 1, 1000},
		{11025, 16000, 2, 4000},
		{8000, 16000, 1, 1000},
		{8000, 16000, 1, 3000},
		{32000, 16000, 3, 250},
		{16000, 48000, 1, 6000},
		{12000, 16000, 1, 4500},
	} {
		r, err := New(tc.in, tc.out, tc.ch)
		if err != nil {
			t.Fatal(err)
		}
		x := tone(tc.in, tc.ch, tc.in, tc.hz, 0.5)
		y, first := run(t, r, x)
		if got, want := len(y)/tc.ch, tc.out-r.taps*tc.out/tc.in/2; got < want-2 || got > tc.out {
			t.Errorf("%d→%d: %d frames out of 1 s, want about %d", tc.in, tc.out, got, want)
		}
		for c := range tc.ch {
			want := 0.5 / float64(c+1)
			amp, resid := fit(y, tc.ch, c, tc.out, first, tc.hz, tc.out/20)
			if g := db(amp / want); math.Abs(g) > 0.05 {
				t.Errorf("%d→%d ch%d: %v Hz gain %.3f dB", tc.in, tc.out, c, tc.hz, g)
			}
			if e := db(resid / want); e > -70 {
				t.Errorf("%d→%d ch%d: %v Hz leaves %.1f dB of other signal", tc.in, tc.out, c, tc.hz, e)
			}
		}
	}
}

// Above the output's Nyquist frequency, a sine is rejected instead of
// folding back: at least 80 dB down.
func TestAliasRejection(t *testing.T) {
	for _, tc := range []struct {
		in, out int
		hz      float64
	}{
		{48000, 16000, 8000},
		{48000, 16000, 10000}, // would alias to 6 kHz
		{48000, 16000, 15000},
		{44100, 16000, 9000},
		{44100, 16000, 20000},
		{22050, 16000, 10000},
		{32000, 16000, 8500},
	} {
		r, err := New(tc.in, tc.out, 1)
		if err != nil {
			t.Fatal(err)
		}
		y, _ := run(t, r, tone(tc.in, 1, tc.in, tc.hz, 0.5))
		var s float64
		for _, v := range y[len(y)/10 : len(y)*9/10] {
			s += float64(v) * float64(v)
		}
		rms := math.Sqrt(s / float64(len(y)*8/10))
		if g := db(rms / (0.5 / math.Sqrt2)); g > -80 {
			t.Errorf("%d→%d: %v Hz comes out at %.1f dB", tc.in, tc.out, tc.hz, g)
		} else {
			t.Logf("%d→%d: %v Hz at %.1f dB", tc.in, tc.out, tc.hz, g)
		}
	}
}

// The output depends on the input frames, not on how they were chunked.
func TestChunkingDoesNotMatter(t *testing.T) {
	for _, rates := range [][2]int{{48000, 16000}, {11025, 16000}, {44100, 16000}, {8000, 16000}} {
		rng := rand.New(rand.NewPCG(1, uint64(rates[0])))
		const ch = 2
		x := make([]float32, rates[0]*ch)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 0.1)
		}
		whole, _ := New(rates[0], rates[1], ch)
		want, wantFirst := run(t, whole, x)
		r, _ := New(rates[0], rates[1], ch)
		var got []float32
		gotFirst := int64(-1)
		buf := make([]float32, r.MaxFrames(2000)*ch)
		for k := 0; k < rates[0]; {
			n := min(rates[0]-k, 1+rng.IntN(2000))
			m, f := r.Push(buf, x[k*ch:(k+n)*ch], int64(k))
			if m > 0 && gotFirst < 0 {
				gotFirst = f
			}
			if m > 0 && f != gotFirst+int64(len(got)/ch) {
				t.Fatalf("%v: chunk at %d starts at output %d, want %d", rates, k, f, gotFirst+int64(len(got)/ch))
			}
			got = append(got, buf[:m*ch]...)
			k += n
		}
		if gotFirst != wantFirst || len(got) != len(want) {
			t.Fatalf("%v: %d frames from %d, want %d from %d", rates, len(got)/ch, gotFirst, len(want)/ch, wantFirst)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%v: sample %d is %v chunked, %v whole", rates, i, got[i], want[i])
			}
		}
	}
}

// Output frame j is at time j/out: a stream starting at input frame k
// starts at output frame ceil(k·out/in), and a gap restarts the filter
// there.
func TestTimelineAndGaps(t *testing.T) {
	r, _ := New(11025, 16000, 1)
	buf := make([]float32, r.MaxFrames(4410))
	x := tone(4410, 1, 11025, 500, 0.5)
	_, first := r.Push(buf, x, 11025)
	if first != 16000 {
		t.Errorf("first output %d, want 16000", first)
	}
	n, next := r.Push(buf, x, 11025+4410)
	if next <= first || n == 0 {
		t.Errorf("continuation: %d frames from %d", n, next)
	}
	_, jump := r.Push(buf, x, 3*11025) // a gap
	if jump != 3*16000 {
		t.Errorf("after a gap: first output %d, want %d", jump, 3*16000)
	}
	// A sine across the restart is still the sine, in phase with time.
	y := make([]float32, r.MaxFrames(11025))
	x = make([]float32, 11025)
	for i := range x {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*500*float64(5*11025+i)/11025))
	}
	m, f := r.Push(y, x, 5*11025)
	amp, resid := fit(y[:m], 1, 0, 16000, f, 500, 800)
	if math.Abs(db(amp/0.5)) > 0.05 || db(resid/0.5) > -70 {
		t.Errorf("after a restart: amplitude %.4f, residual %.1f dB", amp, db(resid/0.5))
	}
}

func TestEqualRatesCopy(t *testing.T) {
	r, err := New(16000, 16000, 2)
	if err != nil {
		t.Fatal(err)
	}
	x := tone(100, 2, 16000, 440, 0.3)
	y := make([]float32, r.MaxFrames(100)*2)
	n, first := r.Push(y, x, 7)
	if n != 100 || first != 7 {
		t.Fatalf("%d frames from %d", n, first)
	}
	for i := range x {
		if y[i] != x[i] {
			t.Fatalf("sample %d changed", i)
		}
	}
}

func TestBadRates(t *testing.T) {
	for _, tc := range []struct{ in, out, ch int }{
		{0, 16000, 1}, {16000, 999, 1}, {800000, 16000, 1}, {48000, 16000, 0},
		{47999, 16000, 1}, // 16000 phases
	} {
		if _, err := New(tc.in, tc.out, tc.ch); !errors.Is(err, ErrRate) {
			t.Errorf("New(%d, %d, %d): %v, want ErrRate", tc.in, tc.out, tc.ch, err)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	r, _ := New(44100, 16000, 2)
	x := tone(882, 2, 44100, 440, 0.3)
	y := make([]float32, r.MaxFrames(882)*2)
	k := int64(0)
	r.Push(y, x, k)
	allocs := testing.AllocsPerRun(100, func() {
		k += 882
		r.Push(y, x, k)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per chunk", allocs)
	}
}

// A 48 kHz stereo microphone to the 16 kHz analysis rate, 20 ms chunks.
func BenchmarkPush48kStereoTo16k(b *testing.B) { benchPush(b, 48000, 16000, 2) }

// An 11.025 kHz mono microphone up to 16 kHz.
func BenchmarkPush11kMonoTo16k(b *testing.B) { benchPush(b, 11025, 16000, 1) }

func benchPush(b *testing.B, in, out, ch int) {
	r, _ := New(in, out, ch)
	frames := in / 50
	x := tone(frames, ch, in, 440, 0.3)
	y := make([]float32, r.MaxFrames(frames)*ch)
	b.SetBytes(int64(len(x) * 4))
	b.ReportAllocs()
	k := int64(0)
	for b.Loop() {
		r.Push(y, x, k)
		k += int64(frames)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/20e6*100, "%cpu")
}
