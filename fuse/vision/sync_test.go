//go:build !nosensors

package vision

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/seed-4c364652/fusiond/fuse"
)

// decodeAudio decodes a clip's audio to mono 16 kHz samples with ffmpeg.
func decodeAudio(t *testing.T, clip string) []float32 {
	t.Helper()
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("no ffmpeg")
	}
	out := filepath.Join(t.TempDir(), "a.raw")
	cmd := exec.Command(ff, "-v", "error", "-i", clip, "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, len(raw)/2)
	for i := range x {
		x[i] = float32(int16(binary.LittleEndian.Uint16(raw[2*i:]))) / 32768
	}
	return x
}

// On the Megamind clip, the speaker candidate's mouth motion and the
// voice's level are in sync: the z-score against shifted audio is high,
// and falls when the audio is misaligned by more than the lag search. The
// extractor runs with its defaults (faces from 24 px).
func TestSynchronyOnMegamind(t *testing.T) {
	clip := media(t, "Megamind.avi")
	audio := decodeAudio(t, clip)
	vc, err := gocv.VideoCaptureFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	fps := vc.Get(gocv.VideoCaptureFPS)
	m := gocv.NewMat()
	defer m.Close()
	var e *Extractor
	var mouth []float64
	var have []bool
	for vc.Read(&m) {
		if e == nil {
			e = newTestExtractor(t, Config{Width: m.Cols(), Height: m.Rows()})
		}
		v := e.Push(matFrame(t, m))
		mouth = append(mouth, v.MouthMotion)
		have = append(have, v.Has(FeatMouth))
	}
	level := func(k, shift int) float64 { // dBFS of frame k's 1/fps of audio
		a := int(float64(k+shift) * 16000 / fps)
		b := int(float64(k+shift+1) * 16000 / fps)
		if a < 0 || b > len(audio) {
			return math.NaN()
		}
		var s float64
		for _, x := range audio[a:b] {
			s += float64(x) * float64(x)
		}
		return 10 * math.Log10(s/float64(b-a)+1e-12)
	}
	score := func(shift int) (float64, float64, bool) {
		s, err := fuse.NewSynchrony(fuse.SynchronyConfig{RateHz: fps, WindowNS: 5e9})
		if err != nil {
			t.Fatal(err)
		}
		var sum, n float64
		var lag float64
		for k := range mouth {
			l := level(k, shift)
			s.Push(mouth[k], l, have[k] && !math.IsNaN(l))
			if z, lg, ok := s.Score(); ok {
				sum += z
				n++
				lag = lg
			}
		}
		return sum / n, lag, n > 0
	}
	z0, lag0, ok := score(0)
	zLate, _, okLate := score(int(2 * fps))
	zEarly, _, okEarly := score(int(-2 * fps))
	t.Logf("Megamind.avi at %.0f fps, %d frames: mean z %.2f (last lag %.0f ms) in sync, %.2f with the audio 2 s late, %.2f 2 s early", fps, len(mouth), z0, lag0, zLate, zEarly)
	// Other misalignments, for the record: on an 11 s clip with three cuts
	// a single shift can line up by chance (BENCHMARKS.md).
	for _, sh := range []float64{-4, -3, -2, -1.5, 1.5, 2.5, 3, 4} {
		z, _, _ := score(int(sh * fps))
		t.Logf("  audio %+.1f s late: mean z %.2f", sh, z)
	}
	// Misaligned by 2 s either way, where the clip leaves enough frames
	// with a face and sound to score (a window needs them): at least one.
	if !okLate && !okEarly {
		t.Errorf("no synchrony score with the audio 2 s late or early")
	}
	if !ok || z0 < 1.5 || (okLate && z0 < zLate+1) || (okEarly && z0 < zEarly+1) {
		t.Errorf("synchrony z %.2f in sync, %.2f with the audio 2 s late, %.2f early", z0, zLate, zEarly)
	}
}
