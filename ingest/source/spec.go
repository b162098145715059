package source

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Modality says which list of the config a source kind is for.
type Modality string

// Modalities.
const (
	Camera     Modality = "camera"     // an entry of cameras:
	Microphone Modality = "microphone" // an entry of microphones:
)

// Type is the type of a key's value.
type Type string

// Key types. A duration is written as Go writes one (250ms, 1.5s, 41.667µs).
const (
	String   Type = "string"
	Int      Type = "int"
	Float    Type = "float"
	Bool     Type = "bool"
	Duration Type = "duration"
	List     Type = "list" // of mappings, each with the keys Fields
)

// Key is one key of a source kind.
type Key struct {
	// Name is the key's dotted path below the entry: "file", or
	// "synthetic.seed" for seed in the entry's synthetic mapping.
	Name string
	Type Type
	// Default is the value when the key is not given, as YAML; a
	// Required key has none.
	Default  string
	Required bool
	Unit     string
	// Doc is one line: what the key does.
	Doc string
	// Min and Max bound an int, float or duration, inclusive, as YAML
	// ("" : no bound).
	Min, Max string
	// OneOf lists the values a string may take (nil: any).
	OneOf []string
	// Valid checks a string beyond OneOf: a message saying what is wrong
	// with it, or "".
	Valid func(s string) string
	// Fields are the keys of each entry of a List.
	Fields []Key
}

// Entry is what every entry of a modality has, beside its kind's keys:
// Name always; Width, Height and FPS for a camera; RateHz, Channels and
// Chunk for a microphone.
type Entry struct {
	Name          string
	Width, Height int
	FPS           float64
	RateHz        int
	Channels      int
	Chunk         time.Duration
}

// ChunkFrames is a microphone's chunk in audio frames.
func (e Entry) ChunkFrames() int { return int(av.NSToFrames(int64(e.Chunk), e.RateHz)) }

// Env is what a source is opened with.
type Env struct {
	Clock av.Clock
	Drops *av.Drops
	// Log may be nil (a discarding one).
	Log *slog.Logger
	// Memory is where cameras capture frames into: the compute backend's
	// pinned host memory (fuse.CUDA), or nil for Go memory.
	Memory av.HostMemory
}

func (e Env) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// Source is what the pipeline runs: it sends samples to out from startNS
// (the pipeline's start) until ctx ends, it fails, or it has no more.
type Source interface {
	Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error
}

// Spec describes one source kind: its keys with their types, defaults,
// units and docs, how they are checked together, and how the source is
// opened. fusiond lint, docs/CONFIG.md and the daemon all read it.
type Spec struct {
	Modality Modality
	Kind     string
	// Doc is one line: what the source is.
	Doc  string
	Keys []Key
	// Needs names what the kind needs beyond a plain build ("OpenCV",
	// "PortAudio", "ffmpeg"); Open fails with a clear error where a
	// nosensors build lacks it.
	Needs string
	// WaitsInC is set for a kind whose capture goroutine waits in a C
	// call (OpenCV's read until the next frame, PortAudio's): the
	// pipeline gives the Go scheduler one more thread for it.
	WaitsInC bool
	// Check checks the keys together, once each is valid on its own
	// (nil: nothing more to check).
	Check func(v Values) []Problem
	// Open builds the source from checked values, wrapped as the pipeline
	// runs it (devices retried with backoff, files failing for good).
	Open func(e Entry, v Values, env Env) (Source, error)
	// Present, when not nil, checks that what the source reads is there
	// now (a device, a file). Its error is a warning (fusiond lint):
	// a device may come later, and the daemon retries it.
	Present func(v Values) error
	// Drops are the drop reasons the kind's stream can count beside the
	// pipeline's own (declared at zero from the start).
	Drops []av.DropReason
}

// key returns the spec's key of that name, or nil.
func (s *Spec) key(name string) *Key {
	for i := range s.Keys {
		if s.Keys[i].Name == name {
			return &s.Keys[i]
		}
	}
	return nil
}

// Problem is one thing wrong with a source's keys.
type Problem struct {
	// Key is the dotted path below the entry ("file", "synthetic.seed").
	Key string
	Msg string
}

func (p Problem) Error() string { return p.Key + ": " + p.Msg }

// registry holds every source kind. The kind files fill it with their
// package-level register calls: it is this package's own table (nothing
// outside adds to it, nothing is probed or opened), so that adding a kind
// is one file.
var registry []*Spec

func register(s *Spec) *Spec {
	registry = append(registry, s)
	return s
}

// Specs returns every source kind, cameras then microphones, each by
// kind. The specs are shared: do not change them.
func Specs() []*Spec {
	out := slices.Clone(registry)
	slices.SortFunc(out, func(a, b *Spec) int {
		if c := strings.Compare(string(a.Modality), string(b.Modality)); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	return out
}

// Kinds returns the kinds of a modality, sorted.
func Kinds(m Modality) []string {
	var kinds []string
	for _, s := range Specs() {
		if s.Modality == m {
			kinds = append(kinds, s.Kind)
		}
	}
	return kinds
}

// Lookup returns the spec of a kind; an unknown kind's error lists the
// known ones.
func Lookup(m Modality, kind string) (*Spec, error) {
	for _, s := range registry {
		if s.Modality == m && s.Kind == kind {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%q is not a known %s source (known: %s)", kind, m, strings.Join(Kinds(m), ", "))
}

// nonEmpty is Valid for a key that must not be blank.
func nonEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "empty: a value is needed"
	}
	return ""
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
