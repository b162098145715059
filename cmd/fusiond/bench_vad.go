package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/ingest/av"
	avsync "github.com/seed-4c364652/fusiond/sync"
)

// benchVAD scores fusiond's voice activity detector, frame by frame, on WAV
// files with speech labels, beside the peers' segments
// (../shared/peers/vad/vad.cjs --json) scored the same way: every 10 ms
// step t = 0.005 + 0.01k is speech or not, for the labels and for each
// detector. The audio takes the pipeline's path: 20 ms chunks at the
// file's rate and channels into the synchroniser (resampled there to the
// analysis rate), audio-only bundles at 30 per second, the audio features;
// each VAD decision covers the 10 ms hop before it was made.
func benchVAD(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench vad", "--list LIST.tsv [--analysis-rate HZ] [--json]",
		"Score the VAD on WAV files. Each line of LIST is\n"+
			"  WAV<TAB>LABELS[<TAB>PEERS.json]\n"+
			"LABELS an Audacity label track (intervals labelled speech are the truth;\n"+
			"scripts/speech-labels.sh makes one), PEERS the output of\n"+
			"node ../shared/peers/vad/vad.cjs WAV --json. Prints precision, recall and F1 per\n"+
			"clip and pooled over all clips (counts summed), and the onset latency: from a\n"+
			"labelled speech start to the end of the first 10 ms step the detector marks\n"+
			"speech (fusiond decides at that moment; the peers see the whole file).",
		[]string{"scripts/bench-vad.sh test", "fusiond bench vad --list .cache/vad/test.tsv --json"}, stdout)
	list := fs.String("list", "", "`FILE` of clips")
	rate := fs.Int("analysis-rate", 16000, "the analysis rate `HZ` (sync.analysis_rate_hz)")
	asJSON := fs.Bool("json", false, "print JSON")
	var vc fuse.VADConfig
	fs.Float64Var(&vc.SNRThresholdDB, "vad-snr-db", 0, "VADConfig.SNRThresholdDB (0: the default)")
	fs.Float64Var(&vc.MinHarmonicity, "vad-min-harmonicity", 0, "VADConfig.MinHarmonicity (0: the default)")
	fs.Float64Var(&vc.MaxFlatness, "vad-max-flatness", 0, "VADConfig.MaxFlatness (0: the default)")
	fs.IntVar(&vc.MinPeaks, "vad-min-peaks", 0, "VADConfig.MinPeaks (0: the default)")
	hang := fs.Duration("vad-hangover", 0, "VADConfig.HangoverNS (0: the default)")
	fs.Float64Var(&vc.UnvoicedSNRDB, "vad-unvoiced-snr-db", 0, "VADConfig.UnvoicedSNRDB (0: the default)")
	fs.Float64Var(&vc.MaxUnvoicedHarmonicity, "vad-max-unvoiced-harmonicity", 0, "VADConfig.MaxUnvoicedHarmonicity (0: the default)")
	fs.IntVar(&vc.OnsetHops, "vad-onset-hops", 0, "VADConfig.OnsetHops (0: the default)")
	confirm := fs.Duration("vad-confirm", 0, "VADConfig.ConfirmNS (0: the default)")
	maxUnvoiced := fs.Duration("vad-max-unvoiced", 0, "VADConfig.MaxUnvoicedNS (0: the default)")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	vc.HangoverNS, vc.ConfirmNS, vc.MaxUnvoicedNS = int64(*hang), int64(*confirm), int64(*maxUnvoiced)
	b, err := os.ReadFile(*list)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond bench vad: %v\n", err)
		return exitUsage
	}
	type clipOut struct {
		File    string                  `json:"file"`
		Seconds float64                 `json:"seconds"`
		Scores  map[string]*vadScore    `json:"scores"`
		Segs    map[string][][2]float64 `json:"-"`
	}
	var clips []clipOut
	pooled := map[string]*vadScore{}
	for n, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			fmt.Fprintf(stderr, "fusiond bench vad: %s:%d: want WAV<TAB>LABELS[<TAB>PEERS]\n", *list, n+1)
			return exitUsage
		}
		w, err := readWAV(f[0])
		if err != nil {
			fmt.Fprintf(stderr, "fusiond bench vad: %v\n", err)
			return 1
		}
		lb, err := os.ReadFile(f[1])
		if err != nil {
			fmt.Fprintf(stderr, "fusiond bench vad: %v\n", err)
			return 1
		}
		truth, err := speechLabels(f[1], lb)
		if err != nil {
			fmt.Fprintf(stderr, "fusiond bench vad: %v\n", err)
			return 1
		}
		dur := float64(len(w.data)/w.channels) / float64(w.rate)
		segs := map[string][][2]float64{}
		if segs["fusiond"], err = runVAD(w, *rate, vc); err != nil {
			fmt.Fprintf(stderr, "fusiond bench vad: %s: %v\n", f[0], err)
			return 1
		}
		if len(f) > 2 && f[2] != "" {
			var peer struct {
				Detectors map[string][][2]float64 `json:"detectors"`
			}
			pb, err := os.ReadFile(f[2])
			if err == nil {
				err = json.Unmarshal(pb, &peer)
			}
			if err != nil {
				fmt.Fprintf(stderr, "fusiond bench vad: %s: %v\n", f[2], err)
				return 1
			}
			for k, v := range peer.Detectors {
				segs[k] = v
			}
		}
		c := clipOut{File: f[0], Seconds: dur, Scores: map[string]*vadScore{}, Segs: segs}
		for k, s := range segs {
			sc := scoreVAD(truth, s, dur)
			c.Scores[k] = sc
			if pooled[k] == nil {
				pooled[k] = &vadScore{}
			}
			pooled[k].add(sc)
		}
		clips = append(clips, c)
	}
	for _, s := range pooled {
		s.finish()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return exitCode(enc.Encode(map[string]any{"clips": clips, "pooled": pooled}))
	}
	bw := bufio.NewWriter(stdout)
	names := make([]string, 0, len(pooled))
	for k := range pooled {
		names = append(names, k)
	}
	slices.Sort(names)
	row := func(name string, s *vadScore) {
		fmt.Fprintf(bw, "  %-16s P %.3f R %.3f F1 %.3f  speech %4.1f%%  onsets %d p50 %4.0f ms p95 %4.0f ms missed %d\n",
			name, s.Precision, s.Recall, s.F1, 100*s.SpeechFraction, s.Onsets, s.OnsetP50MS, s.OnsetP95MS, s.Missed)
	}
	for _, c := range clips {
		fmt.Fprintf(bw, "%s (%.2f s)\n", c.File, c.Seconds)
		for _, k := range names {
			if s := c.Scores[k]; s != nil {
				s.finish()
				row(k, s)
			}
		}
	}
	fmt.Fprintf(bw, "pooled over %d clips\n", len(clips))
	for _, k := range names {
		row(k, pooled[k])
	}
	return exitCode(bw.Flush())
}

