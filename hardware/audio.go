package hardware

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotBuilt is returned for hardware this binary was built without (the
// nosensors build tag).
var ErrNotBuilt = errors.New("not built in (this binary was built with the nosensors tag)")

// ErrUnknownDevice is wrapped by errors about a configured device that is
// not there; the error's text lists the devices that are.
var ErrUnknownDevice = errors.New("unknown device")

// AudioDevice is one audio input.
type AudioDevice struct {
	Index              int           `json:"index"`
	Name               string        `json:"name"`
	HostAPI            string        `json:"host_api"`
	MaxInputChannels   int           `json:"max_input_channels"`
	DefaultRateHz      float64       `json:"default_rate_hz"`
	DefaultLowLatency  time.Duration `json:"default_low_latency_ns"`
	DefaultHighLatency time.Duration `json:"default_high_latency_ns"`
	// Default marks the default input device of its host API.
	Default bool `json:"default"`
}

func (d AudioDevice) String() string {
	def := ""
	if d.Default {
		def = ", default"
	}
	return fmt.Sprintf("%d %q (%s, %d ch, %g Hz%s)", d.Index, d.Name, d.HostAPI, d.MaxInputChannels, d.DefaultRateHz, def)
}

// PickAudioInput finds spec among devs: "default" (or "") is the default
// input, a number is a device index, anything else a device name (exact,
// else a case-insensitive substring that matches one device only). The
// error wraps ErrUnknownDevice and lists devs.
func PickAudioInput(devs []AudioDevice, spec string) (AudioDevice, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "" || spec == "default":
		for _, d := range devs {
			if d.Default {
				return d, nil
			}
		}
		return AudioDevice{}, unknownAudio(devs, "no default input device")
	case isIndex(spec):
		for _, d := range devs {
			if fmt.Sprint(d.Index) == spec {
				return d, nil
			}
		}
	default:
		for _, d := range devs {
			if d.Name == spec {
				return d, nil
			}
		}
		var found []AudioDevice
		for _, d := range devs {
			if strings.Contains(strings.ToLower(d.Name), strings.ToLower(spec)) {
				found = append(found, d)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return AudioDevice{}, unknownAudio(found, fmt.Sprintf("%q matches %d input devices", spec, len(found)))
		}
	}
	return AudioDevice{}, unknownAudio(devs, fmt.Sprintf("no input device %q", spec))
}

func isIndex(s string) bool {
	if s == "" || len(s) > 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func unknownAudio(devs []AudioDevice, what string) error {
	if len(devs) == 0 {
		return fmt.Errorf("%w: %s; there are no audio input devices", ErrUnknownDevice, what)
	}
	list := make([]string, len(devs))
	for i, d := range devs {
		list[i] = d.String()
	}
	return fmt.Errorf("%w: %s; available: %s", ErrUnknownDevice, what, strings.Join(list, "; "))
}
