package bench

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
	"github.com/seed-4c364652/fusiond/internal/wavfile"
	avsync "github.com/seed-4c364652/fusiond/sync"
)

// VADClip is one line of a VAD list: a WAV, its Audacity label track
// (intervals labelled speech are the truth) and, optionally, the peers'
// segments (node ../shared/peers/vad/vad.cjs WAV --json).
type VADClip struct {
	WAV, Labels, Peers string
}

// ParseVADList reads a list of clips, WAV<TAB>LABELS[<TAB>PEERS.json] a
// line; name is its file, for errors.
func ParseVADList(name string, b []byte) ([]VADClip, error) {
	var clips []VADClip
	for n, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			return nil, fmt.Errorf("%s:%d: want WAV<TAB>LABELS[<TAB>PEERS]", name, n+1)
		}
		c := VADClip{WAV: f[0], Labels: f[1]}
		if len(f) > 2 {
			c.Peers = f[2]
		}
		clips = append(clips, c)
	}
	return clips, nil
}

// VADReport is the VAD benchmark's result: each detector's scores per clip
// and pooled over all clips (counts summed).
type VADReport struct {
	Clips  []VADClipScores      `json:"clips"`
	Pooled map[string]*VADScore `json:"pooled"`
}

// VADClipScores are one clip's scores, by detector.
type VADClipScores struct {
	File    string               `json:"file"`
	Seconds float64              `json:"seconds"`
	Scores  map[string]*VADScore `json:"scores"`
}

// VAD scores fusiond's voice activity detector, frame by frame, on the
// clips, beside the peers' segments scored the same way: every 10 ms step
// t = 0.005 + 0.01k is speech or not, for the labels and for each
// detector. The audio takes the pipeline's path: 20 ms chunks at the
// file's rate and channels into the synchroniser (resampled there to
// analysisRateHz), audio-only bundles at 30 per second, the audio
// features; each VAD decision covers the 10 ms hop before it was made.
func VAD(clips []VADClip, analysisRateHz int, vc fuse.VADConfig) (*VADReport, error) {
	rep := &VADReport{Pooled: map[string]*VADScore{}}
	for _, clip := range clips {
		w, err := wavfile.Read(clip.WAV)
		if err != nil {
			return nil, err
		}
		lb, err := os.ReadFile(clip.Labels)
		if err != nil {
			return nil, err
		}
		truth, err := speechLabels(clip.Labels, lb)
		if err != nil {
			return nil, err
		}
		dur := float64(w.Frames()) / float64(w.RateHz)
		segs := map[string][][2]float64{}
		if segs["fusiond"], err = runVAD(w, analysisRateHz, vc); err != nil {
			return nil, fmt.Errorf("%s: %w", clip.WAV, err)
		}
		if clip.Peers != "" {
			var peer struct {
				Detectors map[string][][2]float64 `json:"detectors"`
			}
			pb, err := os.ReadFile(clip.Peers)
			if err == nil {
				err = json.Unmarshal(pb, &peer)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", clip.Peers, err)
			}
			for k, v := range peer.Detectors {
				segs[k] = v
			}
		}
		c := VADClipScores{File: clip.WAV, Seconds: dur, Scores: map[string]*VADScore{}}
		for k, s := range segs {
			sc := scoreVAD(truth, s, dur)
			c.Scores[k] = sc
			if rep.Pooled[k] == nil {
				rep.Pooled[k] = &VADScore{}
			}
			rep.Pooled[k].add(sc)
		}
		rep.Clips = append(rep.Clips, c)
	}
	for _, s := range rep.Pooled {
		s.finish()
	}
	return rep, nil
}

// WriteJSON writes the report as one line of JSON.
func (r *VADReport) WriteJSON(w io.Writer) error { return json.NewEncoder(w).Encode(r) }

// WriteTable writes precision, recall, F1, the fraction marked speech and
// the onset latency of each detector per clip, then pooled.
func (r *VADReport) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	names := make([]string, 0, len(r.Pooled))
	for k := range r.Pooled {
		names = append(names, k)
	}
	slices.Sort(names)
	row := func(name string, s *VADScore) {
		fmt.Fprintf(bw, "  %-16s P %.3f R %.3f F1 %.3f  speech %4.1f%%  onsets %d p50 %4.0f ms p95 %4.0f ms missed %d\n",
			name, s.Precision, s.Recall, s.F1, 100*s.SpeechFraction, s.Onsets, s.OnsetP50MS, s.OnsetP95MS, s.Missed)
	}
	for _, c := range r.Clips {
		fmt.Fprintf(bw, "%s (%.2f s)\n", c.File, c.Seconds)
		for _, k := range names {
			if s := c.Scores[k]; s != nil {
				s.finish()
				row(k, s)
			}
		}
	}
	fmt.Fprintf(bw, "pooled over %d clips\n", len(r.Clips))
	for _, k := range names {
		row(k, r.Pooled[k])
	}
	return bw.Flush()
}

// VADScore counts 10 ms steps and onset latencies.
type VADScore struct {
	TP, FP, FN             int
	Precision, Recall, F1  float64
	Onsets, Missed         int
	OnsetP50MS, OnsetP95MS float64
	SpeechFraction         float64 // of the steps, marked speech
	latMS                  []float64
	steps                  int
}

func (s *VADScore) add(o *VADScore) {
	s.TP, s.FP, s.FN = s.TP+o.TP, s.FP+o.FP, s.FN+o.FN
	s.Onsets, s.Missed, s.steps = s.Onsets+o.Onsets, s.Missed+o.Missed, s.steps+o.steps
	s.latMS = append(s.latMS, o.latMS...)
}

func (s *VADScore) finish() {
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
func scoreVAD(truth, segs [][2]float64, dur float64) *VADScore {
	in := func(t float64, xs [][2]float64) bool {
		for _, x := range xs {
			if x[0] <= t && t < x[1] {
				return true
			}
		}
		return false
	}
	s := &VADScore{}
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
func runVAD(w *wavfile.WAV, analysisRate int, vc fuse.VADConfig) ([][2]float64, error) {
	const startNS = int64(1_700_000_000) * 1e9
	sync, err := avsync.NewFrameSync(avsync.Config{
		Audio: "mic", AudioRateHz: w.RateHz, AudioChannels: w.Channels, AnalysisRateHz: analysisRate,
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
	feats, err := fuse.NewAudioFeatures(fuse.AudioConfig{RateHz: analysisRate, Channels: w.Channels, VAD: vc}, be)
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
	chunk := w.RateHz / 50
	frames := len(w.Data) / w.Channels
	total := frames + w.RateHz/2 // half a second of silence after: the last decisions
	for first := 0; first < total; first += chunk {
		c := &av.AudioChunk{RateHz: w.RateHz, Channels: w.Channels, FirstFrame: int64(first), Data: make([]float32, chunk*w.Channels)}
		if first < frames {
			copy(c.Data, w.Data[first*w.Channels:min(frames, first+chunk)*w.Channels])
		}
		c.Stream = "mic"
		c.CaptureNS = startNS + av.FramesToNS(int64(first), w.RateHz)
		c.ArrivalNS = startNS + av.FramesToNS(int64(first+chunk), w.RateHz)
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
