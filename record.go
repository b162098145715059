package fusiond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	gosync "sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/foxglove"
)

// recorder records a running pipeline: every sample the synchroniser
// consumes (through the pipeline's tap), every decision (it is a sink) and
// the status. It can start and stop while the pipeline runs: for the whole
// run with --record (the operator's recording, which the control plane
// cannot stop or replace), or on request of the control plane, confined to
// record.dir.
//
// Nothing it does blocks for long: a file is opened and its head written
// within openTimeout, and a writer that makes no progress for
// stallTimeout while finishing is abandoned (closed under it) and
// reported; the pipeline only ever enqueues.
type recorder struct {
	cfg   *configs.Config
	clock av.Clock
	log   *slog.Logger
	// onFail, when set, is told of the operator's recording failing (the
	// record command stops).
	onFail func(error)
	// signingKey is the public key decisions are signed with (metadata
	// "signing_key"); empty when they are not signed.
	signingKey string
	// version is the build's, for the metadata.
	version string

	mu       gosync.RWMutex   // the tap and the sinks read cur; start and stop change it
	watching gosync.WaitGroup // the sessions' watch goroutines (wait)
	cur      *session
	starting bool  // a start is opening its file, outside mu
	failed   error // the first failure of the operator's recording
}

// session is one recording.
type session struct {
	w        *recording.Writer
	path     string
	operator bool // --record or fusiond record
	started  int64
	done     chan error // Run's result
	unwatch  context.CancelFunc

	// The annotation channels (sinks/foxglove's Annotator, the live
	// view's builder): the decisions and faces seen since it started.
	annMu gosync.Mutex
	ann   *foxglove.Annotator
	size  map[av.StreamID][2]int // each camera's latest frame size
	buf   []byte
}

// The recorder's deadlines: opening a file and writing its head; a writer
// making no progress while it finishes.
const (
	openTimeout = 2 * time.Second
	// stallTimeout is the least; a recorder waits as long as the drain
	// (pipeline.drain_timeout) when that is longer: the shutdown's budget.
	stallTimeout = 500 * time.Millisecond
)

func newRecorder(cfg *configs.Config, clock av.Clock, log *slog.Logger, version string) *recorder {
	return &recorder{cfg: cfg, clock: clock, log: log, version: version}
}

// streams are the recording's sample streams, from the config.
func recordedStreams(cfg *configs.Config) []recording.Stream {
	var ss []recording.Stream
	for _, c := range cfg.Cameras {
		ss = append(ss, recording.Stream{ID: av.StreamID(c.Name), Kind: av.Video})
	}
	for _, m := range cfg.Microphones {
		ss = append(ss, recording.Stream{ID: av.StreamID(m.Name), Kind: av.Audio})
	}
	return ss
}

// errRecording is returned when a recording is started twice, stopped
// when none runs, or asked of the control plane outside its rights; it
// answers 409 on the control plane.
var errRecording = &sinks.CodeError{Code: 409, Msg: "recording"}

// start starts the operator's recording to path (created or truncated; a
// FIFO must have a reader).
func (r *recorder) start(path string) error {
	return r.startWith(path, true, func() (*os.File, error) {
		// O_NONBLOCK: a FIFO with no reader fails at once (ENXIO)
		// instead of blocking the open, and one with a reader is
		// written through the poller, so Abort unblocks its writes.
		return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NONBLOCK, 0o644)
	})
}

