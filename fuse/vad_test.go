package fuse

import (
	"strings"
	"testing"
)

// TestVADUnvoiced checks the VAD's decisions on known frame sequences:
// unvoiced and loud onsets, their confirmation by a voice, and how long
// unvoiced frames hold speech on.
func TestVADUnvoiced(t *testing.T) {
	const hop = int64(10e6)
	quiet, loud := make([]float32, 257), make([]float32, 257)
	for i := range quiet {
		quiet[i], loud[i] = 1e-7, 1e-2
	}
	frame := func(kind byte) vadInput {
		in := vadInput{power: quiet, levelDBFS: -80, flatness: 0.5, tonality: 0.1, harmonicity: 0.2, peaks: 20, haveShape: true, haveHarmonicity: true}
		switch kind {
		case 'v': // voiced
			in.power, in.levelDBFS, in.flatness, in.harmonicity, in.voice = loud, -25, 0.05, 0.9, true
		case 'u': // unvoiced: loud, shaped like speech, aperiodic
			in.power, in.levelDBFS, in.flatness = loud, -30, 0.1
		case 'm': // a loud onset: shaped like speech, neither voiced nor unvoiced (a vowel's first frame)
			in.power, in.levelDBFS, in.flatness, in.harmonicity = loud, -30, 0.1, 0.5
		case 'q': // the same a little above the floor: not loud enough to start speech
			in.power, in.levelDBFS, in.flatness, in.harmonicity = quiet, -50, 0.1, 0.5
		case 't': // a tone: loud, one peak
			in.power, in.levelDBFS, in.flatness, in.tonality, in.peaks, in.harmonicity, in.voice = loud, -20, 0.01, 0.99, 1, 0.99, true
		}
		return in
	}
	run := func(seq string) string {
		v := newVAD(VADConfig{}, 512, 16000, hop)
		out := make([]byte, len(seq))
		for i := range seq {
			in := frame(seq[i])
			in.timeNS = int64(i+1) * hop
			on, _ := v.update(in)
			out[i] = '.'
			if on {
				out[i] = 'S'
			}
		}
		return string(out)
	}
	rep := func(s string, n int) string {
		out := ""
		for range n {
			out += s
		}
		return out
	}
	for _, tc := range []struct{ name, in, want string }{
		{"voiced onset after two frames", "...vvvv", "....SSS"},
		{"unvoiced onset after three frames, confirmed", "..uuuvvvv", "....SSSSS"},
		{"hangover 80 ms", ".vv" + rep(".", 35), "..S" + rep("S", 8) + rep(".", 27)},
		{"unconfirmed onset ends after 250 ms and stays off while the sound lasts",
			"." + rep("u", 40), "..." + rep("S", 26) + rep(".", 12)},
		{"unvoiced frames hold speech 1 s past the last voice, then a hangover",
			".vv" + rep("u", 150), ".." + rep("S", 109) + rep(".", 42)},
		{"the noise floor starts at the first frame", "uuuuuu", "......"},
		{"a tone is never speech", rep("t", 50), rep(".", 50)},
		{"a loud onset starts speech at once; a voice confirms it", "..mvvvv", "..SSSSS"},
		{"a loud sound no voice confirms ends after 250 ms and stays off while it lasts",
			"." + rep("m", 40) + rep(".", 10) + "mm", "." + rep("S", 26) + rep(".", 24) + "SS"},
		{"a faint one does not start speech", "..qqqqq", "......."},
		{"an unconfirmed sound that pauses for 10 ms does not start again",
			"." + rep("u", 30) + "." + rep("u", 20), "..." + rep("S", 26) + rep(".", 23)},
		{"after a 100 ms pause an unvoiced onset may start again",
			"." + rep("u", 30) + rep(".", 10) + rep("u", 5), "..." + rep("S", 26) + rep(".", 14) + "SSS"},
	} {
		if got := run(tc.in); got != tc.want {
			t.Errorf("%s:\n in   %s\n got  %s\n want %s", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestVADToneIsEvidenceAgainst: a loud pure tone (a chime) scores as
// strongly against speech as it is loud; a quiet one, or a sound that is
// merely not speech-shaped, only weakly.
func TestVADToneIsEvidenceAgainst(t *testing.T) {
	const hop = int64(10e6)
	quiet, loud := make([]float32, 257), make([]float32, 257)
	for i := range quiet {
		quiet[i], loud[i] = 1e-7, 1e-2
	}
	for _, tc := range []struct {
		name     string
		tonality float64
		lo, hi   float64
	}{
		{"a pure tone", 1, -10, -5},
		{"a voice's murmur, nearly as tonal", 0.97, -1.1, -1},
	} {
		v := newVAD(VADConfig{}, 512, 16000, hop)
		var score float64
		for i := range 12 {
			in := vadInput{timeNS: int64(i+1) * hop, power: quiet, levelDBFS: -80, flatness: 0.5, tonality: 0.1, peaks: 20, haveShape: true, haveHarmonicity: true}
			if i >= 2 {
				in.power, in.levelDBFS, in.flatness, in.tonality, in.peaks, in.harmonicity = loud, -20, 0.01, tc.tonality, 1, 0.99
			}
			_, score = v.update(in)
		}
		if score < tc.lo-1e-9 || score > tc.hi+1e-9 {
			t.Errorf("%s: score %.2f, want [%v, %v]", tc.name, score, tc.lo, tc.hi)
		}
	}
}

// TestVADOnsetAtRise: speech is timed from where its sound rose out of
// the noise floor, at most RiseNS before the frame that started it.
func TestVADOnsetAtRise(t *testing.T) {
	const hop = int64(10e6)
	floor, rise, voice := make([]float32, 257), make([]float32, 257), make([]float32, 257)
	for i := range floor {
		floor[i], rise[i], voice[i] = 1e-7, 5e-7, 1e-2 // rise: 7 dB over the floor, 1 over the threshold
	}
	for _, tc := range []struct {
		name   string
		seq    string
		wantNS int64
	}{
		{"from the first frame above the floor", "..rrrvv", 3 * hop},
		{"a voice straight out of silence", "....vv", 5 * hop},
		{"at most RiseNS before", "." + strings.Repeat("r", 20) + "vv", 23*hop - 100e6},
		{"a dip to the floor starts the rise again", "..rr.rrvv", 6 * hop},
	} {
		v := newVAD(VADConfig{}, 512, 16000, hop)
		var on bool
		// 300 ms of silence first: the floor settles from where it starts.
		const settle = 30
		tc.seq = strings.Repeat(".", settle) + tc.seq
		tc.wantNS += settle * hop
		for i := range tc.seq {
			in := vadInput{timeNS: int64(i+1) * hop, power: floor, levelDBFS: -80, flatness: 0.5, tonality: 0.1, harmonicity: 0.5, peaks: 20, haveShape: true, haveHarmonicity: true}
			switch tc.seq[i] {
			case 'r':
				in.power, in.levelDBFS, in.flatness = rise, -55, 0.1
			case 'v':
				in.power, in.levelDBFS, in.flatness, in.harmonicity, in.voice = voice, -25, 0.05, 0.9, true
			}
			on, _ = v.update(in)
		}
		if !on || v.startNS != tc.wantNS {
			t.Errorf("%s: speech %v from %d ms, want from %d ms", tc.name, on, v.startNS/1e6, tc.wantNS/1e6)
		}
	}
}
