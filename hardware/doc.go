// Package hardware discovers the capture devices of the machine fusiond runs
// on, when asked (never at import time): cameras as V4L2 devices with their
// names, pixel formats, frame sizes and rates (Cameras), and audio inputs as
// PortAudio sees them, with their host API, channels, default rate and
// latencies (AudioInputs). `fusiond devices` prints both; `fusiond lint`
// warns when a configured device is absent.
//
// It also owns PortAudio's process-wide state: OpenPortAudio initialises
// the library (reference-counted, under a lock, since PortAudio's Go binding
// keeps unsynchronised globals) and ResolveAudioInput turns a configured
// device ("default", an index, a name) into a device, or an error listing
// the ones there are.
//
// # Builds
//
// Cameras is pure Go (Linux ioctls). The PortAudio part needs cgo and
// libportaudio; built with the `nosensors` tag it is left out, and
// AudioInputs returns ErrNotBuilt.
//
// # Without hardware
//
// ALSA's `file` plugin makes a real PortAudio input with no sound card:
// point ALSA_CONFIG_PATH at testdata/alsa/asound.conf and set
// FUSIOND_ALSA_IN to a raw PCM file; the pcms "default", "filecap" and
// "filecap2" then capture that file.
package hardware