func (r *recorder) startWith(path string, operator bool, open func() (*os.File, error)) error {
	r.mu.Lock()
	if r.cur != nil || r.starting {
		defer r.mu.Unlock()
		if r.cur != nil {
			return fmt.Errorf("%w: already recording to %s", errRecording, r.cur.path)
		}
		return fmt.Errorf("%w: another recording is starting", errRecording)
	}
	r.starting = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.starting = false
		r.mu.Unlock()
	}()

	cfgYAML, err := yaml.Marshal(configs.Redacted(r.cfg))
	if err != nil {
		return err
	}
	streams := recordedStreams(r.cfg)
	rc := r.cfg.Record
	md := recording.Metadata(string(cfgYAML), r.version, streams)
	if r.signingKey != "" {
		md["signing_key"] = r.signingKey
	}
	opts := recording.Options{
		Compression: rc.Compression, ChunkBytes: rc.ChunkBytes, FlushInterval: rc.FlushInterval,
		QueueCapacity: rc.QueueCapacity, Streams: streams,
		Metadata: md,
	}
	if !operator {
		opts.MaxBytes = rc.MaxBytes
	}
	// Opening and writing the head happen off the lock and with a
	// deadline: a stalled disk must not stall the pipeline's tap.
	type opened struct {
		w   *recording.Writer
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := open()
		if err != nil {
			ch <- opened{nil, fmt.Errorf("recording: %w", err)}
			return
		}
		w, err := recording.NewWriter(f, opts)
		ch <- opened{w, err}
	}()
	timer := time.NewTimer(openTimeout)
	defer timer.Stop()
	var w *recording.Writer
	select {
	case o := <-ch:
		if o.err != nil {
			return o.err
		}
		w = o.w
	case <-timer.C:
		go func() { // the open returns some day: close what it made
			if o := <-ch; o.w != nil {
				o.w.Close()
				o.w.Abort()
			}
		}()
		r.log.Error("recording not started: opening the file did not finish in time (a stalled disk?)", "path", path, "timeout", openTimeout)
		return fmt.Errorf("recording: opening %s did not finish within %v (a stalled disk?): %w", path, openTimeout, context.DeadlineExceeded)
	}

	wctx, unwatch := context.WithCancel(context.Background())
	s := &session{w: w, path: path, operator: operator, started: r.clock.Now(), done: make(chan error, 1), unwatch: unwatch,
		ann: foxglove.NewAnnotatorFromConfig(r.cfg), size: map[av.StreamID][2]int{}}
	go func() { s.done <- w.Run() }()
	r.mu.Lock()
	r.cur = s
	r.mu.Unlock()
	r.watching.Go(func() { r.watch(wctx, s) })
	if operator {
		r.log.Info("recording", "path", path, "compression", rc.Compression)
	} else {
		r.log.Info("recording (control plane)", "path", path, "compression", rc.Compression, "max_bytes", rc.MaxBytes, "max_duration", rc.MaxDuration)
	}
	return nil
}

// watch ends s on its own when it reaches record.max_bytes or
// record.max_duration, or fails to write; stop cancels it.
func (r *recorder) watch(ctx context.Context, s *session) {
	var limit <-chan time.Time
	if d := r.cfg.Record.MaxDuration; d > 0 && !s.operator {
		t := time.NewTimer(d)
		defer t.Stop()
		limit = t.C
	}
	why := ""
	select {
	case <-ctx.Done():
		return
	case <-s.w.Halted():
		if errors.Is(s.w.HaltErr(), recording.ErrMaxBytes) {
			why = "record.max_bytes reached"
		} // else a write error: finish logs it, once
	case <-limit:
		why = "record.max_duration reached"
	}
	r.mu.Lock()
	if r.cur != s {
		r.mu.Unlock()
		return
	}
	r.cur = nil
	r.mu.Unlock()
	if why != "" {
		r.log.Info("recording ends: "+why, "path", s.path, "max_bytes", r.cfg.Record.MaxBytes, "max_duration", r.cfg.Record.MaxDuration)
	}
	r.finish(s)
}

// wait returns when every session's watcher has ended: after stop, and
// after a recording that ended on its own has been finished (and logged).
func (r *recorder) wait() { r.watching.Wait() }

// recordingStats is what stopping a recording reports.
type recordingStats struct {
	Path     string  `json:"path"`
	Seconds  float64 `json:"seconds"`
	Messages uint64  `json:"messages"`
	Dropped  uint64  `json:"dropped"`
	Bytes    int64   `json:"bytes"`
}

// stop stops the running recording, whoever started it.
func (r *recorder) stop() (recordingStats, error) { return r.stopIf(true) }

