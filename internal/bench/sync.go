package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/seed-4c364652/fusiond/ingest/av"
	avsync "github.com/seed-4c364652/fusiond/sync"
)

// SyncConfig is a synchroniser policy and its settings, as
// `fusiond bench sync` takes them.
type SyncConfig struct {
	// Policy is approximate, exact or window.
	Policy string
	// QueueSize is the messages kept per stream (approximate, exact).
	QueueSize int
	// AgePenalty, MaxIntervalNS and LearnLowerBounds are approximate's;
	// MaxWaitNS > 0 runs ApproxSync, whose idle streams sets go on without.
	AgePenalty       float64
	MaxIntervalNS    int64
	MaxWaitNS        int64
	LearnLowerBounds bool
	// BeforeNS and AfterNS are window's audio around each trigger.
	BeforeNS, AfterNS int64
}

// Sync is one synchroniser over a loaded trace, ready to time.
type Sync struct {
	tr  *avsync.Trace
	run func(w *bufio.Writer) (sets uint64, extra string, err error)
}

// SyncResult is the fastest of Sync.Time's runs.
type SyncResult struct {
	Messages int
	Sets     uint64
	Seconds  float64
	// Extra is the policy's own counts, " key=value" each.
	Extra string
}

// NewSync prepares cfg's synchroniser over tr.
func NewSync(tr *avsync.Trace, cfg SyncConfig) (*Sync, error) {
	s := &Sync{tr: tr}
	switch cfg.Policy {
	case "approximate":
		acfg := avsync.ApproxConfig{Streams: tr.Streams, QueueSize: cfg.QueueSize, AgePenalty: cfg.AgePenalty,
			MaxIntervalNS: cfg.MaxIntervalNS, LearnLowerBounds: cfg.LearnLowerBounds}
		s.run = func(w *bufio.Writer) (uint64, string, error) { return benchApprox(tr, acfg, w) }
		if cfg.MaxWaitNS > 0 {
			scfg := avsync.ApproxSyncConfig{ApproxConfig: acfg, MaxWaitNS: cfg.MaxWaitNS}
			s.run = func(w *bufio.Writer) (uint64, string, error) { return benchApproxSync(tr, scfg, w) }
		}
	case "exact":
		ecfg := avsync.ExactConfig{Streams: tr.Streams, QueueSize: cfg.QueueSize}
		s.run = func(w *bufio.Writer) (uint64, string, error) { return benchExact(tr, ecfg, w) }
	case "window":
		s.run = func(w *bufio.Writer) (uint64, string, error) { return benchWindow(tr, cfg.BeforeNS, cfg.AfterNS, w) }
	default:
		return nil, fmt.Errorf("unknown policy %q (want approximate, window or exact)", cfg.Policy)
	}
	return s, nil
}

// Time runs the synchroniser repeat times (at least once) on the clock and
// keeps the fastest run. The first run writes its sets to sets, when not
// nil, in the peer's format; writing is timed, as the peer times it.
func (s *Sync) Time(clock av.Clock, sets io.Writer, repeat int) (SyncResult, error) {
	res := SyncResult{Messages: len(s.tr.Events)}
	for i := range max(1, repeat) {
		var w *bufio.Writer
		if sets != nil && i == 0 {
			w = bufio.NewWriterSize(sets, 1<<16)
		}
		start := clock.Now()
		n, extra, err := s.run(w)
		if err == nil && w != nil {
			err = w.Flush()
		}
		sec := float64(clock.Now()-start) / 1e9
		if err != nil {
			return SyncResult{}, err
		}
		res.Sets, res.Extra = n, extra
		if i == 0 || sec < res.Seconds {
			res.Seconds = sec
		}
	}
	return res, nil
}

func benchApprox(tr *avsync.Trace, cfg avsync.ApproxConfig, w *bufio.Writer) (uint64, string, error) {
	emit := setWriter(w)
	a, err := avsync.NewApprox(cfg, emit, nil)
	if err != nil {
		return 0, "", err
	}
	for i, ev := range tr.Events {
		a.Add(ev.Stream, avsync.Member{TimeNS: ev.TimeNS, ID: uint64(i)})
	}
	var dropped uint64
	for i := range tr.Streams {
		dropped += a.Dropped(i)
	}
	return a.Sets(), fmt.Sprintf(" dropped=%d", dropped), nil
}

