//go:build !nosensors

package hardware

import (
	"fmt"
	"sync"

	"github.com/gordonklaus/portaudio"
)

// paMu serialises PortAudio's Initialize, Terminate and device queries: the
// Go binding keeps its reference count and device cache in plain globals.
var paMu sync.Mutex

var skipLowStreamIDs sync.Once

// PortAudioBuilt reports whether this binary has PortAudio.
const PortAudioBuilt = true

// OpenPortAudio initialises PortAudio (reference-counted) and returns the
// function that releases it.
func OpenPortAudio() (release func(), err error) {
	quietALSA()
	paMu.Lock()
	defer paMu.Unlock()
	if err := portaudio.Initialize(); err != nil {
		return nil, fmt.Errorf("portaudio: %w", err)
	}
	skipLowStreamIDs.Do(func() {
		// The binding passes each stream's id to C as unsafe.Pointer(id);
		// under -race (checkptr) an id below 4096 is a "bad pointer value"
		// and crashes the process. Opening a stream with no buffer fails
		// before any C call but uses up an id, so use up the low ones.
		for range 4096 {
			_, _ = portaudio.OpenStream(portaudio.StreamParameters{})
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			paMu.Lock()
			defer paMu.Unlock()
			_ = portaudio.Terminate()
		})
	}, nil
}

// Locked runs fn under the lock that serialises PortAudio's global state;
// open and close streams in it.
func Locked(fn func()) {
	paMu.Lock()
	defer paMu.Unlock()
	fn()
}

// AudioInputs lists the audio input devices PortAudio sees.
func AudioInputs() ([]AudioDevice, error) {
	release, err := OpenPortAudio()
	if err != nil {
		return nil, err
	}
	defer release()
	devs, _, err := audioInputs()
	return devs, err
}

// audioInputs lists inputs; PortAudio must be open.
func audioInputs() ([]AudioDevice, []*portaudio.DeviceInfo, error) {
	paMu.Lock()
	defer paMu.Unlock()
	all, err := portaudio.Devices()
	if err != nil {
		return nil, nil, fmt.Errorf("portaudio: listing devices: %w", err)
	}
	var out []AudioDevice
	var infos []*portaudio.DeviceInfo
	for _, d := range all {
		if d.MaxInputChannels < 1 {
			continue
		}
		ad := AudioDevice{
			Index: d.Index, Name: d.Name, MaxInputChannels: d.MaxInputChannels, DefaultRateHz: d.DefaultSampleRate,
			DefaultLowLatency: d.DefaultLowInputLatency, DefaultHighLatency: d.DefaultHighInputLatency,
		}
		if d.HostApi != nil {
			ad.HostAPI = d.HostApi.Name
			ad.Default = d.HostApi.DefaultInputDevice != nil && d.HostApi.DefaultInputDevice.Index == d.Index
		}
		out = append(out, ad)
		infos = append(infos, d)
	}
	return out, infos, nil
}

// ResolveAudioInput finds the input device spec names (see PickAudioInput).
// PortAudio must be open (OpenPortAudio).
func ResolveAudioInput(spec string) (AudioDevice, *portaudio.DeviceInfo, error) {
	devs, infos, err := audioInputs()
	if err != nil {
		return AudioDevice{}, nil, err
	}
	d, err := PickAudioInput(devs, spec)
	if err != nil {
		return d, nil, err
	}
	for _, info := range infos {
		if info.Index == d.Index {
			return d, info, nil
		}
	}
	return d, nil, fmt.Errorf("%w: %q vanished", ErrUnknownDevice, spec)
}