// stopIf stops the running recording; only the operator's when operator.
func (r *recorder) stopIf(operator bool) (recordingStats, error) {
	r.mu.Lock()
	s := r.cur
	switch {
	case s == nil:
		r.mu.Unlock()
		if err := r.err(); err != nil {
			return recordingStats{}, fmt.Errorf("%w: not recording (the last one failed: %v)", errRecording, err)
		}
		return recordingStats{}, fmt.Errorf("%w: not recording", errRecording)
	case s.operator && !operator:
		r.mu.Unlock()
		return recordingStats{}, fmt.Errorf("%w: the recording to %s was started by the operator (--record); it ends with fusiond, not over the control plane", sinks.ErrForbidden, s.path)
	}
	r.cur = nil
	r.mu.Unlock()
	return r.finish(s)
}

// finish closes s's writer and waits for it to finish the file while it
// makes progress; a writer stuck for stallTimeout (or the drain timeout,
// if longer) is abandoned: its file
// is closed under it, and the error says so.
func (r *recorder) finish(s *session) (recordingStats, error) {
	s.unwatch()
	s.w.Close()
	stall := max(stallTimeout, time.Duration(r.cfg.Pipeline.DrainTimeout))
	tick := time.NewTicker(stall / 5)
	defer tick.Stop()
	var err error
	// Progress is bytes on disk or messages taken from the queue: a
	// writer that is compressing (slow on a loaded machine) is not stalled.
	progress := func() int64 { return s.w.Size() + int64(s.w.Written()) }
	last, idle := progress(), time.Duration(0)
wait:
	for {
		select {
		case err = <-s.done:
			break wait
		case <-tick.C:
			if n := progress(); n != last {
				last, idle = n, 0
				continue
			}
			if idle += stall / 5; idle >= stall {
				s.w.Abort()
				err = fmt.Errorf("%w %s: the writer made no progress for %v (a FIFO nobody reads, or a stalled disk); abandoned, the file may lack its end", errRecording, s.path, stall)
				break wait
			}
		}
	}
	st := recordingStats{Path: s.path, Seconds: float64(r.clock.Now()-s.started) / 1e9, Messages: s.w.Written(), Dropped: s.w.Dropped(), Bytes: s.w.Size()}
	halt := s.w.HaltErr()
	if halt != nil && !errors.Is(halt, recording.ErrMaxBytes) && err == nil {
		err = fmt.Errorf("recording %s: %w", s.path, halt)
	}
	if err != nil {
		if s.operator {
			r.mu.Lock()
			if r.failed == nil {
				r.failed = err
			}
			r.mu.Unlock()
			if r.onFail != nil {
				r.onFail(err)
			}
		}
		r.log.Error("recording failed", "path", s.path, "err", err, "messages", st.Messages, "bytes", st.Bytes)
		return st, err
	}
	if st.Dropped > 0 {
		r.log.Warn("recording dropped messages: the disk did not keep up (replay of this file will not match the live run)", "path", s.path, "dropped", st.Dropped)
	}
	r.log.Info("recording finished", "path", s.path, "messages", st.Messages, "dropped", st.Dropped, "bytes", st.Bytes)
	return st, nil
}

// err is the first failure of the operator's recording, nil if none.
func (r *recorder) err() error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.failed
}

// sample records one sample, if a recording runs.
func (r *recorder) sample(s av.Sample) {
	r.mu.RLock()
	if r.cur != nil {
		r.cur.w.Sample(s)
		if f, ok := s.(*av.Frame); ok {
			r.cur.annMu.Lock()
			r.cur.size[f.Stream] = [2]int{f.Width, f.Height}
			r.cur.annMu.Unlock()
		}
	}
	r.mu.RUnlock()
}

