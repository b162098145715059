package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	gosync "sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
)

func cmdRecord(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("record", "[--config F] [--set k=v]... --out FILE.mcap [--for D]",
		"Record the configured sources to MCAP (no fusion): frames as foxglove.RawImage,\n"+
			"audio as foxglove.RawAudio, in the order and with the arrival times the\n"+
			"synchroniser would see, so that `fusiond replay` reproduces a run. The file opens\n"+
			"in Foxglove. SIGINT or SIGTERM stops it cleanly.",
		[]string{
			"fusiond record --out demo.mcap --for 30s",
			"fusiond record --config configs/robot.yaml --out /var/log/robot1.mcap",
		}, stdout)
	cfgPath := fs.String("config", "", "config `FILE` (default: the built-in configs/default.yaml)")
	var sets setFlags
	fs.Var(&sets, "set", "override a key, `path.to.key=value` (repeatable)")
	out := fs.String("out", "", "the recording `FILE.mcap`")
	runFor := fs.Duration("for", 0, "stop after this `DURATION` (default: until SIGINT/SIGTERM)")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() > 0 || *out == "" || *runFor < 0 {
		fmt.Fprintln(stderr, "fusiond record: want --out FILE.mcap and no arguments (see 'fusiond record --help')")
		return exitUsage
	}
	cfg, err := configs.Load(*cfgPath, sets)
	if err != nil {
		fmt.Fprintf(stderr, "fusiond record: %v\n", err)
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	ctx, stop := commandContext(*runFor)
	defer stop()
	rec := newRecorder(cfg, av.NewRealClock(), log)
	p, err := newPipeline(cfg, av.NewRealClock(), nil, log)
	if err == nil {
		p.rec, p.recordOnly = rec, true
		err = rec.start(*out)
	}
	if err == nil {
		err = p.run(ctx)
		if _, serr := rec.stop(); err == nil {
			err = serr
		}
	}
	if err != nil {
		log.Error("fusiond record failed", "err", err)
		return exitRuntime
	}
	return exitOK
}

// recorder records a running pipeline: every sample the synchroniser
// consumes (through the pipeline's tap), every decision (it is a sink) and
// the status. It can start and stop while the pipeline runs: for the whole
// run with --record, or on request of the control plane.
type recorder struct {
	cfg   *configs.Config
	clock av.Clock
	log   *slog.Logger

	mu      gosync.RWMutex // the tap and the sinks read w; start and stop change it
	w       *recording.Writer
	path    string
	done    chan error
	started int64
}

func newRecorder(cfg *configs.Config, clock av.Clock, log *slog.Logger) *recorder {
	return &recorder{cfg: cfg, clock: clock, log: log}
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

// ErrRecording is returned when a recording is started twice or stopped
// when none runs.
var ErrRecording = errors.New("recording")

func (r *recorder) start(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w != nil {
		return fmt.Errorf("%w: already recording to %s", ErrRecording, r.path)
	}
	cfgYAML, err := yaml.Marshal(redactedConfig(r.cfg))
	if err != nil {
		return err
	}
	ver, rev := buildVersion()
	streams := recordedStreams(r.cfg)
	rc := r.cfg.Record
	w, err := recording.Create(path, recording.Options{
		Compression: rc.Compression, ChunkBytes: rc.ChunkBytes, FlushInterval: rc.FlushInterval,
		QueueCapacity: rc.QueueCapacity, Streams: streams,
		Metadata: recording.Metadata(string(cfgYAML), ver+" "+rev, streams),
	})
	if err != nil {
		return err
	}
	r.w, r.path, r.done, r.started = w, path, make(chan error, 1), r.clock.Now()
	go func() { r.done <- w.Run() }()
	r.log.Info("recording", "path", path, "compression", rc.Compression)
	return nil
}

// recordingStats is what stopping a recording reports.
type recordingStats struct {
	Path     string  `json:"path"`
	Seconds  float64 `json:"seconds"`
	Messages uint64  `json:"messages"`
	Dropped  uint64  `json:"dropped"`
}

func (r *recorder) stop() (recordingStats, error) {
	r.mu.Lock()
	w, done, path := r.w, r.done, r.path
	r.w = nil
	r.mu.Unlock()
	if w == nil {
		return recordingStats{}, fmt.Errorf("%w: not recording", ErrRecording)
	}
	w.Close()
	err := <-done
	st := recordingStats{Path: path, Seconds: float64(r.clock.Now()-r.started) / 1e9, Messages: w.Written(), Dropped: w.Dropped()}
	if st.Dropped > 0 {
		r.log.Warn("recording dropped messages: the disk did not keep up (replay of this file will not match the live run)", "path", path, "dropped", st.Dropped)
	}
	r.log.Info("recording finished", "path", path, "messages", st.Messages, "dropped", st.Dropped)
	return st, err
}

// sample records one sample, if a recording runs.
func (r *recorder) sample(s av.Sample) {
	r.mu.RLock()
	if r.w != nil {
		r.w.Sample(s)
	}
	r.mu.RUnlock()
}

// WriteDecision implements sinks.Sink.
func (r *recorder) WriteDecision(d *av.Decision, payload []byte) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.w == nil {
		return nil
	}
	return r.w.WriteDecision(d, payload)
}

// status records a status snapshot, if a recording runs.
func (r *recorder) status(v any) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.w == nil {
		return
	}
	if payload, err := json.Marshal(v); err == nil {
		r.w.Status(payload, r.clock.Now())
	}
}

// StartRecording implements sinks.Recorder: {"path": "..."} or empty for a
// timestamped file under record.dir.
func (r *recorder) StartRecording(ctx context.Context, req []byte) (any, error) {
	var body struct {
		Path string `json:"path"`
	}
	if len(req) > 0 {
		if err := json.Unmarshal(req, &body); err != nil {
			return nil, fmt.Errorf("record.start: want {\"path\": \"FILE.mcap\"}: %w", err)
		}
	}
	if body.Path == "" {
		name := fmt.Sprintf("%s-%s.mcap", r.cfg.Robot, time.Unix(0, r.clock.Now()).UTC().Format("20060102-150405"))
		body.Path = filepath.Join(r.cfg.Record.Dir, name)
	}
	if err := r.start(body.Path); err != nil {
		return nil, err
	}
	return map[string]string{"path": body.Path}, nil
}

// StopRecording implements sinks.Recorder.
func (r *recorder) StopRecording(ctx context.Context) (any, error) { return r.stop() }

// recording reports whether a recording runs.
func (r *recorder) recording() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.w != nil
}
