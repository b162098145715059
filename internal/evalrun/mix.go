package evalrun

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/seed-4c364652/fusiond/internal/wavfile"
)

// Real-audio eval scenes: Debian's recorded speech, event sounds and a
// synthesised chord sequence (music without speech), mixed by
// `fusiond eval --mix` into a stereo WAV at known times with a known
// inter-channel delay, heard while the synthetic disc moves in view. The
// recipe is <name>.mix beside the clip (committed); the WAV goes to
// .cache/eval/ (never committed), from the sources scripts/make-eval-clips.sh
// converts to 48 kHz mono into .cache/eval/src/.

const (
	mixSrcDir = ".cache/eval/src"
	// MixDir is where MixAll writes the mixes.
	MixDir = ".cache/eval"
)

// mixSources are the converted sources, by role: speech, event, music.
var mixSources = map[string][]string{
	"speech": {"librivox-0870", "librivox-0880", "librivox-0890", "librivox-0920", "librivox-0930", "codec2-wia", "codec2-hts1a", "codec2-forig", "codec2-morig"},
	"event":  {"bell", "trash-empty", "device-added", "window-attention", "service-login", "power-unplug"},
	"music":  {"chords-a", "chords-b"},
}

// activeSpan returns the first and last sample of x within 30 dB of its
// peak (the sound's extent: labels start and end there).
func activeSpan(x []float32) (int, int) {
	var peak float32
	for _, v := range x {
		peak = max(peak, abs32(v))
	}
	th := peak * 0.0316
	first, last := 0, len(x)-1
	for first < len(x) && abs32(x[first]) < th {
		first++
	}
	for last > first && abs32(x[last]) < th {
		last--
	}
	return first, last
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// mixItem is one sound of a mix: a source's active span placed at At
// seconds, scaled to a peak of PeakDBFS, for at most MaxS seconds.
type mixItem struct {
	Source   string
	At, MaxS float64
	PeakDBFS float64
}

// mixRecipe is a <name>.mix file.
type mixRecipe struct {
	Out         string
	Duration    float64
	DelayFrames int
	NoiseDBFS   float64
	Seed        uint64
	Items       []mixItem
}

func (m *mixRecipe) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Mix recipe: `fusiond eval --mix` writes out from the sources in %s (scripts/make-eval-clips.sh).\n", mixSrcDir)
	fmt.Fprintf(&b, "out %s\nduration %g\ndelay_frames %d\nnoise_dbfs %g\nseed %d\n", m.Out, m.Duration, m.DelayFrames, m.NoiseDBFS, m.Seed)
	for _, it := range m.Items {
		fmt.Fprintf(&b, "sound %s at %g max %g peak_dbfs %g\n", it.Source, it.At, it.MaxS, it.PeakDBFS)
	}
	return b.String()
}

func parseMix(path string) (*mixRecipe, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := &mixRecipe{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(strings.SplitN(sc.Text(), "#", 2)[0])
		if len(f) == 0 {
			continue
		}
		bad := func() error { return fmt.Errorf("%s:%d: malformed %q line", path, line, f[0]) }
		num := func(s string) float64 {
			x, e := strconv.ParseFloat(s, 64)
			if e != nil {
				err = bad()
			}
			return x
		}
		switch {
		case f[0] == "out" && len(f) == 2:
			m.Out = f[1]
		case f[0] == "duration" && len(f) == 2:
			m.Duration = num(f[1])
		case f[0] == "delay_frames" && len(f) == 2:
			m.DelayFrames = int(num(f[1]))
		case f[0] == "noise_dbfs" && len(f) == 2:
			m.NoiseDBFS = num(f[1])
		case f[0] == "seed" && len(f) == 2:
			m.Seed = uint64(num(f[1]))
		case f[0] == "sound" && len(f) == 8 && f[2] == "at" && f[4] == "max" && f[6] == "peak_dbfs":
			m.Items = append(m.Items, mixItem{Source: f[1], At: num(f[3]), MaxS: num(f[5]), PeakDBFS: num(f[7])})
		default:
			return nil, bad()
		}
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// loadSource reads a converted source and cuts it to its active span.
func loadSource(name string) ([]float32, error) {
	w, err := wavfile.Read(filepath.Join(mixSrcDir, name+".wav"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("source %s missing: run scripts/make-eval-clips.sh (fetches Debian's media and converts it)", filepath.Join(mixSrcDir, name+".wav"))
	}
	if err != nil {
		return nil, err
	}
	if w.RateHz != sceneRate || w.Channels != 1 {
		return nil, fmt.Errorf("%s: %d Hz × %d channels, want %d Hz mono", name, w.RateHz, w.Channels, sceneRate)
	}
	a, b := activeSpan(w.Data)
	return w.Data[a : b+1], nil
}

// render mixes the recipe into stereo: channel 1 hears the sum DelayFrames
// later, each channel has its own noise.
func (m *mixRecipe) render() ([]float32, error) {
	n := int(m.Duration * sceneRate)
	src := make([]float32, n)
	for _, it := range m.Items {
		x, err := loadSource(it.Source)
		if err != nil {
			return nil, err
		}
		x = x[:min(len(x), int(it.MaxS*sceneRate))]
		var peak float32
		for _, v := range x {
			peak = max(peak, abs32(v))
		}
		g := float32(math.Pow(10, it.PeakDBFS/20)) / max(peak, 1e-6)
		at := int(math.Round(it.At * sceneRate))
		for i, v := range x {
			if at+i < n {
				src[at+i] += g * v
			}
		}
	}
	r := rand.New(rand.NewPCG(m.Seed, 1))
	amp := math.Pow(10, m.NoiseDBFS/20) * math.Sqrt(3)
	out := make([]float32, 2*n)
	for k := range n {
		out[2*k] = src[k] + float32(amp*(2*r.Float64()-1))
		var d float32
		if j := k - m.DelayFrames; j >= 0 && j < n {
			d = src[j]
		}
		out[2*k+1] = d + float32(amp*(2*r.Float64()-1))
	}
	return out, nil
}

// sourceSpanS returns a source's active length in seconds (capped).
func sourceSpanS(name string, maxS float64) (float64, error) {
	x, err := loadSource(name)
	if err != nil {
		return 0, err
	}
	return min(float64(len(x))/sceneRate, maxS), nil
}

// MixAll writes the WAV of every .mix recipe under dir.
func MixAll(dir string) (int, error) {
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".mix") {
			paths = append(paths, p)
		}
		return nil
	})
	if err := os.MkdirAll(MixDir, 0o755); err != nil {
		return 0, err
	}
	for _, p := range paths {
		m, err := parseMix(p)
		if err != nil {
			return 0, err
		}
		data, err := m.render()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", p, err)
		}
		if err := wavfile.Write(m.Out, sceneRate, 2, data); err != nil {
			return 0, err
		}
	}
	return len(paths), nil
}