// WriteDecision implements sinks.Sink: the decision, and each camera's
// annotations at its time.
func (r *recorder) WriteDecision(d *av.Decision, payload []byte) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.cur
	if s == nil {
		return nil
	}
	err := s.w.WriteDecision(d, payload)
	s.annMu.Lock()
	defer s.annMu.Unlock()
	s.ann.Decision(&d.Decision)
	for _, c := range r.cfg.Cameras {
		stream := av.StreamID(c.Name)
		if sz := s.size[stream]; sz[0] > 0 {
			s.buf = s.ann.Append(s.buf[:0], stream, d.TimeNS, sz[0], sz[1])
			s.w.Annotations(stream, d.TimeNS, r.clock.Now(), s.buf)
		}
	}
	return err
}

// faces records a camera's annotations at the time of a frame whose
// tracked faces fusion reports (a FaceTap), if a recording runs.
func (r *recorder) faces(stream av.StreamID, timeNS int64, frameW, frameH int, faces []foxglove.Face) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.cur
	if s == nil {
		return
	}
	s.annMu.Lock()
	defer s.annMu.Unlock()
	s.ann.Faces(stream, timeNS, frameW, frameH, faces)
	s.buf = s.ann.Append(s.buf[:0], stream, timeNS, frameW, frameH)
	s.w.Annotations(stream, timeNS, r.clock.Now(), s.buf)
}

// status records a status snapshot, if a recording runs.
func (r *recorder) status(v any) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.cur == nil {
		return
	}
	if payload, err := json.Marshal(v); err == nil {
		r.cur.w.Status(payload, r.clock.Now())
	}
}

// StartRecording implements sinks.Recorder: {"path": "NAME.mcap"} or
// empty for <robot>-<UTC time>.mcap. The name is a bare file name; the
// file is created new inside record.dir (never an existing file, never
// through a symlink) and ends at record.max_bytes or record.max_duration.
func (r *recorder) StartRecording(ctx context.Context, req []byte) (any, error) {
	var body struct {
		Path string `json:"path"`
	}
	if len(req) > 0 {
		if err := json.Unmarshal(req, &body); err != nil {
			return nil, fmt.Errorf("record.start: %w: want {\"path\": \"NAME.mcap\"}: %w", sinks.ErrBadRequest, err)
		}
	}
	name := body.Path
	if name == "" {
		name = fmt.Sprintf("%s-%s.mcap", r.cfg.Robot, time.Unix(0, r.clock.Now()).UTC().Format("20060102-150405"))
	}
	if !recordName.MatchString(name) {
		return nil, fmt.Errorf("record.start: %w: %q is not a bare file name (letters, digits, '.', '_', '-'; no directories): recordings go into record.dir", sinks.ErrBadRequest, name)
	}
	dir, err := recordDir(r.cfg)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name)
	err = r.startWith(path, false, func() (*os.File, error) {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		// A new regular file, in dir: O_EXCL refuses an existing name
		// (a symlink included), the root refuses to leave dir.
		return root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o640)
	})
	switch {
	case errors.Is(err, fs.ErrExist): // the name is taken: 409
		return nil, fmt.Errorf("%w: %w", sinks.ErrConflict, err)
	case errors.Is(err, syscall.ELOOP): // a symlink: 403
		return nil, fmt.Errorf("%w: %w", sinks.ErrForbidden, err)
	case err != nil:
		return nil, err
	}
	return map[string]string{"path": path}, nil
}

// recordName is what record.start accepts as a file name.
var recordName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$`)

// recordDir is where the control plane records: record.dir, or by default
// fusiond/<robot>/recordings under the user's state directory
// ($XDG_STATE_HOME, or ~/.local/state).
func recordDir(cfg *configs.Config) (string, error) {
	if d := cfg.Record.Dir; d != "" {
		return filepath.Abs(d)
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%w: record.dir is not set and there is no home directory for its default: %v", errRecording, err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "fusiond", cfg.Robot, "recordings"), nil
}

// StopRecording implements sinks.Recorder: it stops a recording the
// control plane started, never the operator's.
func (r *recorder) StopRecording(ctx context.Context) (any, error) { return r.stopIf(false) }

// recording reports whether a recording runs.
func (r *recorder) recording() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cur != nil
}
