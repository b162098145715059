package mic

import (
	"errors"
	"fmt"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// SampleFormat is the format the device is asked to deliver.
type SampleFormat string

// Sample formats; chunks always carry float32.
const (
	Int16   SampleFormat = "int16"
	Float32 SampleFormat = "float32"
)

// ErrNotBuilt is returned by New in a binary built with the nosensors tag.
var ErrNotBuilt = errors.New("mic: PortAudio is not built in (nosensors build)")

// Config configures a PortAudio microphone.
type Config struct {
	Stream av.StreamID
	// Device is "default", a PortAudio device index, or a device name (an
	// exact name, or a substring that matches one device).
	Device      string
	RateHz      int
	Channels    int
	ChunkFrames int // frames per buffer and per chunk
	Format      SampleFormat
	// LatencyNS is the input latency asked of the device, and what is
	// subtracted from the first buffer's arrival to place the stream's
	// first frame in time. 0 uses the device's default high latency.
	LatencyNS int64
	// Pace holds each chunk back until the clock reaches its end. A real
	// microphone never runs ahead of the clock; a file-backed one (ALSA's
	// file plugin) does, and needs this to run live-like.
	Pace bool
	// Frames stops each Run after this many frames; 0 runs until ctx ends.
	Frames int64
}

func (c *Config) validate() error {
	switch {
	case c.Stream == "":
		return fmt.Errorf("mic: no stream name")
	case c.RateHz < 1000 || c.RateHz > 384000:
		return fmt.Errorf("mic %s: rate %d Hz out of range 1000..384000", c.Stream, c.RateHz)
	case c.Channels < 1 || c.Channels > 32:
		return fmt.Errorf("mic %s: %d channels out of range 1..32", c.Stream, c.Channels)
	case c.ChunkFrames < 1 || c.ChunkFrames > c.RateHz:
		return fmt.Errorf("mic %s: chunk of %d frames out of range 1..%d", c.Stream, c.ChunkFrames, c.RateHz)
	case c.LatencyNS < 0:
		return fmt.Errorf("mic %s: negative latency", c.Stream)
	}
	switch c.Format {
	case "":
		c.Format = Int16
	case Int16, Float32:
	default:
		return fmt.Errorf("mic %s: sample format %q is not int16 or float32", c.Stream, c.Format)
	}
	if c.Device == "" {
		c.Device = "default"
	}
	return nil
}

// DropInputOverflow counts buffers during which the device overflowed.
const DropInputOverflow av.DropReason = "input_overflow"
