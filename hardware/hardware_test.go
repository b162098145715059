package hardware

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var devs = []AudioDevice{
	{Index: 0, Name: "nul", HostAPI: "ALSA", MaxInputChannels: 128, DefaultRateHz: 44100},
	{Index: 1, Name: "USB Audio: Mic (hw:1,0)", HostAPI: "ALSA", MaxInputChannels: 2, DefaultRateHz: 48000},
	{Index: 2, Name: "USB Audio: Line (hw:1,1)", HostAPI: "ALSA", MaxInputChannels: 2, DefaultRateHz: 48000},
	{Index: 3, Name: "default", HostAPI: "ALSA", MaxInputChannels: 128, DefaultRateHz: 44100, Default: true},
}

func TestPickAudioInput(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want int
	}{
		{"default", 3}, {"", 3}, {"1", 1}, {"nul", 0}, {"mic", 1}, {"USB Audio: Line (hw:1,1)", 2},
	} {
		d, err := PickAudioInput(devs, tc.spec)
		if err != nil || d.Index != tc.want {
			t.Errorf("PickAudioInput(%q) = %d, %v; want %d", tc.spec, d.Index, err, tc.want)
		}
	}
	for _, tc := range []struct{ spec, wantIn string }{
		{"webcam", `no input device "webcam"; available: 0 "nul"`},
		{"usb", `"usb" matches 2 input devices`},
		{"7", `no input device "7"`},
	} {
		_, err := PickAudioInput(devs, tc.spec)
		if !errors.Is(err, ErrUnknownDevice) || !strings.Contains(err.Error(), tc.wantIn) {
			t.Errorf("PickAudioInput(%q): err = %v, want ErrUnknownDevice with %q", tc.spec, err, tc.wantIn)
		}
	}
	if _, err := PickAudioInput(nil, "default"); err == nil || !strings.Contains(err.Error(), "no audio input devices") {
		t.Errorf("no devices: err = %v", err)
	}
}

// TestCamerasIn lists fake device nodes: they are not V4L2 devices, so each
// carries the ioctl's error, with its name from the fake sysfs.
func TestCamerasIn(t *testing.T) {
	dev, sys := t.TempDir(), t.TempDir()
	for _, n := range []string{"video2", "video0", "videoX"} {
		os.WriteFile(filepath.Join(dev, n), nil, 0o644)
	}
	os.MkdirAll(filepath.Join(sys, "video0"), 0o755)
	os.WriteFile(filepath.Join(sys, "video0", "name"), []byte("Integrated Camera\n"), 0o644)
	cams, err := camerasIn(dev, sys)
	if err != nil {
		t.Fatal(err)
	}
	if len(cams) != 2 || cams[0].Index != 0 || cams[1].Index != 2 || cams[0].Name != "Integrated Camera" || cams[0].Err == "" {
		t.Fatalf("cameras %+v", cams)
	}
	if c, err := PickCamera(cams, "/dev/video9"); err == nil || !strings.Contains(err.Error(), "Integrated Camera") {
		t.Fatalf("PickCamera = %v, %v; want an error listing the cameras", c, err)
	}
	if c, err := PickCamera(cams, "2"); err != nil || c.Index != 2 {
		t.Fatalf("PickCamera(2) = %v, %v", c, err)
	}
	if none, err := camerasIn(t.TempDir(), sys); err != nil || len(none) != 0 {
		t.Fatalf("empty /dev: %v, %v", none, err)
	}
}

func TestParseCapability(t *testing.T) {
	b := make([]byte, 104)
	copy(b, "uvcvideo")
	copy(b[16:], "HD Webcam")
	copy(b[48:], "usb-0000:00:14.0-1")
	binary.LittleEndian.PutUint32(b[84:], v4l2CapDeviceCaps|v4l2CapVideoCapture)
	binary.LittleEndian.PutUint32(b[88:], 0x00800000) // this node: metadata only
	var d CameraDevice
	parseCapability(b, &d)
	if d.Driver != "uvcvideo" || d.Name != "HD Webcam" || d.Bus != "usb-0000:00:14.0-1" || d.Capture {
		t.Fatalf("parsed %+v", d)
	}
	if got := fourCC(0x47504a4d); got != "MJPG" {
		t.Fatalf("fourCC = %q", got)
	}
}
