package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/seed-4c364652/fusiond/internal/wavfile"
)

// TestVADAnyMicrophone: one real recording at 11.025 kHz mono, 16 kHz mono
// and 48 kHz stereo gives the same speech segments, each edge within one
// decision interval (500 ms, the tolerance): the synchroniser
// resamples to the analysis rate and the features read the channel mix.
// (Onsets agree to the 10 ms hop; a borderline frame in a trailing breath
// can hold one version's end a few hops longer, or start an unconfirmed
// onset in one version: a loud sound no voice follows, speech for at most
// 250 ms. Segments that short are left out of the comparison.)
func TestVADAnyMicrophone(t *testing.T) {
	src := "../../.cache/media/pocketsphinx-testdata/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0920.wav"
	if _, err := os.Stat(src); err != nil {
		t.Skipf("no real speech (%v): scripts/fetch-media.sh pocketsphinx-testdata", err)
	}
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox is not installed")
	}
	dir := t.TempDir()
	var segs [3][][2]float64
	for i, v := range [][]string{{"-r", "11025", "-c", "1"}, {"-r", "16000", "-c", "1"}, {"-r", "48000", "-c", "2"}} {
		out := filepath.Join(dir, v[1]+".wav")
		args := append([]string{src, "-b", "16", out, "pad", "1", "1", "rate"}, v[1], "channels", v[3])
		if b, err := exec.Command("sox", args...).CombinedOutput(); err != nil {
			t.Fatalf("sox: %v\n%s", err, b)
		}
		w, err := wavfile.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		all, err := runVAD(w, 16000, vadDefaults)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range all {
			if s[1]-s[0] > 0.25 {
				segs[i] = append(segs[i], s)
			}
		}
	}
	if len(segs[1]) == 0 {
		t.Fatal("no speech found in real speech")
	}
	for i, name := range []string{"11.025 kHz mono", "48 kHz stereo"} {
		got := segs[2*i]
		if len(got) != len(segs[1]) {
			t.Errorf("%s: %d speech segments, 16 kHz mono %d: %v vs %v", name, len(got), len(segs[1]), got, segs[1])
			continue
		}
		for k := range got {
			for e := range 2 {
				if d := got[k][e] - segs[1][k][e]; d > 0.5 || d < -0.5 {
					t.Errorf("%s: segment %d edge %d at %.3f s, 16 kHz mono %.3f s", name, k, e, got[k][e], segs[1][k][e])
				}
			}
		}
	}
}
