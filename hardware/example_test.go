package hardware_test

import (
	"fmt"

	"github.com/seed-4c364652/fusiond/hardware"
)

func ExamplePickAudioInput() {
	devs := []hardware.AudioDevice{
		{Index: 0, Name: "USB Audio: Mic (hw:1,0)", HostAPI: "ALSA", MaxInputChannels: 2, DefaultRateHz: 48000},
		{Index: 1, Name: "default", HostAPI: "ALSA", MaxInputChannels: 128, DefaultRateHz: 44100, Default: true},
	}
	for _, spec := range []string{"default", "usb", "0", "webcam"} {
		d, err := hardware.PickAudioInput(devs, spec)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s -> %d %s\n", spec, d.Index, d.Name)
	}
	// Output:
	// default -> 1 default
	// usb -> 0 USB Audio: Mic (hw:1,0)
	// 0 -> 0 USB Audio: Mic (hw:1,0)
	// unknown device: no input device "webcam"; available: 0 "USB Audio: Mic (hw:1,0)" (ALSA, 2 ch, 48000 Hz); 1 "default" (ALSA, 128 ch, 44100 Hz, default)
}
