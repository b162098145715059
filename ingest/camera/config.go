package camera

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Kind says what a camera's Target is.
type Kind string

// Camera kinds.
const (
	Device    Kind = "device"    // "0" or "/dev/video0"
	URL       Kind = "url"       // rtsp://, http:// (MJPEG), ...
	GStreamer Kind = "gstreamer" // a pipeline ending in appsink
	File      Kind = "file"      // a video file
)

// Errors of Run and New.
var (
	// ErrNotBuilt is returned by New in a build with the nosensors tag.
	ErrNotBuilt = errors.New("camera: OpenCV is not built in (nosensors build)")
	// ErrOpen is wrapped when a camera cannot be opened.
	ErrOpen = errors.New("cannot open")
	// ErrLost is wrapped when a live camera stops delivering frames.
	ErrLost = errors.New("stopped delivering frames")
	// ErrFormat is wrapped when frames come in a layout fusiond cannot take.
	ErrFormat = errors.New("unsupported frame format")
)

// Config configures a camera.
type Config struct {
	Stream av.StreamID
	Kind   Kind
	Target string
	// Width, Height and FPS are asked of devices and URLs (0: the
	// driver's choice). Files and pipelines deliver what they hold.
	Width, Height int
	FPS           float64
	// FourCC is the pixel format asked of a device ("MJPG", "YUYV"; empty:
	// the driver's choice).
	FourCC string
	// LatencyNS is subtracted from arrival times where there is no driver
	// timestamp.
	LatencyNS int64
	// Pace and Loop apply to files (see the package doc).
	Pace, Loop bool
	// Frames stops Run after this many frames; 0: no limit.
	Frames int
	// Memory holds the frames' pixels (pinned memory for a GPU backend);
	// nil: Go memory.
	Memory av.HostMemory
}

func (c *Config) validate() error {
	switch c.Kind {
	case Device, URL, GStreamer, File:
	default:
		return fmt.Errorf("camera %s: kind %q is not device, url, gstreamer or file", c.Stream, c.Kind)
	}
	switch {
	case c.Stream == "":
		return fmt.Errorf("camera: no stream name")
	case strings.TrimSpace(c.Target) == "":
		return fmt.Errorf("camera %s: no %s given", c.Stream, c.Kind)
	case c.Width < 0 || c.Height < 0 || c.Width > 16384 || c.Height > 16384:
		return fmt.Errorf("camera %s: size %dx%d out of range", c.Stream, c.Width, c.Height)
	case c.FPS < 0 || math.IsNaN(c.FPS) || c.FPS > 1000:
		return fmt.Errorf("camera %s: fps %v out of range", c.Stream, c.FPS)
	case c.FourCC != "" && len(c.FourCC) != 4:
		return fmt.Errorf("camera %s: pixel format %q is not a FourCC (4 characters, e.g. MJPG)", c.Stream, c.FourCC)
	case c.LatencyNS < 0 || c.Frames < 0:
		return fmt.Errorf("camera %s: negative latency or frame count", c.Stream)
	}
	if c.Kind == Device {
		if _, err := DeviceIndex(c.Target); err != nil {
			return fmt.Errorf("camera %s: %w", c.Stream, err)
		}
	}
	return nil
}

// DeviceIndex turns "0" or "/dev/video0" into 0.
func DeviceIndex(target string) (int, error) {
	s := strings.TrimPrefix(strings.TrimSpace(target), "/dev/video")
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("device %q is not an index or /dev/videoN", target)
	}
	return n, nil
}

// Mode is a camera's frame size, rate and pixel format.
type Mode struct {
	Width, Height int
	FPS           float64
	FourCC        string
}

func (m Mode) String() string {
	return fmt.Sprintf("%dx%d@%g %s", m.Width, m.Height, m.FPS, m.FourCC)
}