func exitCode(err error) int {
	if err != nil {
		return 1
	}
	return exitOK
}

// vadScore counts 10 ms steps and onset latencies.
type vadScore struct {
	TP, FP, FN             int
	Precision, Recall, F1  float64
	Onsets, Missed         int
	OnsetP50MS, OnsetP95MS float64
	SpeechFraction         float64 // of the steps, marked speech
	latMS                  []float64
	steps                  int
}

func (s *vadScore) add(o *vadScore) {
	s.TP, s.FP, s.FN = s.TP+o.TP, s.FP+o.FP, s.FN+o.FN
	s.Onsets, s.Missed, s.steps = s.Onsets+o.Onsets, s.Missed+o.Missed, s.steps+o.steps
	s.latMS = append(s.latMS, o.latMS...)
}

func (s *vadScore) finish() {
	s.Precision = float64(s.TP) / max(1, float64(s.TP+s.FP))
	s.Recall = float64(s.TP) / max(1, float64(s.TP+s.FN))
	s.F1 = 2 * float64(s.TP) / max(1, float64(2*s.TP+s.FP+s.FN))
	s.SpeechFraction = float64(s.TP+s.FP) / max(1, float64(s.steps))
	if len(s.latMS) > 0 {
		l := slices.Clone(s.latMS)
		slices.Sort(l)
		q := func(p float64) float64 { return l[min(len(l)-1, int(math.Ceil(p*float64(len(l))))-1)] }
		s.OnsetP50MS, s.OnsetP95MS = q(0.5), q(0.95)
	}
}