// benchApproxSync is benchApprox with deadlines; a missing member is
// written as "-".
func benchApproxSync(tr *avsync.Trace, cfg avsync.ApproxSyncConfig, w *bufio.Writer) (uint64, string, error) {
	buf := make([]byte, 0, 256)
	emit := func(set []avsync.Member, missing uint16) {
		if w == nil {
			return
		}
		buf = append(buf[:0], "set"...)
		for i, m := range set {
			if missing&(1<<i) != 0 {
				buf = append(buf, " -"...)
				continue
			}
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, m.TimeNS, 10)
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
	s, err := avsync.NewApproxSync(cfg, emit, nil)
	if err != nil {
		return 0, "", err
	}
	var now int64
	for i, ev := range tr.Events {
		now = max(now, ev.TimeNS)
		s.Add(ev.Stream, avsync.Member{TimeNS: ev.TimeNS, ID: uint64(i)}, now)
	}
	all, partial := s.Sets()
	return all, fmt.Sprintf(" partial=%d rebuilds=%d", partial, s.Rebuilds()), nil
}

func benchExact(tr *avsync.Trace, cfg avsync.ExactConfig, w *bufio.Writer) (uint64, string, error) {
	emit := setWriter(w)
	x, err := avsync.NewExact(cfg, emit, nil)
	if err != nil {
		return 0, "", err
	}
	for i, ev := range tr.Events {
		x.Add(ev.Stream, avsync.Member{TimeNS: ev.TimeNS, ID: uint64(i)})
	}
	return x.Sets(), "", nil
}

// benchWindow runs the window policy over a trace: stream 0 triggers
// (frames), stream 1 is 48 kHz stereo audio whose chunks start at the
// trace's timestamps (a chunk runs to the next one, at most 100 ms).
// Arrival time is the latest timestamp seen. Samples are made before the
// clock starts; audio buffers are reused, as pooled buffers would be.
func benchWindow(tr *avsync.Trace, beforeNS, afterNS int64, w *bufio.Writer) (uint64, string, error) {
	const rateHz, channels = 48000, 2
	type ev struct {
		stream     int
		t, arrival int64
		first      int64
		frames     int
	}
	evs := make([]ev, len(tr.Events))
	var arrival, originNS int64
	lastAudio := -1
	maxFrames := 480
	// A chunk's first frame is its timestamp's frame count from the first
	// chunk; it runs to the next chunk's first frame (at most 100 ms).
	for i, e := range tr.Events {
		arrival = max(arrival, e.TimeNS)
		evs[i] = ev{stream: e.Stream, t: e.TimeNS, arrival: arrival}
		if e.Stream != 1 {
			continue
		}
		if lastAudio < 0 {
			originNS = e.TimeNS
		}
		evs[i].first = av.NSToFrames(e.TimeNS-originNS, rateHz)
		evs[i].frames = 480
		if lastAudio >= 0 {
			p := &evs[lastAudio]
			p.frames = int(min(max(evs[i].first-p.first, 1), rateHz/10))
			maxFrames = max(maxFrames, p.frames)
		}
		lastAudio = i
	}
	drops := av.NewDrops()
	s, err := avsync.NewFrameSync(avsync.Config{Video: "cam", FramePeriodNS: 33333333, Audio: "mic", AudioRateHz: rateHz,
		AudioChannels: channels, AudioWindowNS: beforeNS, AudioAfterNS: afterNS, MaxWaitNS: 200e6,
		MinAudioCoverage: 0.5, PendingFrames: 16}, drops)
	if err != nil {
		return 0, "", err
	}
	chunk := &av.AudioChunk{RateHz: rateHz, Channels: channels, Data: make([]float32, maxFrames*channels)}
	chunk.Stream = "mic"
	frames := make([]av.Frame, 64)
	var bundles, covered, total uint64
	var buf []byte
	emit := func(b *av.Bundle) {
		bundles++
		covered += uint64(b.Audio.Covered)
		total += uint64(b.Audio.Frames())
		if w != nil {
			buf = append(buf[:0], "bundle "...)
			buf = strconv.AppendInt(buf, b.TimeNS, 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, b.Audio.StartNS, 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(b.Audio.Covered), 10)
			buf = append(buf, '/')
			buf = strconv.AppendInt(buf, int64(b.Audio.Frames()), 10)
			for _, m := range b.Missing {
				buf = append(buf, " missing="...)
				buf = append(buf, m...)
			}
			buf = append(buf, '\n')
			w.Write(buf)
		}
		b.Release()
	}
	var audioSamples uint64
	var nextFirst int64
	nf := 0
	for _, e := range evs {
		switch e.stream {
		case 0:
			f := &frames[nf%len(frames)]
			nf++
			f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = "cam", uint64(nf), e.t, e.arrival
			s.Push(f, emit)
		case 1:
			if e.first < nextFirst { // jitter made it overlap the last one
				e.first = nextFirst
			}
			nextFirst = e.first + int64(e.frames)
			chunk.FirstFrame, chunk.CaptureNS, chunk.ArrivalNS = e.first, e.t, e.arrival
			chunk.Data = chunk.Data[:e.frames*channels]
			audioSamples += uint64(len(chunk.Data))
			s.Push(chunk, emit)
		default:
			s.Push(&frames[nf%len(frames)], emit) // counted as an unknown stream
		}
	}
	s.Flush(emit)
	st := s.Stats()
	cov := 0.0
	if total > 0 {
		cov = float64(covered) / float64(total)
	}
	return bundles, fmt.Sprintf(" audio_samples=%d coverage=%.4f video_missing=%d audio_missing=%d deadline=%d",
		audioSamples, cov, st.VideoMissing, st.AudioMissing, st.Deadline), nil
}

// ErrSetsFile wraps a failure to create or write the sets file (a
// runtime failure, where the other errors of SyncFiles are bad input).
var ErrSetsFile = errors.New("sets file")

// SyncFiles loads the trace at tracePath, times cfg's synchroniser over it
// repeat times on the real clock, and writes the sets to setsPath (none
// when empty), as `fusiond bench sync` does.
func SyncFiles(tracePath, setsPath string, cfg SyncConfig, repeat int) (SyncResult, error) {
	f, err := os.Open(tracePath)
	if err != nil {
		return SyncResult{}, err
	}
	tr, err := avsync.ParseTrace(bufio.NewReaderSize(f, 1<<20))
	f.Close()
	if err != nil {
		return SyncResult{}, fmt.Errorf("%s: %w", tracePath, err)
	}
	s, err := NewSync(tr, cfg)
	if err != nil {
		return SyncResult{}, err
	}
	var sets io.WriteCloser
	if setsPath != "" {
		if sets, err = os.Create(setsPath); err != nil {
			return SyncResult{}, fmt.Errorf("%w: %w", ErrSetsFile, err)
		}
	}
	res, err := s.Time(av.NewRealClock(), sets, repeat)
	if sets != nil {
		if cerr := sets.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%w: %w", ErrSetsFile, cerr)
		}
	}
	return res, err
}

// setWriter is a synchroniser's set callback: it writes each set to w in
// the peer's format, or does nothing when w is nil (timing alone).
func setWriter(w *bufio.Writer) func([]avsync.Member) {
	if w == nil {
		return func([]avsync.Member) {}
	}
	buf := make([]byte, 0, 256)
	return func(set []avsync.Member) {
		buf = avsync.AppendSet(buf[:0], set)
		w.Write(buf)
	}
}

// WriteTrace writes tr to the file at path (created), or to w when path
// is empty, in the peer's format.
func WriteTrace(tr *avsync.Trace, path string, w io.Writer) error {
	if path == "" {
		_, err := tr.WriteTo(w)
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := tr.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
