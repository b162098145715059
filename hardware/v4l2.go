package hardware

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// CameraDevice is one V4L2 video capture device.
type CameraDevice struct {
	Path   string `json:"path"`  // /dev/videoN
	Index  int    `json:"index"` // N, as OpenCV numbers devices
	Name   string `json:"name"`
	Driver string `json:"driver,omitempty"`
	Bus    string `json:"bus,omitempty"`
	// Capture is false for V4L2 nodes that capture no video (metadata
	// nodes, encoders); they are listed but cannot be opened as cameras.
	Capture bool           `json:"capture"`
	Formats []CameraFormat `json:"formats,omitempty"`
	// Err says why the device could not be queried (permissions, busy).
	Err string `json:"error,omitempty"`
}

// CameraFormat is one pixel format of a camera and its frame sizes.
type CameraFormat struct {
	FourCC      string       `json:"fourcc"`
	Description string       `json:"description"`
	Sizes       []CameraSize `json:"sizes,omitempty"`
}

// CameraSize is one discrete frame size and the frame rates offered at it.
type CameraSize struct {
	Width  int       `json:"width"`
	Height int       `json:"height"`
	FPS    []float64 `json:"fps,omitempty"`
}

func (d CameraDevice) String() string {
	return fmt.Sprintf("%s (index %d) %q", d.Path, d.Index, d.Name)
}

// Cameras lists the V4L2 devices under /dev (video4linux), sorted by index.
// A machine without any returns an empty list and no error.
func Cameras() ([]CameraDevice, error) { return camerasIn("/dev", "/sys/class/video4linux") }

func camerasIn(devDir, sysDir string) ([]CameraDevice, error) {
	paths, err := filepath.Glob(filepath.Join(devDir, "video*"))
	if err != nil {
		return nil, err
	}
	var out []CameraDevice
	for _, p := range paths {
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(p), "video"))
		if err != nil {
			continue
		}
		d := CameraDevice{Path: p, Index: n}
		if b, err := os.ReadFile(filepath.Join(sysDir, filepath.Base(p), "name")); err == nil {
			d.Name = strings.TrimSpace(string(b))
		}
		queryV4L2(&d)
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// PickCamera finds a configured camera device ("0" or "/dev/video0") among
// devs; the error wraps ErrUnknownDevice and lists devs.
func PickCamera(devs []CameraDevice, spec string) (CameraDevice, error) {
	for _, d := range devs {
		if d.Path == spec || strconv.Itoa(d.Index) == spec {
			return d, nil
		}
	}
	if len(devs) == 0 {
		return CameraDevice{}, fmt.Errorf("%w: no camera %q; there are no V4L2 devices", ErrUnknownDevice, spec)
	}
	list := make([]string, len(devs))
	for i, d := range devs {
		list[i] = d.String()
	}
	return CameraDevice{}, fmt.Errorf("%w: no camera %q; available: %s", ErrUnknownDevice, spec, strings.Join(list, "; "))
}

// fourCC renders a V4L2 pixel format code.
func fourCC(v uint32) string {
	b := []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
	return strings.TrimRight(string(b), " \x00")
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// parseCapability decodes struct v4l2_capability (104 bytes).
func parseCapability(b []byte, d *CameraDevice) {
	d.Driver = cString(b[0:16])
	if d.Name == "" {
		d.Name = cString(b[16:48])
	}
	d.Bus = cString(b[48:80])
	caps := binary.LittleEndian.Uint32(b[84:88])
	if caps&v4l2CapDeviceCaps != 0 {
		caps = binary.LittleEndian.Uint32(b[88:92])
	}
	d.Capture = caps&v4l2CapVideoCapture != 0
}

const (
	v4l2CapVideoCapture = 0x00000001
	v4l2CapDeviceCaps   = 0x80000000
)