// scoreVAD scores segments against the truth as the peer script does, and
// measures each labelled onset's latency: to the end of the first step at
// or after it that the detector marks speech, within the labelled segment
// (none: missed, and counted at the segment's length).
func scoreVAD(truth, segs [][2]float64, dur float64) *vadScore {
	in := func(t float64, xs [][2]float64) bool {
		for _, x := range xs {
			if x[0] <= t && t < x[1] {
				return true
			}
		}
		return false
	}
	s := &vadScore{}
	for k := 0; ; k++ {
		t := 0.005 + 0.01*float64(k)
		if t >= dur {
			break
		}
		s.steps++
		y, p := in(t, truth), in(t, segs)
		switch {
		case y && p:
			s.TP++
		case p:
			s.FP++
		case y:
			s.FN++
		}
	}
	for _, tr := range truth {
		s.Onsets++
		lat := -1.0
		for t := tr[0]; t < tr[1]; t += 0.01 {
			if in(t+0.005, segs) {
				lat = t + 0.01 - tr[0]
				break
			}
		}
		if lat < 0 {
			s.Missed++
			lat = tr[1] - tr[0]
		}
		s.latMS = append(s.latMS, lat*1000)
	}
	s.finish()
	return s
}

// runVAD plays w through the synchroniser and the audio features and
// returns the VAD's speech as segments, in seconds from the first sample.
func runVAD(w *wav, analysisRate int, vc fuse.VADConfig) ([][2]float64, error) {
	const startNS = int64(1_700_000_000) * 1e9
	sync, err := avsync.NewFrameSync(avsync.Config{
		Audio: "mic", AudioRateHz: w.rate, AudioChannels: w.channels, AnalysisRateHz: analysisRate,
		FramePeriodNS: int64(time.Second / 30), AudioWindowNS: 100e6, MaxWaitNS: 200e6, MinAudioCoverage: 0.5, PendingFrames: 16,
	}, av.NewDrops())
	if err != nil {
		return nil, err
	}
	be, err := fuse.NewBackend("cpu", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	defer be.Close()
	feats, err := fuse.NewAudioFeatures(fuse.AudioConfig{RateHz: analysisRate, Channels: w.channels, VAD: vc}, be)
	if err != nil {
		return nil, err
	}
	var segs [][2]float64
	emit := func(b *av.Bundle) {
		v := feats.Push(b.TimeNS, &b.Audio)
		for _, f := range v.VADFrames {
			if !f.Speech {
				continue
			}
			e := float64(f.EndNS-startNS) / 1e9
			if n := len(segs); n > 0 && math.Abs(segs[n-1][1]-(e-0.01)) < 1e-6 {
				segs[n-1][1] = e
			} else {
				segs = append(segs, [2]float64{e - 0.01, e})
			}
		}
		b.Release()
	}
	chunk := w.rate / 50
	frames := len(w.data) / w.channels
	total := frames + w.rate/2 // half a second of silence after: the last decisions
	for first := 0; first < total; first += chunk {
		c := &av.AudioChunk{RateHz: w.rate, Channels: w.channels, FirstFrame: int64(first), Data: make([]float32, chunk*w.channels)}
		if first < frames {
			copy(c.Data, w.data[first*w.channels:min(frames, first+chunk)*w.channels])
		}
		c.Stream = "mic"
		c.CaptureNS = startNS + av.FramesToNS(int64(first), w.rate)
		c.ArrivalNS = startNS + av.FramesToNS(int64(first+chunk), w.rate)
		sync.Push(c, emit)
	}
	sync.Flush(emit)
	return segs, nil
}

// speechLabels reads the speech intervals of an Audacity label track
// (start<TAB>end<TAB>label; "\\" lines, Audacity's spectral selections,
// ignored), as the peer script does.
func speechLabels(name string, b []byte) ([][2]float64, error) {
	var out [][2]float64
	for n, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "\\") {
			continue
		}
		f := strings.Split(line, "\t")
		var a, e float64
		_, err1 := fmt.Sscan(f[0], &a)
		var err2 error = fmt.Errorf("no end")
		if len(f) > 1 {
			_, err2 = fmt.Sscan(f[1], &e)
		}
		if err1 != nil || err2 != nil || !(a >= 0) || !(e >= a) {
			return nil, fmt.Errorf("%s:%d: bad interval %q", name, n+1, line)
		}
		if len(f) > 2 && strings.TrimSpace(f[2]) == fuse.KindSpeech {
			out = append(out, [2]float64{a, e})
		}
	}
	return out, nil
}

// fuseVADDefaults is the VAD's configuration as the pipeline has it.
func fuseVADDefaults() fuse.VADConfig { return fuse.VADConfig{} }
