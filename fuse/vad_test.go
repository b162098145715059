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
	floor, faint, rise, voice := make([]float32, 257), make([]float32, 257), make([]float32, 257), make([]float32, 257)
	for i := range floor {
		// faint: 3 dB over the floor, under the threshold; rise: 7 dB, 1 over it
		floor[i], faint[i], rise[i], voice[i] = 1e-7, 2e-7, 5e-7, 1e-2
	}
	for _, tc := range []struct {
		name   string
		seq    string
		wantNS int64
	}{
		{"from the first frame above the floor", "..rrrvv", 3 * hop},
		{"under the speech threshold too", "..ffrrvv", 3 * hop},
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
			case 'f':
				in.power, in.levelDBFS = faint, -77
			case 'r':
				in.power, in.levelDBFS, in.flatness = rise, -55, 0.1
			case 'v':
				in.power, in.levelDBFS, in.flatness, in.harmonicity, in.voice = voice, -25, 0.05, 0.9, true
			}
			on, _ = v.update(in)
		}
		if !on || v.atNS != tc.wantNS {
			t.Errorf("%s: speech %v from %d ms, want from %d ms", tc.name, on, v.atNS/1e6, tc.wantNS/1e6)
		}
	}
}

// TestVADEndAtFall: speech that ends is timed where its last speech
// frame's sound fell back to the noise floor, at most the hangover after
// that frame; the hangover only waits to be sure.
func TestVADEndAtFall(t *testing.T) {
	const hop = int64(10e6)
	floor, tail, voice := make([]float32, 257), make([]float32, 257), make([]float32, 257)
	for i := range floor {
		floor[i], tail[i], voice[i] = 1e-7, 2e-7, 1e-2 // tail: 3 dB over the floor, under the threshold
	}
	for _, tc := range []struct {
		name   string
		seq    string
		wantNS int64 // from the end of the settling silence
	}{
		{"at the last speech frame, straight back to the floor", "..vvvvv" + strings.Repeat(".", 20), 7 * hop},
		{"where its fading tail reached the floor", "..vvvvvfff" + strings.Repeat(".", 20), 10 * hop},
		{"a tail that dips to the floor is not the voice's", "..vvvvvf.f" + strings.Repeat(".", 20), 8 * hop},
		{"at most the hangover after the last speech frame", "..vvvvv" + strings.Repeat("f", 30), 7*hop + 90e6},
		{"a loud sound no voice confirmed", "..mmmm" + strings.Repeat(".", 30), 6 * hop},
	} {
		v := newVAD(VADConfig{}, 512, 16000, hop)
		const settle = 30
		seq := strings.Repeat(".", settle) + tc.seq
		var on, was bool
		for i := range seq {
			in := vadInput{timeNS: int64(i+1) * hop, power: floor, levelDBFS: -80, flatness: 0.5, tonality: 0.1, harmonicity: 0.5, peaks: 20, haveShape: true, haveHarmonicity: true}
			switch seq[i] {
			case 'v':
				in.power, in.levelDBFS, in.flatness, in.harmonicity, in.voice = voice, -25, 0.05, 0.9, true
			case 'm':
				in.power, in.levelDBFS, in.flatness = voice, -25, 0.05
			case 'f':
				in.power, in.levelDBFS = tail, -77
			}
			on, _ = v.update(in)
			was = was || on
		}
		if !was || on || v.atNS != settle*hop+tc.wantNS {
			t.Errorf("%s: speech seen %v, on %v, ended at %d ms, want %d ms", tc.name, was, on, v.atNS/1e6, (settle*hop+tc.wantNS)/1e6)
		}
	}
}
